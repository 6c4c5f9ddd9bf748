"""`--backend ray` writes byte for byte what the local backend writes, also after a worker is killed
mid-run and after the driver is killed and the run resumed; fsspec URLs work as output locations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_generate import tree

from domrand.config import load_config
from domrand.generate import GenerateOptions, generate

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

SMALL = {"image_size": 32, "chunk_size": 4}
FORMATS = ("native", "jsonl", "coco")


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("ref") / "ds"
    generate(load_config(overrides=SMALL), GenerateOptions(out=str(out), num=40, formats=FORMATS, quiet=True, seed=5))
    return tree(out)


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def ray_workers() -> list[int]:
    """Pids of Ray worker processes that are running a chunk task."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().decode(errors="ignore")
            except OSError:
                continue
            if cmd.startswith("ray::run_chunks"):
                pids.append(int(d.name))
    return pids


def kill_session(sid: int) -> None:
    """SIGKILL every process of session `sid`: the driver and the Ray processes it started (Ray starts its
    daemons in the driver's session). Never `ray stop`, which also kills the module's own cluster and with
    it this pytest process (the bug `test_regression_killing_a_driver_leaves_other_ray_clusters_alive` pins)."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == sid:  # the fields after the name: state, ppid, pgrp, session
                try:
                    os.kill(int(d.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass


def test_ray_backend_matches_local_and_survives_a_killed_worker(cluster, local_reference, tmp_path):
    out = tmp_path / "ray"
    killed: list[int] = []

    def killer() -> None:
        deadline = time.time() + 120
        while time.time() < deadline and not killed:
            if len(list((out / "chunks").glob("*.json"))) >= 2:
                pids = ray_workers()
                if pids:
                    os.kill(pids[0], signal.SIGKILL)
                    killed.append(pids[0])
                    return
            time.sleep(0.01)

    t = threading.Thread(target=killer)
    t.start()
    generate(
        load_config(overrides=SMALL),
        GenerateOptions(out=str(out), num=40, formats=FORMATS, quiet=True, seed=5, backend="ray"),
    )
    t.join()
    assert killed, "a worker should have been killed mid-run"
    assert tree(out) == local_reference


def test_fsspec_url_output_matches_local(cluster, local_reference, tmp_path):
    out = tmp_path / "url"
    generate(
        load_config(overrides=SMALL),
        GenerateOptions(out=f"file://{out}", num=40, formats=FORMATS, quiet=True, seed=5, backend="ray"),
    )
    assert tree(out) == local_reference


@pytest.mark.slow
def test_driver_killed_then_resumed_with_ray_matches_local(tmp_path):
    # 100 chunks: a task renders a run of them, and 10 were all written before the driver could be killed
    out, num = tmp_path / "driver", 400
    reference = tmp_path / "reference"
    generate(
        load_config(overrides=SMALL), GenerateOptions(out=str(reference), num=num, formats=FORMATS, quiet=True, seed=5)
    )
    args = [
        "generate",
        "--out",
        str(out),
        "--num",
        str(num),
        "--size",
        "32",
        "--chunk-size",
        "4",
        "--format",
        ",".join(FORMATS),
        "--seed",
        "5",
        "--quiet",
        "--backend",
        "ray",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "domrand.cli", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 180
    while time.time() < deadline and len(list((out / "chunks").glob("*.json"))) < 3:
        time.sleep(0.05)
    kill_session(proc.pid)
    proc.wait()
    done = len(list((out / "chunks").glob("*.json")))
    assert 3 <= done < num // 4
    subprocess.run(
        [sys.executable, "-m", "domrand.cli", *args, "--resume"], check=True, capture_output=True, timeout=300
    )
    assert tree(out) == tree(reference)


def test_regression_killing_a_driver_leaves_other_ray_clusters_alive(cluster):
    # `ray stop --force` after killing a driver also killed this process's cluster, and pytest died with it.
    code = "import ray, sys; ray.init(num_cpus=1, include_dashboard=False); print('up', flush=True); sys.stdin.read()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
    )
    assert proc.stdout.readline().strip() == b"up"
    kill_session(proc.pid)
    proc.wait()
    assert ray.get(ray.remote(lambda: 7).remote(), timeout=60) == 7


def test_missing_ray_is_one_clear_error(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def no_ray(name, *a, **kw):
        if name == "ray":
            raise ImportError("no ray")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    with pytest.raises(ValueError, match=r"pip install 'domrand\[ray\]'"):
        generate(
            load_config(overrides=SMALL), GenerateOptions(out=str(tmp_path / "x"), num=4, quiet=True, backend="ray")
        )
    assert not (tmp_path / "x").exists(), "nothing may be written before the error"
