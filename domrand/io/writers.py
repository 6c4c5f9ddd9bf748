"""The output formats by name."""

from __future__ import annotations

from typing import Any, Protocol

from domrand.io.bop import BopWriter
from domrand.io.coco import CocoWriter
from domrand.io.jsonl import JsonlWriter
from domrand.io.native import Chunk, NativeWriter


class Writer(Protocol):
    """Writes one format: each chunk atomically (idempotent), then dataset-wide files at the end."""

    name: str

    def write_chunk(self, chunk: Chunk) -> None: ...

    def finalize(self, num_chunks: int) -> None: ...


WRITERS: dict[str, type] = {"native": NativeWriter, "jsonl": JsonlWriter, "coco": CocoWriter, "bop": BopWriter}


def make_writers(formats: list[str] | tuple[str, ...], store: Any, manifest: dict[str, Any]) -> list[Writer]:
    # jsonl before coco: both need rgb/*.png, and coco reuses what jsonl wrote.
    order = sorted(formats, key=list(WRITERS).index)
    return [WRITERS[f](store, manifest) for f in order]
