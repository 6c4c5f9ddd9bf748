"""`ChunkRunner`: renders and writes chunks of one dataset, built once per process (or Ray worker) from a `RunSpec`."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from domrand.config import DatasetConfig
from domrand.generate.memory import keep_freed_memory
from domrand.generate.options import chunk_count, done_marker
from domrand.io.chunk import Chunk, Model, gc_paused, models_from_bank, params_arrays
from domrand.io.files import dumpb
from domrand.io.store import open_store
from domrand.io.writers import make_writers
from domrand.labels import compute
from domrand.params import Params
from domrand.rng import chunk_rng


@dataclass(frozen=True)
class RunSpec:
    """Everything a process needs to render and write any chunk of one dataset (picklable).

    Attributes:
        config: the dataset's configuration. out: its folder or URL. manifest: as written at the start.
        seed: root seed. num: images in the dataset. batch_size: images rendered at once (a memory knob).
        device: "cpu" or "cuda".
    """

    config: DatasetConfig
    out: str
    manifest: dict[str, Any]
    seed: int
    num: int
    batch_size: int
    device: str


def quantize(rgb: torch.Tensor) -> np.ndarray:
    """(B, H, W, 3) uint8 of float32 images: `Frame.rgb_uint8` by the compiled kernel (the same bytes, tested)."""
    from domrand.kernels.noise import quantize as kernel
    from domrand.kernels.threads import parallel

    x = rgb.detach().to("cpu", torch.float32).contiguous().numpy()
    out = np.empty(x.shape, dtype=np.uint8)
    parallel(kernel, x.shape[0], x, out)
    return out


def object_models(config: DatasetConfig) -> tuple[Model, ...]:
    """The models that formats which ship models write (BOP): the targets, and with `output.bop_distractors`
    every distractor mesh at every size of the placement's grid."""
    bank = config.world.mesh_bank()
    models = models_from_bank(bank, range(*config.world.target_mesh_ids))
    if config.output.bop_distractors:
        grid = config.placement.extent_grid().tolist()
        models += models_from_bank(bank, range(*config.world.distractor_mesh_ids), grid)
    return models


