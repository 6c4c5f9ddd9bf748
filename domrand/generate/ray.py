"""`domrand generate --backend ray`: runs of consecutive chunks as Ray tasks, written by the task to the output
location (a task renders its chunks as one local process does: `generate.runner.run_pipelined`).

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

from domrand.generate.options import GenerateOptions
from domrand.generate.runner import (
    RENDER_LANES,
    GroupRunner,
    RunSpec,
    chunks_per_task,
    worker_groups,
)

MAX_RETRIES = 3
_RUNNERS: dict[str, GroupRunner] = {}


def import_ray() -> Any:
    """The `ray` module, or one ValueError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ValueError("--backend ray needs Ray: pip install 'domrand[ray]' (or pip install 'ray>=2.9')") from None
    return ray


def fingerprint(spec: RunSpec) -> str:
    """A key for the per-process runner cache: the same spec gives the same key."""
    return hashlib.sha256(pickle.dumps(spec)).hexdigest()


def run_chunks(spec: RunSpec, key: str, chunks: list[int], threads: int) -> list[int]:
    """Ray task body: render and write `chunks` as a pool worker does (`GroupRunner`, built once per worker
    process); their image counts."""
    runner = _RUNNERS.get(key)
    if runner is None:
        from domrand.generate.pool import set_threads

        set_threads(threads)
        runner = _RUNNERS[key] = GroupRunner(spec)
    return runner(chunks)


def connect(opts: GenerateOptions) -> bool:
    """Start or join Ray before anything is written; returns whether this call started it (and so must shut it
    down). A cluster that cannot be reached is one ValueError naming the address and how to start one."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if opts.address:
        kw["address"] = opts.address
    else:
        kw["num_cpus"] = opts.ray_options.get("num_cpus", opts.workers if opts.workers > 1 else None)
    fix = (
        "start one with `ray start --head` (or leave out --address for a local Ray on this machine)"
        if opts.address
        else "check `ray status` and the Ray installation"
    )
    unreachable = _unreachable(opts.address) if opts.address else None
    if unreachable:  # Ray itself would wait minutes for a head node that is not there
        raise ValueError(f"cannot start a Ray cluster at --address {opts.address}: {unreachable}; {fix}")
    try:
        ray.init(**kw)
    except Exception as e:  # ConnectionError, RuntimeError, ...: Ray's own messages run to many lines
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        where = f"a Ray cluster at --address {opts.address}" if opts.address else "a local Ray instance"
        raise ValueError(f"cannot start {where}: {first}; {fix}") from None
    return True


def _unreachable(address: str, timeout: float = 5.0) -> str | None:
    """Why nothing answers at a `host:port` or `ray://host:port` address (None if something does, or if the
    address is `auto` or another form Ray resolves itself)."""
    import socket

    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit():
        return None
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
            return None
    except OSError as e:
        return f"nothing answers at {host or '127.0.0.1'}:{port} ({e.strerror or e})"


def shutdown() -> None:
    import_ray().shutdown()


def run_ray(spec: RunSpec, todo: list[int], opts: GenerateOptions, on_done: Callable[[int], None]) -> None:
    """Submit chunks `todo` as Ray tasks of consecutive chunks (Ray already `connect`ed; `generate.runner.worker_groups`
    for the cluster's task slots) and report each finished chunk to `on_done` (tasks in completion order)."""
    ray = import_ray()
    cpus = float(opts.ray_options.get("cpus_per_task", 1))
    gpus = 1 if opts.device == "cuda" else 0
    task = ray.remote(run_chunks).options(num_cpus=cpus, num_gpus=gpus, max_retries=MAX_RETRIES)
    shared = ray.put(spec)
    key = fingerprint(spec)
    lanes = RENDER_LANES if int(cpus) >= RENDER_LANES else 1
    have = ray.cluster_resources()  # tasks that can run at once: what bounds how finely the chunks are cut
    slots = int(float(have.get("CPU", 1)) / max(cpus, 1e-6))
    if gpus:
        slots = min(slots, int(float(have.get("GPU", 1)) / gpus))
    slots = max(1, slots)
    groups = worker_groups(todo, chunks_per_task(spec, lanes), slots)
    pending = [task.remote(shared, key, group, max(1, int(cpus))) for group in groups]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for ref in done:
            for n in ray.get(ref):
                on_done(n)
