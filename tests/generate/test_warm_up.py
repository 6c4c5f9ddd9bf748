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


def test_the_childs_kernels_are_the_ones_the_pipeline_loads(tmp_path):
    """The warm-up child compiles its kernels (`kernels.first_run`) by calling them on dummy arrays, without torch,
    so that the pipeline, in the other process, reads them from the cache. With other argument types the pipeline
    compiles its own (seconds more of the cold start, silently): after the child's share, a chunk's pipeline
    (render with textures and noise, quantize) compiles none of them."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    first = subprocess.run(
        [sys.executable, "-c", "import sys; from domrand.kernels.first_run import compile_share; compile_share(); "
         "print('torch' in sys.modules)"],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.strip() == "False", "the child's share imported torch"
    script = (
        "import torch; from numba.core import event as ev; rec = ev.RecordingListener(); "
        "ev.register('numba:compile', rec); from domrand.config import load_config; "
        "from domrand.generate.runner import quantize; "
        "pipe = load_config(overrides={'image_size': 32}).pipeline(max_batch=2); "
        "quantize(pipe.render(pipe.sample(2, rng=torch.Generator().manual_seed(0))).rgb); "
        "print(*sorted({e.data['dispatcher'].py_func.__name__ for _, e in rec.buffer if e.is_start}))"
    )
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    compiled = second.stdout.split()
    assert "_shade_scene" in compiled, "the pipeline compiled nothing: the test no longer sees its compiling"
    for name in ("_surface_run", "_light_row", "synthesize", "degrade", "quantize"):
        assert name not in compiled, f"the pipeline compiled {name} again: the child's types differ"


def test_the_early_child_reads_its_formats_without_torch(tmp_path):
    """`--format` or the recorded dataset's formats (`--config DIR`), as the run reads them, and no torch."""
    from domrand.cli import _early_formats, parser

    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "manifest.json").write_text('{"formats": ["native", "coco"]}')
    assert _early_formats(parser().parse_args(["generate", "--out", "x", "--format", "native,bop"])) == (
        "native",
        "bop",
    )
    assert _early_formats(parser().parse_args(["generate", "--out", "x", "--config", str(ds)])) == ("native", "coco")
    assert _early_formats(parser().parse_args(["generate", "--out", "x"])) == ("native",)
    script = (
        "import sys; from domrand.cli import warm_child; "
        f"warm_child(['generate', '--num', '4', '--out', {str(tmp_path / 'o')!r}, '--format', 'native,jsonl']); "
        "print('torch' in sys.modules)"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    r = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip() == "False" and not (tmp_path / "o").exists()
