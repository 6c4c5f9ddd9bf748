"""The native format: one shard per chunk, raw arrays plus a JSON index, read without decoding.

    DIR/native/000007.bin    rgb (n, H, W, 3) uint8 | depth (n, H, W) float32 metres | instance (n, H, W) int16
    DIR/native/000007.json   {"chunk", "first", "count", "arrays": {name: {offset, shape, dtype}}, "records": [...]}

Example:
    >>> ds = NativeDataset("out/")                                 # doctest: +SKIP
    >>> item = ds[0]; item["rgb"].shape, item["label"]["target_position"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from domrand.io.files import dumps, write_bytes

ARRAYS = ("rgb", "depth", "instance")


@dataclass
class Chunk:
    """One chunk's images and records, ready for the writers.

    Attributes:
        index: chunk number k. first: global index of its first image.
        rgb: (n, H, W, 3) uint8. depth: (n, H, W) float32 metres (0: no surface).
        instance: (n, H, W) int16 slot per pixel, -1 for background.
        records: per image, the label record plus "index", "chunk", "index_in_chunk" and "params".
        labels: the `Labels` of the chunk (tensors), for writers that need more than the records.
    """

    index: int
    first: int
    rgb: np.ndarray
    depth: np.ndarray
    instance: np.ndarray
    records: list[dict[str, Any]]
    labels: Any = None

    @property
    def count(self) -> int:
        return int(self.rgb.shape[0])


class NativeWriter:
    """Writes each chunk as a raw shard and its index (see module docstring)."""

    name = "native"

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = root

    def paths(self, k: int) -> tuple[Path, Path]:
        d = self.root / "native"
        return d / f"{k:06d}.bin", d / f"{k:06d}.json"

    def write_chunk(self, chunk: Chunk) -> None:
        arrays = {"rgb": chunk.rgb, "depth": chunk.depth, "instance": chunk.instance}
        offset, meta, blobs = 0, {}, []
        for name in ARRAYS:
            a = np.ascontiguousarray(arrays[name])
            meta[name] = {"offset": offset, "shape": list(a.shape), "dtype": str(a.dtype)}
            blobs.append(a.reshape(-1).view(np.uint8))
            offset += a.nbytes
        bin_path, json_path = self.paths(chunk.index)
        write_bytes(bin_path, np.concatenate(blobs).data)
        index = {
            "chunk": chunk.index,
            "first": chunk.first,
            "count": chunk.count,
            "arrays": meta,
            "records": chunk.records,
        }
        write_bytes(json_path, dumps(index).encode())

    def finalize(self, num_chunks: int) -> None:
        pass


class NativeDataset(torch.utils.data.Dataset):
    """A native-format dataset as a torch `Dataset`: memory-mapped arrays, no decoding.

    Each item is a dict: "rgb" (H, W, 3) uint8, "depth" (H, W) float32 metres, "instance" (H, W)
    int16, "label" (the JSON record: target pose, camera, objects, parameters) and "index".

    Args:
        root: dataset folder (holding manifest.json and native/).
        fields: which arrays to load.
        max_open: memory maps kept open at once.
    """

    def __init__(self, root: str | Path, fields: tuple[str, ...] = ARRAYS, max_open: int = 32) -> None:
        self.root = Path(root)
        unknown = set(fields) - set(ARRAYS)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}; choose from {list(ARRAYS)}")
        self.fields = tuple(fields)
        manifest = self.root / "manifest.json"
        if not manifest.is_file():
            raise ValueError(f"{str(self.root)!r} is not a domrand dataset (no manifest.json)")
        self.manifest = json.loads(manifest.read_text())
        if "native" not in self.manifest.get("formats", []):
            raise ValueError(
                f"dataset {str(self.root)!r} was written without the native format (formats: {self.manifest.get('formats')})"
            )
        self._chunks = sorted(int(p.stem) for p in (self.root / "native").glob("*.json"))
        if not self._chunks:
            raise ValueError(f"dataset {str(self.root)!r} holds no finished chunks")
        c = int(self.manifest["chunk_size"])
        total = int(self.manifest["num_images"])
        self._counts = [min(c, total - k * c) for k in self._chunks]
        self._starts = np.cumsum([0, *self._counts])
        self.max_open = max_open
        self._maps: OrderedDict[int, tuple[dict[str, Any], np.memmap]] = OrderedDict()

    def __len__(self) -> int:
        return int(self._starts[-1])

    def __getstate__(self) -> dict[str, Any]:  # DataLoader workers open their own maps
        state = dict(self.__dict__)
        state["_maps"] = OrderedDict()
        return state

    def _chunk(self, k: int) -> tuple[dict[str, Any], np.memmap]:
        if k in self._maps:
            self._maps.move_to_end(k)
            return self._maps[k]
        index = json.loads((self.root / "native" / f"{k:06d}.json").read_text())
        data = np.memmap(self.root / "native" / f"{k:06d}.bin", dtype=np.uint8, mode="r")
        self._maps[k] = (index, data)
        if len(self._maps) > self.max_open:
            self._maps.popitem(last=False)
        return index, data

    def locate(self, i: int) -> tuple[int, int]:
        """(chunk, position in chunk) of item i."""
        if not -len(self) <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} images")
        i = i % len(self)
        j = int(np.searchsorted(self._starts, i, side="right")) - 1
        return self._chunks[j], i - int(self._starts[j])

    def array(self, i: int, name: str) -> np.ndarray:
        """Array `name` of item i as a read-only view into the shard."""
        k, pos = self.locate(i)
        index, data = self._chunk(k)
        meta = index["arrays"][name]
        shape = meta["shape"]
        per = int(np.prod(shape[1:])) * np.dtype(meta["dtype"]).itemsize
        start = meta["offset"] + pos * per
        return data[start : start + per].view(meta["dtype"]).reshape(shape[1:])

    def label(self, i: int) -> dict[str, Any]:
        k, pos = self.locate(i)
        return self._chunk(k)[0]["records"][pos]

    def __getitem__(self, i: int) -> dict[str, Any]:
        item: dict[str, Any] = {name: torch.from_numpy(np.array(self.array(i, name))) for name in self.fields}
        item["label"] = self.label(i)
        item["index"] = i % len(self)
        return item
