"""Where a chunk's time goes: the per-stage breakdown `domrand bench generate` reports (ms per image).

The stages are those of `generate.runner.ChunkRunner`, timed one after the other on the same chunks:
sample (the randomizers' draws), each scene randomizer's apply (textures: their synthesis), render (the
compiled rasterizer, shadow map, shading and silhouettes), image noise, quantize, labels, and writing the
native shard; then, on the same chunks, each other format's writer alone ("write jsonl", ...: what a format adds
to a native run's chunk). `file_create` times the file system the writers write to: what a format's per-image
files cost there, whatever domrand does; `shard_write` what a native chunk's shard costs there, through the page
cache and written directly (`io.store.DIRECT_MIN`).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator

import numpy as np
import torch

from domrand.config import DatasetConfig
from domrand.generate.options import default_batch_size
from domrand.generate.runner import cat_params, object_models, quantize, split_chunks
from domrand.io import manifest as mf
from domrand.io.store import open_store
from domrand.io.writers import WRITERS, make_writers
from domrand.labels import compute
from domrand.rng import chunk_rng
from domrand.world import TARGET


def breakdown(cfg: DatasetConfig, chunks: int = 8, seed: int = 0, batch: int | None = None) -> dict[str, float]:
    """Milliseconds per image of each stage of a chunk, over `chunks` chunks after one warm-up batch, rendered
    as `domrand generate` renders them: `batch` scenes at a time (`--batch-size`; None: its default for the
    images' size), a batch spanning `batch // chunk_size` chunks where it holds several (`ChunkRunner.render_many`);
    the writers of the formats other than native ("write jsonl", ...) each alone on the same chunks."""
    pipe = cfg.pipeline()
    c = cfg.chunk_size
    batch = batch if batch is not None else default_batch_size(cfg.size)
    per = max(1, batch // c)
    groups = [list(range(per))] + [list(range(per + i, per + min(i + per, chunks))) for i in range(0, chunks, per)]
    out = tempfile.TemporaryDirectory(prefix="domrand_stages_")
    formats = tuple(WRITERS)
    man = mf.build(cfg.to_json(), cfg.world_facts(), seed, c * (chunks + per), c, formats, "numba", "cpu")
    writers = make_writers(formats, open_store(out.name), man, object_models(cfg))  # native first
    written = []
    times: dict[str, float] = defaultdict(float)
    record = False

    @contextlib.contextmanager
    def clock(name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        if record:
            times[name] += time.perf_counter() - t0

    for g, group in enumerate(groups):
        record = g > 0  # the first group warms up
        with clock("sample"):
            drawn = [pipe.sample(c, rng=chunk_rng(seed, k)) for k in group]
        params = cat_params(drawn)
        n = c * len(group)
        parts: dict[str, list] = defaultdict(list)
        for s in range(0, n, batch):  # as `ChunkRunner.render_many`: the group's scenes rendered `batch` at a time
            idx = torch.arange(s, min(n, s + batch))
            part = {name: p.select(idx) for name, p in params.items()}
            scene = pipe.world.base_scene(len(idx), pipe.image_size)
            for name, r in pipe.compose.scene:
                with clock(f"apply {name}"):
                    scene = r.apply(scene, part[name])
            objects = torch.arange(scene.instances.mesh.shape[1]) >= TARGET
            with clock("render"):
                frame = pipe.renderer.render(scene, silhouettes=objects)
            with clock("image noise"):
                images = pipe.compose.apply_images({"rgb": frame.rgb, "depth": frame.depth}, part)
            with clock("quantize"):
                parts["rgb"].append(quantize(images["rgb"]))
            with clock("labels"):
                parts["labels"].append(compute(scene, frame.instance, frame.silhouette, frame.depth).arrays())
            parts["depth"].append(images["depth"].numpy())
            parts["instance"].append(frame.instance.numpy().astype(np.int16))
        labels = {f"label.{n}": np.concatenate([a[n] for a in parts["labels"]]) for n in parts["labels"][0]}
        rgb, depth, instance = (np.concatenate(parts[n]) for n in ("rgb", "depth", "instance"))
        for chunk in split_chunks(group, c, drawn, rgb, depth, instance, labels, scene.meshes.names):
            with clock("write native"):
                writers[0].write_chunk(chunk)
            written.append((record, chunk))
    for w in writers[1:]:  # in the runner's order (coco and bop link jsonl's images); the warm-up group untimed
        for timed, chunk in written:
            record = timed
            with clock(f"write {w.name}"):
                w.write_chunk(chunk)
    out.cleanup()
    return {name: 1000 * t / (chunks * c) for name, t in times.items()}


def file_create(folder: str | None = None, files: int = 512, size: int = 20_000) -> dict[str, float]:
    """Milliseconds to create one file of `size` bytes in a new folder under `folder` (the system's temporary
    folder by default), the files written one after another (`serial`) and by two threads side by side
    (`two_threads`, wall time per file): the interchange formats write 3 to 5 files an image, and on this
    project's 2-core machines creating one cost 0.02 to 0.26 ms within an hour (0.02 on tmpfs): 0.15-0.2 ms
    within minutes after thousands of files were deleted (`spent`), else 0.01-0.04."""
    import os
    import threading

    blob = os.urandom(size)
    out: dict[str, float] = {}
    from domrand.tools.bench.spent import spend

    for name, threads in (("serial", 1), ("two_threads", 2)):
        d = tempfile.mkdtemp(prefix="domrand_files_", dir=folder)

        def make(part: int, d: str = d, threads: int = threads) -> None:
            for i in range(part, files, threads):
                with open(os.path.join(d, f"{i:06d}.png"), "wb") as f:
                    f.write(blob)

        t0 = time.perf_counter()
        workers = [threading.Thread(target=make, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        out[name] = 1000 * (time.perf_counter() - t0) / files
        spend(d)  # not deleted until the end: deleted files slow the next creations on some file systems
    return out


def shard_write(
    folder: str | None = None, shards: int = 64, size: int = 9_830_400, rounds: int = 2
) -> dict[str, float]:
    """Milliseconds of this process's CPU to write one native shard of `size` bytes (a 128 px chunk of 64 images
    is 9.8 MB) and make it durable with `LocalStore.sync` as the runner does after each chunk, in a new folder
    under `folder` (the system's temporary folder by default): through the page cache (`page_cache`) and with
    O_DIRECT (`direct`: what `LocalStore` writes a file of `DIRECT_MIN` bytes or more with; absent where the
    file system refuses it). `shards` shards each way (64: a 4,096-image run's), the two alternated `rounds`
    times; the lowest round."""
    import os
    import resource

    from domrand.io.store import LocalStore
    from domrand.tools.bench.spent import spend

    blob = np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8)
    best: dict[str, float] = {}
    for _ in range(rounds):
        for name in ("page_cache", "direct"):
            d = tempfile.mkdtemp(prefix="domrand_shards_", dir=folder)
            store = LocalStore(d)
            store._direct = store._direct and name == "direct"
            r0 = resource.getrusage(resource.RUSAGE_SELF)
            for k in range(shards):
                store.write(f"{k:06d}.bin", [blob.data], sync=False)
                store.sync()
            r1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            if name == "page_cache" or store._direct:  # a refused O_DIRECT wrote through the page cache: no reading
                best[name] = min(best.get(name, float("inf")), 1000 * cpu / shards)
            spend(d)
            os.sync()
    return best
