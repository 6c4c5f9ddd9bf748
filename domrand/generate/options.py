"""What a `domrand generate` run is asked to do (`GenerateOptions`), what it did (`Summary`), and the chunk grid."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from domrand.io.writers import WRITERS

FORMATS = tuple(WRITERS)


@dataclass(frozen=True)
class GenerateOptions:
    """How to run (none of these change the output's bytes, except `device`, `num`, `seed`, `formats`).

    Attributes:
        out: dataset folder, or an fsspec URL (s3://bucket/prefix) that every worker can reach.
        num: images. seed: root seed.
        formats: any of "native", "jsonl", "coco", "bop", "yolo".
        workers: local processes. batch_size: images rendered at once (a memory knob; None:
            `default_batch_size` of the images' size).
        device: "cpu" or "cuda". resume / overwrite: what to do with a non-empty `out`.
        quiet: log lines instead of a progress bar. backend: "local" or "ray"; address: Ray cluster.
    """

    out: str
    num: int
    seed: int = 0
    formats: tuple[str, ...] = ("native",)
    workers: int = 1
    batch_size: int | None = None
    device: str = "cpu"
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False
    backend: str = "local"
    address: str | None = None
    ray_options: dict[str, Any] = field(default_factory=dict)

    def render_batch(self, size: tuple[int, int]) -> int:
        """Images rendered at once for images of `size` (H, W) pixels: `batch_size`, else its default."""
        return self.batch_size if self.batch_size is not None else default_batch_size(size)

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
        if self.batch_size is not None and not (isinstance(self.batch_size, int) and self.batch_size >= 1):
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
    """Images in chunk k of a `num`-image dataset cut into chunks of `chunk_size`."""
    return min(chunk_size, num - k * chunk_size)


def done_marker(k: int) -> str:
    """The path (relative to the dataset) whose existence marks chunk k done."""
    return f"chunks/{k:06d}.json"


def default_batch_size(size: tuple[int, int]) -> int:
    """`--batch-size`'s default for images of `size` (H, W) pixels: 256 images up to 64 x 64, 128 up to 128 x 128,
    else 64.

    A batch may hold several chunks (`ChunkRunner.render_many`), so small images pay the per-batch Python (scene
    assembly, render set-up, labels) once per 128 or 256 images without a change of byte: 8,192 images on a 2-core
    machine, `domrand generate`, 4 alternated rounds at 128 px, batch 64 / 128 / 256: 10.87 / 10.24 / 10.24 s; 3
    rounds at 64 px, batch 64 / 128 / 256 / 512: 7.08 / 6.57 / 6.27 / 6.45 s (peak memory 0.48 / 0.57 / 0.72 /
    0.96 GB). Larger images keep 64 (measured before with chunks of 128 at 640 x 480: 8 % slower, 40 % more memory).

    Example:
        >>> default_batch_size((128, 128)), default_batch_size((64, 64)), default_batch_size((480, 640))
        (128, 256, 64)
    """
    pixels = int(size[0]) * int(size[1])
    return 256 if pixels <= 64 * 64 else 128 if pixels <= 128 * 128 else 64
