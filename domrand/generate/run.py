"""`generate`: a labelled dataset, chunk by chunk, reproducible and resumable.

The chunk is the unit of seeding and of writing: chunk k draws from `chunk_rng(seed, k)` and is
written atomically, then marked done (`chunks/00000k.json`). Workers, the render batch size and the
backend decide only who renders which chunk and how much at once, so they never change a byte.

Example:
    >>> from domrand.config import load_config
    >>> opts = GenerateOptions(out="/tmp/ds", num=8, overwrite=True, quiet=True)  # doctest: +SKIP
    >>> generate(load_config(), opts)  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import time
from pathlib import Path
from typing import Any

import torch

from domrand.config import DatasetConfig
from domrand.generate import pool
from domrand.generate.guard import LOCK, check_space, folder_lock
from domrand.generate.options import GenerateOptions, Summary, chunk_count
from domrand.generate.progress import Progress
from domrand.generate.runner import (  # RENDER_LANES: read here, so that tests can set it for in-process runs
    RENDER_LANES,
    ChunkRunner,
    GroupRunner,
    RunSpec,
    chunks_per_task,
    object_models,
    run_pipelined,
    worker_groups,
)
from domrand.generate.warm import warm_up
from domrand.io import manifest as mf
from domrand.io.store import open_store
from domrand.io.writers import make_writers
from domrand.kernels import cache_is_cold

log = logging.getLogger("domrand")


def prepare(config: DatasetConfig, opts: GenerateOptions) -> tuple[dict[str, Any], list[int], int]:
    """Check the output folder, write or check the manifest; returns (manifest, chunks to do, chunks done)."""
    if "bop" in opts.formats and getattr(config.camera, "distortion", None) is not None:
        raise ValueError(
            "--format bop describes pinhole cameras (cam_K only) and camera.distortion is set: leave bop out, "
            "or generate undistorted images (no camera.distortion) as BOP datasets are"
        )
    store = open_store(opts.out)
    backend = "numba" if opts.device == "cpu" else "torch"
    new = mf.build(
        config.to_json(),
        config.world_facts(),
        opts.seed,
        opts.num,
        config.chunk_size,
        opts.formats,
        backend,
        opts.device,
    )
    store.make_root()
    existing = bool([name for name in store.list("") if name != LOCK])
    is_dataset = store.exists("manifest.json")
    if existing and not (opts.resume or opts.overwrite):
        raise ValueError(
            f"output folder {opts.out!r} is not empty: pass --resume to continue it or --overwrite to replace it"
        )
    if existing and opts.overwrite:
        if not is_dataset:
            raise ValueError(f"refusing to --overwrite {opts.out!r}: it is not a domrand dataset (no manifest.json)")
        store.clear()
    if existing and opts.resume:
        if not is_dataset:
            raise ValueError(f"cannot --resume {opts.out!r}: it is not a domrand dataset (no manifest.json)")
        old = mf.read(store)
        mf.check_resumable(old, new)
        store.remove_temporaries()
        manifest = {**new, **old}  # keys an older manifest lacks (nominal_camera) are filled in
    else:
        manifest = new
    n_chunks = manifest["num_chunks"]
    done = {k for k in map(_marker_index, store.list("chunks")) if k is not None and k < n_chunks}
    root = store.local_path()
    if (
        root is not None
    ):  # before listing the chunks to do (a typo's --num has billions); object stores: no free space to ask
        left = opts.num - sum(chunk_count(opts.num, config.chunk_size, k) for k in done)
        check_space(root, opts.formats, tuple(manifest["image_size"]), left)
    todo = [k for k in range(n_chunks) if k not in done]
    if not (existing and opts.resume):
        mf.write(store, {**manifest, "complete": False})
    return manifest, todo, manifest["num_chunks"] - len(todo)


def _marker_index(name: str) -> int | None:
    """k of a chunk marker's file name (`done_marker`), or None for anything else."""
    stem, _, ext = name.partition(".")
    return int(stem) if ext == "json" and stem.isdigit() else None


def finalize(config: DatasetConfig, out: str, manifest: dict[str, Any]) -> None:
    """Assemble the formats' dataset-wide files, then mark the manifest complete."""
    store = open_store(out)
    for w in make_writers(manifest["formats"], store, manifest, object_models(config)):
        w.finalize(manifest["num_chunks"])
    mf.write(store, {**manifest, "complete": True})


