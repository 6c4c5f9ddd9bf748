"""`domrand generate --backend ray`: every chunk a Ray task, written by the task to the output location.

Tasks are idempotent (a chunk is rendered from (seed, chunk index) alone and written atomically, then
marked done), so Ray may retry a task whose worker died, and a rerun with `--resume` after the driver
died finishes only the chunks without a done marker. The output location must be reachable from every
node: a shared file system path or an fsspec URL such as s3://bucket/prefix.

Example (on a machine that is part of a cluster):
    domrand generate --backend ray --address auto --num 1000000 --out s3://bucket/cube --workers 64
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Callable
from typing import Any

MAX_RETRIES = 3
_RUNNERS: dict[str, Any] = {}


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ValueError("--backend ray needs Ray: pip install 'domrand[ray]' (or pip install 'ray>=2.9')") from None
    return ray


def fingerprint(args: tuple) -> str:
    """A key for the per-process runner cache: the same arguments give the same key."""
    return hashlib.sha256(pickle.dumps(args)).hexdigest()


def run_chunk(args: tuple, key: str, k: int, threads: int) -> int:
    """Ray task body: render and write chunk k (the runner is built once per worker process)."""
    runner = _RUNNERS.get(key)
    if runner is None:
        import torch

        from domrand.generate import ChunkRunner

        torch.set_num_threads(threads)
        try:
            import numba

            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
        except (ImportError, ValueError):
            pass
        runner = _RUNNERS[key] = ChunkRunner(*args)
    return runner.run(k)


def run_ray(args: tuple, todo: list[int], opts: Any, on_done: Callable[[int], None]) -> None:
    """Submit chunks `todo` as Ray tasks and report each finished one to `on_done` (in completion order)."""
    ray = _import_ray()
    started = False
    if not ray.is_initialized():
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if opts.address:
            kw["address"] = opts.address
        else:
            kw["num_cpus"] = opts.ray_options.get("num_cpus", opts.workers if opts.workers > 1 else None)
        ray.init(**kw)
        started = True
    try:
        cpus = float(opts.ray_options.get("cpus_per_task", 1))
        gpus = 1 if opts.device == "cuda" else 0
        task = ray.remote(run_chunk).options(num_cpus=cpus, num_gpus=gpus, max_retries=MAX_RETRIES)
        shared = ray.put(args)
        key = fingerprint(args)
        pending = [task.remote(shared, key, k, max(1, int(cpus))) for k in todo]
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                on_done(ray.get(ref))
    finally:
        if started:
            ray.shutdown()
