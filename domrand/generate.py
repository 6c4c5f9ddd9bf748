"""`domrand generate`: labelled datasets, chunk by chunk, reproducible and resumable.

The chunk is the unit of seeding and of writing: chunk k draws from `chunk_rng(seed, k)` and is
written atomically, then marked done (`chunks/00000k.json`). Workers, the render batch size and the
backend decide only who renders which chunk and how much at once, so they never change a byte.

Example:
    >>> from domrand.config import load_config
    >>> opts = GenerateOptions(out="/tmp/ds", num=8, overwrite=True, quiet=True)  # doctest: +SKIP
    >>> generate(load_config(), opts)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from domrand.config import DatasetConfig
from domrand.io import manifest as mf
from domrand.io.files import dumps
from domrand.io.native import Chunk, params_arrays
from domrand.io.store import open_store
from domrand.io.writers import WRITERS, make_writers
from domrand.labels import compute
from domrand.pipeline import Pipeline
from domrand.rng import chunk_rng

log = logging.getLogger("domrand.generate")
FORMATS = tuple(WRITERS)


@dataclass(frozen=True)
class GenerateOptions:
    """How to run (none of these change the output's bytes, except `device`, `num`, `seed`, `formats`).

    Attributes:
        out: dataset folder, or an fsspec URL (s3://bucket/prefix) that every worker can reach.
        num: images. seed: root seed.
        formats: any of "native", "jsonl", "coco", "bop".
        workers: local processes. batch_size: images rendered at once (a memory knob).
        device: "cpu" or "cuda". resume / overwrite: what to do with a non-empty `out`.
        quiet: log lines instead of a progress bar. backend: "local" or "ray"; address: Ray cluster.
    """

    out: str
    num: int
    seed: int = 0
    formats: tuple[str, ...] = ("native",)
    workers: int = 1
    batch_size: int = 64
    device: str = "cpu"
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False
    backend: str = "local"
    address: str | None = None
    ray_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", str(self.out))
        if not (isinstance(self.num, int) and self.num >= 1):
            raise ValueError(f"--num must be a positive number of images, got {self.num!r}")
        if not (isinstance(self.seed, int) and 0 <= self.seed < 2**63):
            raise ValueError(f"--seed must be an integer in [0, 2**63), got {self.seed!r}")
        bad = [f for f in self.formats if f not in FORMATS]
        if bad or not self.formats or len(set(self.formats)) != len(self.formats):
            raise ValueError(f"--format must be distinct names from {list(FORMATS)}, got {list(self.formats)}")
        if not (isinstance(self.workers, int) and 1 <= self.workers <= 256):
            raise ValueError(f"--workers must be an integer in [1, 256], got {self.workers!r}")
        if not (isinstance(self.batch_size, int) and self.batch_size >= 1):
            raise ValueError(f"--batch-size must be a positive integer, got {self.batch_size!r}")
        if self.device not in ("cpu", "cuda"):
            raise ValueError(f"--device must be cpu or cuda, got {self.device!r}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda asked for, but torch sees no CUDA device")
        if self.resume and self.overwrite:
            raise ValueError("--resume and --overwrite exclude each other")
        if self.backend not in ("local", "ray"):
            raise ValueError(f"--backend must be local or ray, got {self.backend!r}")


@dataclass(frozen=True)
class Summary:
    """What a run did."""

    out: str
    images: int
    chunks_written: int
    chunks_skipped: int
    seconds: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("nan")


def chunk_count(num: int, chunk_size: int, k: int) -> int:
    return min(chunk_size, num - k * chunk_size)


def done_marker(k: int) -> str:
    return f"chunks/{k:06d}.json"


class ChunkRunner:
    """Renders and writes chunks of one dataset; one per process (or Ray actor)."""

    def __init__(
        self,
        config: DatasetConfig,
        out: str,
        manifest: dict[str, Any],
        seed: int,
        num: int,
        batch_size: int,
        device: str,
    ) -> None:
        self.config, self.seed, self.num, self.batch_size = config, seed, num, batch_size
        self.store = open_store(out)
        self.pipeline = Pipeline(config, device=device, max_batch=batch_size)
        self.writers = make_writers(manifest["formats"], self.store, manifest)

    def render(self, k: int) -> Chunk:
        """Chunk k's images, labels and parameters (pure: depends on seed, k and the config only)."""
        c = self.config.chunk_size
        n = chunk_count(self.num, c, k)
        params = self.pipeline.sample(n, rng=chunk_rng(self.seed, k))
        rgb, depth, inst, label_parts = [], [], [], []
        for s in range(0, n, self.batch_size):
            idx = torch.arange(s, min(n, s + self.batch_size))
            frame = self.pipeline.render({name: p.select(idx) for name, p in params.items()})
            labels = compute(frame, self.pipeline.renderer)
            rgb.append((frame.rgb * 255 + 0.5).clamp(0, 255).to(torch.uint8).numpy())
            depth.append(frame.depth.numpy().astype(np.float32))
            inst.append(frame.instance.numpy().astype(np.int16))
            label_parts.append(labels.arrays())
        arrays = {f"label.{name}": np.concatenate([part[name] for part in label_parts]) for name in label_parts[0]}
        arrays.update(params_arrays(params))
        return Chunk(
            k,
            k * c,
            np.concatenate(rgb),
            np.concatenate(depth),
            np.concatenate(inst),
            arrays,
            self.pipeline.config.world.mesh_bank().names,
        )

    def run(self, k: int) -> int:
        """Render chunk k, write it in every format, then mark it done; returns its image count."""
        chunk = self.render(k)
        for w in self.writers:
            w.write_chunk(chunk)
        self.store.write(done_marker(k), dumps({"chunk": k, "first": chunk.first, "count": chunk.count}).encode())
        return chunk.count


def prepare(config: DatasetConfig, opts: GenerateOptions) -> tuple[dict[str, Any], list[int], int]:
    """Check the output folder, write or check the manifest; returns (manifest, chunks to do, chunks done)."""
    store = open_store(opts.out)
    backend = "numba" if opts.device == "cpu" else "torch"
    new = mf.build(config, opts.seed, opts.num, opts.formats, backend, opts.device)
    store.make_root()
    existing = bool(store.list(""))
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
        manifest = old
    else:
        manifest = new
        mf.write(store, {**manifest, "complete": False})
    done = set(store.list("chunks"))
    todo = [k for k in range(manifest["num_chunks"]) if done_marker(k).split("/")[1] not in done]
    return manifest, todo, manifest["num_chunks"] - len(todo)


def finalize(config: DatasetConfig, out: str, manifest: dict[str, Any]) -> None:
    """Assemble the formats' dataset-wide files, then mark the manifest complete."""
    from domrand.io.bop import write_dataset_files

    store = open_store(out)
    n = manifest["num_chunks"]
    for w in make_writers(manifest["formats"], store, manifest):
        w.finalize(n)
    if "bop" in manifest["formats"]:
        size = config.image_size
        k = config.world.base_scene(1, (size, size)).camera.intrinsics[0]  # the nominal (unrandomized) camera
        if config.camera is not None:
            from domrand.generators.transforms import intrinsics_from_fov

            k = intrinsics_from_fov(torch.deg2rad(torch.tensor([config.camera.fov_deg])), size, size)[0]
        cam = {
            "fx": float(k[0, 0]),
            "fy": float(k[1, 1]),
            "cx": float(k[0, 2]),
            "cy": float(k[1, 2]),
            "width": size,
            "height": size,
            "depth_scale": 0.1,
        }
        write_dataset_files(store, config.world.mesh_bank(), tuple(manifest["target_meshes"]), cam)
    mf.write(store, {**manifest, "complete": True})


class Progress:
    """A tqdm bar with images/s and time left, or log lines with --quiet."""

    def __init__(self, total: int, done: int, quiet: bool) -> None:
        self.total, self.done, self.quiet = total, done, quiet
        self.start = time.perf_counter()
        self.new = 0
        self.last_log = 0.0
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="img", dynamic_ncols=True, smoothing=0.1, file=sys.stderr)

    def update(self, n: int) -> None:
        self.done += n
        self.new += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter() - self.start
        if now - self.last_log >= 10 or self.done == self.total:
            rate = self.new / now if now > 0 else 0.0
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            log.info("%d/%d images, %.1f images/s, %.0f s left", self.done, self.total, rate, left)
            self.last_log = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --- local execution ----------------------------------------------------------------------------

_RUNNER: ChunkRunner | None = None


def _init_worker(args: tuple, threads: int) -> None:
    global _RUNNER
    torch.set_num_threads(threads)
    try:
        import numba

        numba.set_num_threads(threads)
    except (ImportError, ValueError):
        pass
    _RUNNER = ChunkRunner(*args)


def _run_in_worker(k: int) -> int:
    assert _RUNNER is not None
    return _RUNNER.run(k)


def run_local(args: tuple, todo: list[int], workers: int, on_done: Callable[[int], None]) -> None:
    """Run chunks `todo` in this process (1 worker) or a pool of spawned processes."""
    if workers == 1 or len(todo) <= 1:
        runner = ChunkRunner(*args)
        for k in todo:
            on_done(runner.run(k))
        return
    import multiprocessing as mp

    threads = max(1, (os.cpu_count() or 1) // workers)
    ctx = mp.get_context("spawn")
    pool = ctx.Pool(workers, initializer=_init_worker, initargs=(args, threads))
    try:
        for n in pool.imap_unordered(_run_in_worker, todo):
            on_done(n)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()


def generate(config: DatasetConfig, opts: GenerateOptions, runner: Callable[..., None] | None = None) -> Summary:
    """Generate (or continue) a dataset; see the module docstring."""
    if opts.backend == "ray":
        from domrand.scale.ray_backend import _import_ray

        _import_ray()  # fail before touching the output folder
    manifest, todo, skipped = prepare(config, opts)
    progress = Progress(
        opts.num,
        sum(chunk_count(opts.num, config.chunk_size, k) for k in range(manifest["num_chunks"]) if k not in set(todo)),
        opts.quiet,
    )
    t0 = time.perf_counter()
    written = 0
    args = (config, opts.out, manifest, opts.seed, opts.num, opts.batch_size, opts.device)
    try:

        def on_done(n: int) -> None:
            nonlocal written
            written += 1
            progress.update(n)

        if opts.backend == "ray":
            from domrand.scale.ray_backend import run_ray

            run_ray(args, todo, opts, on_done)
        else:
            (runner or run_local)(args, todo, opts.workers, on_done)
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


def chunk_ids(num: int, chunk_size: int) -> Iterable[int]:
    return range((num + chunk_size - 1) // chunk_size)