class ChunkRunner:
    """Renders and writes chunks of one dataset; one per process (or Ray worker). Call it with a chunk index."""

    def __init__(self, spec: RunSpec) -> None:
        self.spec = spec
        # The kernels render on their own threads (`kernels.threads`); torch's share is small per-batch tensor
        # ops, and its OpenMP threads spinning between them took ~10% of a 2-core machine from the kernels.
        # A process-wide setting: `run_local` puts it back when an in-process run ends.
        torch.set_num_threads(1)
        keep_freed_memory()  # a chunk's large buffers reused, not faulted in afresh (`generate.memory`)
        # What exists after this block (modules, meshes, the pipeline: ~260k objects) lives as long as the worker:
        # made with the collector off and frozen before it is back on, no collection walks it (a full one cost
        # 0.4 ms an image of the interchange formats' labels).
        with gc_paused(freeze=True):
            self.store = open_store(spec.out)
            self.pipeline = spec.config.pipeline(device=spec.device, max_batch=spec.batch_size)
            self.names = spec.config.world.mesh_bank().names
            self.object_classes = tuple(spec.manifest["object_classes"]) if "object_classes" in spec.manifest else None
            formats = spec.manifest["formats"]
            self.writers = make_writers(formats, self.store, spec.manifest, object_models(spec.config))

    def render(self, k: int) -> Chunk:
        """Chunk k's images, labels and parameters (pure: depends on seed, k and the config only)."""
        return self.render_many([k])[0]

    def render_many(self, ks: Sequence[int]) -> list[Chunk]:
        """Chunks `ks`, each drawn from its own seed as `render` draws it, rendered together in batches of
        `batch_size` images that may span chunks: the same bytes as `render` of each (a batch's images do not
        depend on which others share it), with the per-batch work (scene assembly, render set-up, labels) paid
        once for several small chunks. Chunks whose parameters have other shapes (a different number of
        slots) render apart."""
        spec, c = self.spec, self.spec.config.chunk_size
        drawn = [self.pipeline.sample(chunk_count(spec.num, c, k), rng=chunk_rng(spec.seed, k)) for k in ks]
        groups: list[list[int]] = []
        for i, params in enumerate(drawn):
            if groups and _same_shapes(drawn[groups[-1][0]], params):
                groups[-1].append(i)
            else:
                groups.append([i])
        chunks: list[Chunk] = []
        for group in groups:
            parts = [drawn[i] for i in group]
            rgb, depth, inst, labels = self._render_params(cat_params(parts))
            chunks += split_chunks(
                [ks[i] for i in group], c, parts, rgb, depth, inst, labels, self.names, self.object_classes
            )
        return chunks

    def _render_params(
        self, params: dict[str, Params]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """(rgb (n, H, W, 3) uint8, depth (n, H, W) float32 metres, instance (n, H, W) int16, label arrays) of n
        images' parameters, rendered in batches of `batch_size`."""
        n = next(iter(params.values())).batch_size
        rgb, depth, inst, label_parts = [], [], [], []
        for s in range(0, n, self.spec.batch_size):
            idx = torch.arange(s, min(n, s + self.spec.batch_size))
            frame = self.pipeline.render({name: p.select(idx) for name, p in params.items()})
            labels = compute(frame.scene, frame.instance, frame.silhouette, frame.clean_depth, self.object_classes)
            rgb.append(quantize(frame.rgb))
            depth.append(np.asarray(frame.depth.numpy(), dtype=np.float32))  # no copy of float32 (the frame's own)
            inst.append(frame.instance.numpy().astype(np.int16))
            label_parts.append(labels.arrays())
        arrays = {f"label.{name}": _cat([part[name] for part in label_parts]) for name in label_parts[0]}
        return _cat(rgb), _cat(depth), _cat(inst), arrays

    def write(self, chunk: Chunk) -> int:
        """Write `chunk` in every format, then mark it done; returns its image count."""
        for w in self.writers:
            w.write_chunk(chunk)
        self.store.sync()  # every file of the chunk durable before its marker says it is done
        self.store.write(
            done_marker(chunk.index), dumpb({"chunk": chunk.index, "first": chunk.first, "count": chunk.count})
        )
        return chunk.count

    def run(self, k: int) -> int:
        """Render chunk k, write it in every format, then mark it done; returns its image count."""
        return self.write(self.render(k))

    __call__ = run

    def pipelined(self, chunks: Iterable[int], lanes: int = 1) -> Iterator[int]:
        """`run` over `chunks`: `lanes` groups of chunks render at once on as many threads, and each rendered chunk
        is written on a background thread while later ones render (one write in flight). Yields image counts in
        chunk order.

        A group is as many consecutive chunks as one render batch holds (`batch_size // chunk_size`, at least
        one, and no more than keeps every lane busy when `chunks` is a sequence), rendered by `render_many`.
        With two lanes, one group's Python work (sampling, scene assembly, labels) runs while the other's compiled
        kernels (which release the GIL) do, so a process keeps two cores busy; give the kernels one thread each
        (`kernels.threads.set_threads(1)`). A chunk depends only on its index: lanes and groups change no byte."""
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        per_group = max(1, self.spec.batch_size // self.spec.config.chunk_size)
        if isinstance(chunks, Sequence):  # a short run's chunks spread over the lanes rather than one group
            per_group = max(1, min(per_group, -(-len(chunks) // max(1, lanes))))
        todo = iter(chunks)

        def next_group() -> list[int]:
            return list(itertools.islice(todo, per_group))

        with (
            ThreadPoolExecutor(max_workers=max(1, lanes), thread_name_prefix="domrand-render") as renderers,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="domrand-write") as writer,
        ):
            rendering = deque()
            for _ in range(max(1, lanes)):
                if group := next_group():
                    rendering.append(renderers.submit(self.render_many, group))
            pending = None
            while rendering:
                rendered = rendering.popleft().result()
                if group := next_group():
                    rendering.append(renderers.submit(self.render_many, group))
                for chunk in rendered:
                    if pending is not None:
                        yield pending.result()
                    pending = writer.submit(self.write, chunk)
            if pending is not None:
                yield pending.result()


def cat_params(drawn: Sequence[dict[str, Params]]) -> dict[str, Params]:
    """Several chunks' parameters (each `Pipeline.sample`'s, of the same shapes) as one batch, in order."""
    return {name: type(p).cat([d[name] for d in drawn]) for name, p in drawn[0].items()}


def split_chunks(
    ks: Sequence[int],
    chunk_size: int,
    drawn: Sequence[dict[str, Params]],
    rgb: np.ndarray,
    depth: np.ndarray,
    instance: np.ndarray,
    labels: dict[str, np.ndarray],
    names: tuple[str, ...],
    object_classes: tuple[str, ...] | None = None,
) -> list[Chunk]:
    """Chunks `ks` (each of `chunk_size` images but maybe the last, drawn as `drawn`) out of their images rendered
    together (`cat_params`): rgb (n, H, W, 3) uint8, depth (n, H, W) float32, instance (n, H, W) int16 and the
    "label.<name>" arrays, n the chunks' images in order. The chunks' arrays are views of these."""
    chunks, first = [], 0
    for k, params in zip(ks, drawn):
        part = slice(first, first + next(iter(params.values())).batch_size)
        first = part.stop
        arrays = {name: a[part] for name, a in labels.items()} | params_arrays(params)
        chunks.append(Chunk(k, k * chunk_size, rgb[part], depth[part], instance[part], arrays, names, object_classes))
    return chunks


def _same_shapes(a: dict[str, Params], b: dict[str, Params]) -> bool:
    """Whether two chunks' parameters can be concatenated: the same randomizers, fields and per-image shapes."""
    if a.keys() != b.keys():
        return False
    for name, p in a.items():
        ta, tb = p.tensors(), b[name].tensors()
        if type(p) is not type(b[name]) or any(
            t.shape[1:] != tb[f].shape[1:] or t.dtype != tb[f].dtype for f, t in ta.items()
        ):
            return False
    return True


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    """np.concatenate without a copy for one part."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


#: Chunks a process renders at once (`ChunkRunner.pipelined`), each lane's kernels on its share of the cores: one
#: chunk's Python work overlaps the other's kernels. On 2 cores, 8,192 images: 17.8 -> 16.0 s wall, 1.64 -> 1.85
#: cores busy (`/usr/bin/time domrand generate --num 8192`, alternated with one lane).
RENDER_LANES = 2


def run_pipelined(runner: ChunkRunner, todo: Sequence[int], max_lanes: int = RENDER_LANES) -> Iterator[int]:
    """Image counts of chunks `todo` rendered and written by `runner` in this process, in order: `max_lanes`
    lanes where the process has as many kernel threads (its share of the cores: its own, or a pool worker's), each
    chunk written while later ones render (`ChunkRunner.pipelined`). The kernels' thread count is put back when it
    ends."""
    from domrand.kernels.threads import get_threads, set_threads

    kernel_threads = get_threads()
    lanes = max_lanes if kernel_threads >= max_lanes else 1
    try:
        set_threads(kernel_threads // lanes)  # the lanes share the process's cores
        yield from runner.pipelined(todo, lanes)
    finally:
        set_threads(kernel_threads)


class GroupRunner:
    """A pool worker's job: a group of consecutive chunks, rendered and written as one process renders them alone
    (`run_pipelined`: lanes, render batches spanning chunks, writes overlapping renders); returns their image
    counts. Chunk by chunk, a 2-core worker wrote 4,096 images in 6.2 s against 4.75 s pipelined."""

    def __init__(self, spec: RunSpec) -> None:
        self.runner = ChunkRunner(spec)

    def __call__(self, chunks: list[int]) -> list[int]:
        return list(run_pipelined(self.runner, chunks))


def chunks_per_task(spec: RunSpec, lanes: int) -> int:
    """Chunks that keep a worker's `lanes` busy for a while: two render batches (`batch_size // chunk_size`
    chunks, at least one) a lane, so that its lanes overlap for a few rounds before the run ends."""
    return 2 * max(1, lanes) * max(1, spec.batch_size // spec.config.chunk_size)


def worker_groups(todo: Sequence[int], group: int, procs: int) -> list[list[int]]:
    """`todo` cut into runs of consecutive chunks for `procs` pool workers: `group` chunks each (what keeps a
    worker's lanes busy), fewer where that would leave a worker without work.

    Example:
        >>> worker_groups(list(range(10)), 4, 2)
        [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
        >>> worker_groups(list(range(6)), 8, 3)
        [[0, 1], [2, 3], [4, 5]]
    """
    size = max(1, min(group, -(-len(todo) // max(1, procs))))
    return [list(todo[i : i + size]) for i in range(0, len(todo), size)]
