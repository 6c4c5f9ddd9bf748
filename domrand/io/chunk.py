"""`Chunk`: one chunk of a dataset as plain arrays, what every writer reads; `Models`: the object models the
labels refer to (the target meshes), as plain arrays, for formats that ship models (BOP).

Nothing here knows the configuration or the randomizers: the generate runner fills these from them.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

_PNG_LOCK = threading.Lock()


@contextlib.contextmanager
def gc_paused(freeze: bool = False) -> Iterator[None]:
    """No cyclic garbage collection inside the block: building a chunk's records makes ~100k lists and floats
    (no cycles), and the collections they set off cost three times the building (0.72 against 0.17 ms an image
    with a generate worker's 260k live objects).

    With `freeze`, what exists at the block's end is frozen (`gc.freeze`: out of the collector's sight for good)
    before the collector is back on: for objects that live as long as the process (start-up's), which the first
    collection after the block would otherwise walk whole."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was:
            gc.enable()


def params_arrays(params: dict[str, Any]) -> dict[str, np.ndarray]:
    """{"params.<randomizer>.<field>": array} of a dict of `Params` batches."""
    return {
        f"params.{name}.{field}": t.detach().cpu().numpy()
        for name, p in params.items()
        for field, t in p.tensors().items()
    }


def params_row(arrays: dict[str, Any], i: int) -> dict[str, dict[str, Any]]:
    """Row i of the params arrays (numpy arrays, or the same as nested lists) as {randomizer: {field: value}}
    (what `Params.from_rows` reads)."""
    return _row(_param_columns(arrays), i)


def _param_columns(arrays: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(randomizer, field, array) of every "params.<randomizer>.<field>" entry, the keys split once."""
    columns = []
    for key, a in arrays.items():
        if key.startswith("params."):
            _, name, field = key.split(".", 2)
            columns.append((name, field, a))
    return columns


def _row(columns: list[tuple[str, str, Any]], i: int) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, field, a in columns:
        row = a[i]
        out.setdefault(name, {})[field] = row.tolist() if isinstance(row, np.ndarray | np.generic) else row
    return out


def _row_json(a: np.ndarray) -> list[bytes]:
    """The JSON of each row a[i] (as `files.dumpb(a[i].tolist())` gives it) from one orjson call for the whole
    array: the text of a list of rows of d - 1 dimensions is cut where d - 1 closing brackets, a comma and d - 1
    opening ones meet, which happens between rows only (inside a row brackets nest d - 1 deep at most). Arrays
    with an empty dimension besides the first have no such marks: a call per row then."""
    from domrand.io.files import dumpb

    n, d = a.shape[0], a.ndim
    if n == 0:
        return []
    if 0 in a.shape[1:] or n == 1:
        return [dumpb(row) for row in a.tolist()]
    text = dumpb(a.tolist())
    if d == 1:
        return text[1:-1].split(b",")
    close, open_ = b"]" * (d - 1), b"[" * (d - 1)
    return [open_ + row + close for row in text[d:-d].split(close + b"," + open_)]


@dataclass
class Chunk:
    """One chunk's images, labels and parameters, ready for the writers.

    Attributes:
        index: chunk number k. first: global index of its first image.
        rgb: (n, H, W, 3) uint8. depth: (n, H, W) float32 metres (0: no surface).
        instance: (n, H, W) int16 slot per pixel, -1 for background.
        arrays: batch-first label arrays ("label.<name>", see `Labels.arrays`) and randomizer
            parameters ("params.<randomizer>.<field>").
        names: mesh names by bank index (classes).
        object_classes: the user's classes in a world of user objects (labels' roles), else None.
    """

    index: int
    first: int
    rgb: np.ndarray
    depth: np.ndarray
    instance: np.ndarray
    arrays: dict[str, np.ndarray]
    names: tuple[str, ...]
    object_classes: tuple[str, ...] | None = None
    _records: list[dict[str, Any]] | None = None
    _png: list[bytes] | None = None

    @property
    def count(self) -> int:
        return int(self.rgb.shape[0])

    def rgb_pngs(self) -> list[bytes]:
        """Every image encoded as PNG, the whole chunk at once (the compiled encoder on the kernel threads), once
        per chunk whichever formats write them. Safe to call from several threads."""
        if self._png is None:
            with _PNG_LOCK:
                if self._png is None:
                    from domrand.io.images import encode_png_rgb

                    self._png = encode_png_rgb(self.rgb)
        return self._png

    def rgb_png(self, i: int) -> bytes:
        """Image i encoded as PNG (`rgb_pngs`)."""
        return self.rgb_pngs()[i]

    def label_arrays(self) -> dict[str, np.ndarray]:
        return {k[6:]: v for k, v in self.arrays.items() if k.startswith("label.")}

    def records(self) -> list[dict[str, Any]]:
        """Per image: the label record plus "index", "chunk" and "index_in_chunk" (built once; the randomizers'
        parameters are `params_rows`, or `params_json` as JSON)."""
        if self._records is None:
            with gc_paused():
                self._records = self._build_records()
        return self._records

    def _build_records(self) -> list[dict[str, Any]]:
        from domrand.labels import record_from_row

        size = self.rgb.shape[1:3]
        rows = {k[6:]: v.tolist() for k, v in self.arrays.items() if k.startswith("label.")}  # one conversion
        return [
            {
                "index": self.first + i,
                "chunk": self.index,
                "index_in_chunk": i,
                **record_from_row({k: v[i] for k, v in rows.items()}, self.names, size, self.object_classes),
            }
            for i in range(self.count)
        ]

    def params_json(self) -> list[bytes]:
        """Per image: its randomizers' parameters as the JSON `files.dumpb(params_rows()[i])` gives, byte for byte
        (sorted keys), made from one conversion and one orjson call per column (`_row_json`) instead of a dict of
        dicts per image (0.064 + part of 0.035 ms an image of the jsonl writer's interpreter time)."""
        from domrand.io.files import dumpb

        by_name: dict[str, dict[str, np.ndarray]] = {}
        for name, field, a in _param_columns(self.arrays):
            by_name.setdefault(name, {})[field] = a
        parts = []  # (b'"name":{', [(b'"field":', [row json, ...]), ...]) in sorted key order
        with gc_paused():
            for name, columns in sorted(by_name.items()):
                fields = [(dumpb(f) + b":", _row_json(columns[f])) for f in sorted(columns)]
                parts.append((dumpb(name) + b":{", fields))
        return [
            b"{"
            + b",".join(head + b",".join(key + rows[i] for key, rows in fields) + b"}" for head, fields in parts)
            + b"}"
            for i in range(self.count)
        ]

    def params_rows(self) -> list[dict[str, dict[str, Any]]]:
        """Per image: the randomizers' parameters, {randomizer: {field: value}} (what `Params.from_rows` reads)."""
        with gc_paused():  # `params_row` of every image, each array converted and each key split once a chunk
            columns = [(name, field, a.tolist()) for name, field, a in _param_columns(self.arrays)]
            return [_row(columns, i) for i in range(self.count)]


@dataclass(frozen=True, eq=False)
class Model:
    """One object model: what a format that ships models writes.

    Attributes:
        name: the mesh's class name. index: its mesh bank index (labels' `mesh`).
        vertices, normals: (V, 3) float32 metres / unit vectors, only the vertices faces use, at `scale`.
        faces: (F, 3) int64 indices into `vertices`.
        scale: the uniform scale of the banked mesh this model is drawn at (1 for targets; a distractor
            size otherwise): the instances whose labelled scale equals it are this model.
    """

    name: str
    index: int
    vertices: np.ndarray
    normals: np.ndarray
    faces: np.ndarray
    scale: float = 1.0


def models_from_bank(bank: Any, meshes: range, scales: Any = (1.0,)) -> tuple[Model, ...]:
    """The banked meshes `meshes` (a `MeshBank`'s padded rows) as compact `Model`s, one per mesh and scale.

    Args:
        scales: uniform scales (float32 values, as the placement draws them); vertices are multiplied in
            float32, as the renderer does.
    """
    out = []
    for m in meshes:
        nf = int(bank.num_faces[m])
        faces = bank.faces[m, :nf].numpy()
        used = np.unique(faces)
        remap = np.full(bank.vertices.shape[1], -1, dtype=np.int64)
        remap[used] = np.arange(used.size)
        verts = bank.vertices[m, used].numpy()
        for s in scales:
            scaled = verts * np.float32(s) if float(s) != 1.0 else verts
            out.append(
                Model(bank.names[m], m, scaled, bank.normals[m, used].numpy(), remap[faces], float(np.float32(s)))
            )
    return tuple(out)
