"""The output formats by name, and the `Writer` contract they share."""

from __future__ import annotations

from typing import Any, Protocol

from domrand.io.bop import BopWriter
from domrand.io.chunk import Chunk, Model
from domrand.io.coco import CocoWriter
from domrand.io.jsonl import JsonlWriter
from domrand.io.native import NativeWriter
from domrand.io.yolo import YoloWriter


class Writer(Protocol):
    """Writes one format: each chunk atomically (idempotent), then dataset-wide files at the end. A chunk's files
    are written with `sync=False`: the runner makes them durable with one `store.sync()` before the chunk's marker.

    A writer is built from the store, the manifest (plain JSON) and the object models; it reads nothing else.
    """

    name: str

    def write_chunk(self, chunk: Chunk) -> None: ...

    def finalize(self, num_chunks: int) -> None: ...


WRITERS: dict[str, type] = {
    "native": NativeWriter,
    "jsonl": JsonlWriter,
    "coco": CocoWriter,
    "bop": BopWriter,
    "yolo": YoloWriter,
}


def make_writers(
    formats: list[str] | tuple[str, ...], store: Any, manifest: dict[str, Any], models: tuple[Model, ...] = ()
) -> list[Writer]:
    """One writer per format, in the order they must run (jsonl before coco: coco reuses jsonl's rgb/*.png)."""
    order = sorted(formats, key=list(WRITERS).index)
    return [WRITERS[f](store, manifest, models) for f in order]
