"""experiments/benchmarks/perf_kernels.py names the kernels a process holds, at the addresses they run from."""

from __future__ import annotations

import ctypes
import itertools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments" / "benchmarks"))
import perf_kernels  # noqa: E402  (experiments/benchmarks is on the path above)


def test_kernel_symbols_name_the_kernels_a_render_ran():
    import torch

    from domrand.config import load_config

    pipe = load_config(overrides={"image_size": 16}).pipeline()
    pipe.render(pipe.sample(2, rng=torch.Generator().manual_seed(0)))
    symbols = perf_kernels.kernel_symbols()
    names = {name: (address, size) for address, (size, name) in symbols.items()}
    batch = [n for n in names if "render_batch" in n]
    assert batch, "the renderer's kernel is not named"
    address, size = names[batch[0]]
    assert size > 0 and ctypes.c_ubyte.from_address(address).value is not None  # mapped, readable code
    starts = sorted(symbols)
    assert all(a + symbols[a][0] <= b for a, b in itertools.pairwise(starts))  # no two functions overlap
