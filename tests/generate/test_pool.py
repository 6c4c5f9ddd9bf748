"""`generate.pool`: a worker process that dies is one clear error, not a wait for ever (multiprocessing.Pool
replaced the dead process and lost its item, so `domrand generate --workers N` hung silently after an
out-of-memory kill), and a worker's own exception comes back as it was raised."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, sys
    from domrand.generate import pool

    class Worker:
        def __call__(self, item):
            if item == 3 and sys.argv[1] == "die":
                os._exit(9)  # as a process killed for memory: no exception, no result
            if item == 3 and sys.argv[1] == "raise":
                raise KeyError(f"item {item}")
            return item * 10

    def make():
        return Worker()

    def broken_factory():
        raise OSError("cannot build the worker")

    if __name__ == "__main__":
        factory = broken_factory if sys.argv[1] == "factory" else make
        try:
            print(sorted(pool.run(factory, range(8), 2, ordered=sys.argv[2] == "ordered")))
        except pool.WorkerDied as e:
            print("WorkerDied:", e)
        except KeyError as e:
            print("KeyError:", e)
    """
)


def _run(tmp_path, *args: str) -> str:
    script = tmp_path / "job.py"  # a file, so that spawned workers can import its functions
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=180, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_regression_a_worker_process_that_died_left_the_pool_waiting_for_ever(tmp_path):
    for order in ("ordered", "unordered"):
        out = _run(tmp_path, "die", order)
        assert out.startswith("WorkerDied: a worker process died") and "fewer --workers" in out, out


def test_a_worker_whose_factory_fails_is_one_error_and_a_workers_exception_comes_back(tmp_path):
    assert _run(tmp_path, "factory", "ordered").startswith("WorkerDied:")
    assert _run(tmp_path, "raise", "ordered") == "KeyError: 'item 3'"
    assert _run(tmp_path, "fine", "unordered") == str([i * 10 for i in range(8)])


def test_domrand_generate_says_a_worker_died_without_a_traceback(tmp_path, monkeypatch, capsys):
    from domrand.cli import main
    from domrand.generate import pool
    from domrand.generate import run as run_module

    def dies(*a, **k):
        raise pool.WorkerDied("a worker process died before finishing its work (test)")
        yield

    monkeypatch.setattr(run_module, "CORES_PER_WORKER", 1)  # two processes even on a 2-core machine
    monkeypatch.setattr(pool, "run", dies)
    args = ["generate", "--num", "16", "--size", "16", "--chunk-size", "4", "--workers", "2"]
    assert main([*args, "--out", str(tmp_path / "ds"), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "domrand: error: a worker process died" in err and "Traceback" not in err