#: Cores a worker process keeps busy: its kernels' threads render while its writer encodes the last chunk.
CORES_PER_WORKER = 2


def local_processes(workers: int, cores: int) -> int:
    """Processes for `--workers N` on `cores` cores: N, but no more than one per CORES_PER_WORKER cores (a
    worker on a single core has nothing to overlap its writing with, and pays a process start-up)."""
    return max(1, min(workers, cores // CORES_PER_WORKER))


def run_local(spec: RunSpec, todo: list[int], workers: int, on_done: Any) -> None:
    """Run chunks `todo` in this process (one worker) or a pool of spawned processes, each using its share of the
    cores (`local_processes`) and taking groups of consecutive chunks (`GroupRunner`; the output is the same
    whatever the split)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    procs = local_processes(workers, cores)
    if procs < workers:
        log.info(f"--workers {workers} on {cores} cores: {procs} process(es) of {cores // procs} threads each")
    if procs <= 1 or len(todo) <= 1:  # this process: each chunk written while the next one renders
        threads, frozen = torch.get_num_threads(), gc.get_freeze_count()
        try:
            for n in run_pipelined(ChunkRunner(spec), todo, RENDER_LANES):
                on_done(n)
        finally:
            torch.set_num_threads(threads)  # the runner took torch to one thread: the caller's setting back
            if frozen == 0:  # a library caller's process: what the runner froze (its garbage too) collectable again
                gc.unfreeze()  # (`domrand generate` freezes its start-up before: left frozen till the process ends)
        return
    groups = worker_groups(todo, chunks_per_task(spec, RENDER_LANES), procs)
    for counts in pool.run(functools.partial(GroupRunner, spec), groups, procs, threads=max(1, cores // procs)):
        for n in counts:
            on_done(n)


def generate(config: DatasetConfig, opts: GenerateOptions) -> Summary:
    """Generate (or continue) a dataset; see the module docstring."""
    if opts.backend != "ray":
        return _generate(config, opts)
    from domrand.generate import ray as ray_backend

    started = ray_backend.connect(opts)  # a missing Ray or cluster fails here, before the output folder is touched
    try:
        return _generate(config, opts)
    finally:
        if started:
            ray_backend.shutdown()


def _generate(config: DatasetConfig, opts: GenerateOptions) -> Summary:
    store = open_store(opts.out)
    root = store.local_path()
    if root is None:
        return _run(config, opts)
    created = not Path(root).exists()
    try:
        store.make_root()
        with folder_lock(Path(root)):  # one writer per folder
            return _run(config, opts)
    except BaseException:
        if created and Path(root).is_dir() and not any(Path(root).iterdir()):
            Path(root).rmdir()  # refused before writing anything: leave no folder behind
        raise


def _run(config: DatasetConfig, opts: GenerateOptions) -> Summary:
    manifest, todo, skipped = prepare(config, opts)
    if config.task == "grasping" and todo:
        log.info("the grasping preset writes depth images with poses; grasp labels come from `domrand label grasps`")
    png = any(f != "native" for f in opts.formats)
    if todo and opts.device == "cpu" and cache_is_cold(png):
        log.info(
            "compiling the renderer's kernels: first run on this machine only, later runs load them from the cache"
        )
        warm_up(config, png)
    pending = set(todo)
    done_images = sum(
        chunk_count(opts.num, config.chunk_size, k) for k in range(manifest["num_chunks"]) if k not in pending
    )
    progress = Progress(opts.num, done_images, opts.quiet)
    t0 = time.perf_counter()
    written = 0
    spec = RunSpec(config, opts.out, manifest, opts.seed, opts.num, opts.render_batch(config.size), opts.device)
    try:

        def on_done(n: int) -> None:
            nonlocal written
            written += 1
            progress.update(n)

        if opts.backend == "ray":
            from domrand.generate.ray import run_ray

            run_ray(spec, todo, opts, on_done)
        else:
            run_local(spec, todo, opts.workers, on_done)
    finally:
        progress.close()
    finalize(config, opts.out, manifest)
    return Summary(
        opts.out,
        sum(chunk_count(opts.num, config.chunk_size, k) for k in todo),
        written,
        skipped,
        time.perf_counter() - t0,
    )
