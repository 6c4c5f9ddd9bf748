"""The native format: one shard per chunk, raw arrays plus a JSON index, read without decoding.

    DIR/native/000007.bin    rgb (n, H, W, 3) uint8 | depth (n, H, W) float32 metres | instance (n, H, W) int16
    DIR/native/000007.json   {"chunk", "first", "count", "arrays": {name: {offset, shape, dtype}}, "records": [...]}

Example:
    >>> ds = NativeDataset("out/")                                 # doctest: +SKIP
    >>> item = ds[0]; item["rgb"].shape, item["label"]["target_position"]  # doctest: +SKIP
"""

from __future__ import annotations

import functools
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from domrand.io.chunk import Chunk, Model, params_row
from domrand.io.files import dumpb

ARRAYS = ("rgb", "depth", "instance")


def link_first_images(data: str | Path, out: str | Path, n: int) -> Path:
    """A native dataset at `out` holding the first n images of `data`, whole chunks hard-linked (no copy).

    Raises:
        ValueError: n is not a whole number of `data`'s chunks.

    Returns:
        `data` itself when n covers it, else `out` (left as it is when it already holds a manifest).
    """
    data, out = Path(data), Path(out)
    manifest = json.loads((data / "manifest.json").read_text())
    c = manifest["chunk_size"]
    if n >= manifest["num_images"]:
        return data
    if n % c:
        raise ValueError(f"subset sizes must be whole chunks of {c}, got {n}")
    if (out / "manifest.json").is_file():
        return out
    (out / "native").mkdir(parents=True, exist_ok=True)
    for k in range(n // c):
        for ext in (".bin", ".json"):
            dst = out / "native" / f"{k:06d}{ext}"
            if not dst.exists():
                dst.hardlink_to(data / "native" / f"{k:06d}{ext}")
    (out / "manifest.json").write_text(json.dumps({**manifest, "num_images": n, "num_chunks": n // c}, indent=2))
    return out


class NativeWriter:
    """Writes each chunk as one raw shard (images, labels, parameters) and its index."""

    name = "native"

    def __init__(self, store: Any, manifest: dict[str, Any], models: tuple[Model, ...] = ()) -> None:
        self.store = store

    def write_chunk(self, chunk: Chunk) -> None:
        arrays = {
            "rgb": chunk.rgb,
            "depth": chunk.depth,
            "instance": chunk.instance,
            **dict(sorted(chunk.arrays.items())),
        }
        offset, meta, blobs = 0, {}, []
        for name, arr in arrays.items():
            a = np.ascontiguousarray(arr)
            if a.dtype == np.bool_:
                a = a.astype(np.uint8)
                meta[name] = {"offset": offset, "shape": list(a.shape), "dtype": "bool"}
            else:
                meta[name] = {"offset": offset, "shape": list(a.shape), "dtype": _dtype_name(a.dtype)}
            blobs.append(a.reshape(-1).view(np.uint8))
            offset += a.nbytes
        self.store.write(f"native/{chunk.index:06d}.bin", [b.data for b in blobs], sync=False)
        index = {"chunk": chunk.index, "first": chunk.first, "count": chunk.count, "arrays": meta}
        self.store.write(f"native/{chunk.index:06d}.json", dumpb(index), sync=False)

    def finalize(self, num_chunks: int) -> None:
        pass


@functools.cache
def _dtype_name(dtype: np.dtype) -> str:
    """str(dtype), once per dtype (numpy's takes 10 us: a chunk stores some sixty arrays)."""
    return str(dtype)


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """`DataLoader` collate function for `NativeDataset` items: the arrays stacked into (B, ...) tensors, "index"
    a (B,) tensor, "label" a list of the B records (they differ in length, so the default collate fails).

    Example:
        >>> import torch
        >>> batch = collate([{"rgb": torch.zeros(2, 2, 3), "label": {"a": 1}, "index": 0}] * 3)
        >>> tuple(batch["rgb"].shape), len(batch["label"]), batch["index"].tolist()
        ((3, 2, 2, 3), 3, [0, 0, 0])
    """
    out: dict[str, Any] = {k: torch.stack([it[k] for it in items]) for k in items[0] if k not in ("label", "index")}
    out["label"] = [it["label"] for it in items]
    out["index"] = torch.tensor([it["index"] for it in items])
    return out


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
        """Array `name` of item i (an image, "label.<name>" or "params.<randomizer>.<field>") as a
        read-only view into the shard."""
        k, pos = self.locate(i)
        index, data = self._chunk(k)
        if name not in index["arrays"]:
            raise KeyError(f"no array {name!r}; the shard has {sorted(index['arrays'])}")
        meta = index["arrays"][name]
        shape = meta["shape"]
        dtype = np.dtype(np.uint8 if meta["dtype"] == "bool" else meta["dtype"])
        per = int(np.prod(shape[1:])) * dtype.itemsize
        start = meta["offset"] + pos * per
        out = data[start : start + per].view(dtype).reshape(shape[1:])
        return out.astype(bool) if meta["dtype"] == "bool" else out

    def names(self, i: int) -> list[str]:
        """Names of every array stored for item i."""
        return sorted(self._chunk(self.locate(i)[0])[0]["arrays"])

    def label(self, i: int) -> dict[str, Any]:
        """The JSON-style record of item i (as in labels.jsonl), rebuilt from the stored arrays."""
        from domrand.labels import record_from

        keys = self.names(i)
        labels = {k[6:]: self.array(i, k)[None] for k in keys if k.startswith("label.")}
        params = {k: self.array(i, k)[None] for k in keys if k.startswith("params.")}
        size = (int(self.manifest["image_size"][0]), int(self.manifest["image_size"][1]))
        c = int(self.manifest["chunk_size"])
        j = i % len(self)
        rec = record_from(labels, 0, self.manifest["meshes"], size, self.manifest.get("object_classes"))
        return {"index": j, "chunk": j // c, "index_in_chunk": j % c, **rec, "params": params_row(params, 0)}

    def __getitem__(self, i: int) -> dict[str, Any]:
        item: dict[str, Any] = {name: torch.from_numpy(np.array(self.array(i, name))) for name in self.fields}
        item["label"] = self.label(i)
        item["index"] = i % len(self)
        return item
