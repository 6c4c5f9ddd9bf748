"""`keep_freed_memory`: a large block freed and allocated again is reused, not faulted in afresh."""

from __future__ import annotations

import subprocess
import sys

import pytest

from domrand.generate.memory import keep_freed_memory

SCRIPT = """
import resource, sys
import numpy as np
from domrand.generate.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
counts = []
for _ in range(2):
    f0 = faults()
    a = np.ones(20 * 2**20 // 4, np.float32)  # 20 MB, every page touched
    del a
    counts.append(faults() - f0)
print(counts[1])
"""


def _second_allocation_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def test_a_freed_block_is_reused_without_page_faults() -> None:
    if not keep_freed_memory():
        pytest.skip("not glibc: the allocator's parameters are glibc's")
    assert _second_allocation_faults("default") > 200  # 20 MB mapped afresh (~500 faults with huge pages)
    assert _second_allocation_faults("keep") < 20
