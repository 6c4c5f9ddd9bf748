"""The first run's warm-up: the child that compiles the texture, noise and format kernels starts as the CLI starts
(`domrand.cli._early_warm_up`), `warm_up` joins it instead of starting its own, and nothing outlives the run."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from domrand.cli import WARM_CHILD
from domrand.config import load_config
from domrand.generate import warm


def test_warm_up_joins_the_early_child_instead_of_starting_one(monkeypatch):
    early = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    started = []
    monkeypatch.setattr(warm, "cache_is_cold", lambda png=False: True)
    monkeypatch.setattr(warm, "_render", lambda config: None)
    monkeypatch.setattr(warm.subprocess, "Popen", lambda *a, **k: started.append(a) or None)
    monkeypatch.setattr(warm, "child_work", lambda config, png: started.append("here"))
    with warm.early(early):
        assert warm.warm_up(load_config()) is not None
        assert early.returncode == 0, "warm_up returned before the early child finished"
    assert started == [], f"warm_up started another child or compiled the child's share itself: {started}"


def test_warm_up_does_the_work_itself_when_the_early_child_failed(monkeypatch):
    done = []
    monkeypatch.setattr(warm, "cache_is_cold", lambda png=False: True)
    monkeypatch.setattr(warm, "_render", lambda config: None)
    monkeypatch.setattr(warm, "child_work", lambda config, png: done.append(png))
    failed = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with warm.early(failed):
        warm.warm_up(load_config(), png=True)
    assert done == [True]


def test_an_early_child_nobody_joined_is_stopped():
    """A run that fails (a bad config) or has nothing to do (a finished dataset resumed) leaves no compiling
    process behind."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    t0 = time.perf_counter()
    try:
        with warm.early(child):
            raise ValueError("the run failed")
    except ValueError:
        pass
    assert child.poll() is not None and time.perf_counter() - t0 < 10
    assert warm._early is None


def test_the_early_child_compiles_and_writes_nothing(tmp_path):
    """The child reads the same command line as the run (`--size`, `--format`) and only compiles: no output
    folder, nothing printed."""
    out = tmp_path / "out"
    r = subprocess.run(
        [sys.executable, "-c", WARM_CHILD, "generate", "--num", "4", "--out", str(out), "--size", "16"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert not out.exists() and r.stdout == ""


def test_regression_the_cold_start_child_waited_for_torch():
    """The CLI's error handling imported `domrand.io.files`, whose package imported torch (0.9 s), and the kernel
    constants imported `domrand.silhouettes` (torch again): the warm-up child could only start after torch was
    loaded. Checking the compile cache and handling errors must not import torch."""
    script = (
        "import sys; from domrand.cli import parser; parser(); "
        "import domrand.io.files, domrand.tasks.interrupt; from domrand.kernels import cache_is_cold; cache_is_cold(); "
        "print('torch' in sys.modules)"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "False"


def test_the_childs_surface_run_is_the_one_the_renderer_loads(tmp_path):
    """The warm-up child compiles `kernels.shade._surface_run` with dummy arrays so that the renderer, compiling
    in the other process, reads it from the cache. With other argument types the renderer compiles its own
    (1.2 s more of the cold start, silently): after the child's share, rendering compiles no `_surface_run`."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    first = subprocess.run(
        [sys.executable, "-c", "from domrand.generate.warm import _surface; _surface()"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    script = (
        "import torch; from numba.core import event as ev; rec = ev.RecordingListener(); "
        "ev.register('numba:compile', rec); from domrand.config import load_config; "
        "pipe = load_config(overrides={'image_size': 32}).pipeline(max_batch=2); "
        "pipe.render(pipe.sample(2, rng=torch.Generator().manual_seed(0))); "
        "print(sum(e.is_start and e.data['dispatcher'].py_func.__name__ == '_surface_run' for _, e in rec.buffer))"
    )
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert second.stdout.strip() == "0", "the renderer compiled _surface_run again: the child's types differ"
