"""The `domrand` command's 512-bit vectors (`kernels.vectors`): the same bytes, only where asked, cached apart."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from domrand.kernels.vectors import ENV, NUMBA_ENV, wide_features

WIDE = wide_features()
needs_avx512 = pytest.mark.skipif(WIDE is None, reason="the CPU has no AVX-512: the command keeps numba's features")

PROBE = """
import json, os
from domrand.kernels.vectors import use_wide_vectors
from numba.core import config
print(json.dumps({"used": use_wide_vectors(), "env": os.environ.get("NUMBA_CPU_FEATURES"), "config": config.CPU_FEATURES}))
"""


def _probe(env: dict[str, str]) -> dict:
    base = {k: v for k, v in os.environ.items() if k not in (ENV, NUMBA_ENV)}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**base, **env}, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_avx512
def test_the_command_turns_the_256_bit_preference_off_unless_the_user_chose():
    got = _probe({})
    assert got["used"] and got["env"] == got["config"] == WIDE and WIDE.endswith(",-prefer-256-bit")
    assert _probe({ENV: "0"}) == {"used": False, "env": None, "config": None}
    mine = WIDE.replace(",-prefer-256-bit", "")  # the user's own choice stays theirs
    assert _probe({NUMBA_ENV: mine}) == {"used": False, "env": mine, "config": mine}


def test_too_late_once_numba_compiled_something_in_the_process():
    code = "from numba import njit\nnjit(lambda x: x + 1)(1)\n" + PROBE
    base = {k: v for k, v in os.environ.items() if k not in (ENV, NUMBA_ENV)}
    out = subprocess.run([sys.executable, "-c", code], env=base, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"used": False, "env": None, "config": None}


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@needs_avx512
def test_wide_and_narrow_vectors_write_the_same_bytes(tmp_path):
    """Every kernel loop is element by element (no float sum reordered, no fast math): the vector width changes no
    value. The tabletop and grasping presets, every format, each command compiled both ways."""
    base = {k: v for k, v in os.environ.items() if k not in (ENV, NUMBA_ENV)}
    for preset in ("tabletop", "grasping"):
        out = {}
        for name, env in (("wide", {}), ("narrow", {ENV: "0"})):
            out[name] = tmp_path / f"{preset}_{name}"
            subprocess.run(
                [sys.executable, "-m", "domrand.cli", "generate", "--preset", preset, "--num", "70", "--chunk-size", "32",
                 "--format", "native,jsonl,coco,bop,yolo", "--out", str(out[name]), "--quiet"],
                env={**base, **env}, check=True, capture_output=True,
            )  # fmt: skip
        wide, narrow = _digests(out["wide"]), _digests(out["narrow"])
        assert len(wide) > 100 and wide == narrow, preset


CACHED = """
from numba import njit

@njit(cache=True)
def double(x):
    return 2 * x
"""


def test_a_kernel_cached_for_other_cpu_features_reads_as_cold(tmp_path):
    """A cache index keeps an entry per CPU name and features: one compiled with the command's features does not
    make the cache warm for a process with numba's default ones (`kernels.cache_is_cold`)."""
    (tmp_path / "cached_double.py").write_text(CACHED)
    check = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from cached_double import double\n"
        "from domrand.kernels import _cached_here\n"
        "print(_cached_here(double))\n"
    )
    base = {k: v for k, v in os.environ.items() if k not in (ENV, NUMBA_ENV)}
    base["NUMBA_CACHE_DIR"] = str(tmp_path / "cache")
    other = {NUMBA_ENV: WIDE or "+sse2,+sse4.2"}  # features other than numba's default ones

    def cached(env: dict[str, str], compile_first: bool = False) -> bool:
        code = check.replace("print(", "double(1); print(" if compile_first else "print(")
        r = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], env={**base, **env}, capture_output=True, text=True, check=True
        )
        return r.stdout.strip().splitlines()[-1] == "True"

    assert not cached({})
    assert cached(other, compile_first=True)  # compiled and cached with other features
    assert cached(other)
    assert not cached({})  # numba's default features: not in the index yet
    assert cached({}, compile_first=True)
