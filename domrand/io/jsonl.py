"""The labelled-folder format of the localization task (`labels.jsonl` + PNG images), writer and reader.

DIR/labels.jsonl        one JSON object a line: {"image": "rgb/000012.png", "target_position": [x, y, z], ...}
DIR/rgb/000012.png      RGB
DIR/depth/000012.png    uint16 depth in millimetres (0: no surface)
DIR/mask/000012.png     instance mask: each pixel holds the id of the object there (its slot, the records'
                        "id"), 255 where no surface (MASK_NONE; uint16 and 65535 for worlds of over 255 slots)
DIR/labels/000000.jsonl the per-chunk pieces that labels.jsonl is assembled from
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from domrand.io.chunk import Chunk, Model
from domrand.io.files import dumpb, for_each_file
from domrand.io.images import encode_png, encode_png_depth, encode_png_masks


def depth_mm(depth: np.ndarray) -> np.ndarray:
    """(..., H, W) float metres -> uint16 millimetres (rounded; clipped to 65.535 m)."""
    return np.clip(np.round(depth * 1000.0), 0, 65535).astype(np.uint16)


MASK_NONE = 255  # the jsonl mask's value where no surface was hit (65535 in uint16 masks)


def id_mask(instance: np.ndarray) -> np.ndarray:
    """(..., H, W) int slot per pixel (-1: none) -> the PNG mask: the id itself, `MASK_NONE` where none.

    A mask value equals the object id that labels.jsonl, COCO and the native format use (`mask == obj["id"]`
    selects the object), so the mask is uint8 with 255 for no surface while ids fit, else uint16 with 65535.
    """
    if instance.max(initial=-1) < MASK_NONE:
        return np.where(instance >= 0, instance, MASK_NONE).astype(np.uint8)
    return np.where(instance >= 0, instance, 65535).astype(np.uint16)


class JsonlWriter:
    """Writes PNG images and per-chunk label lines; `finalize` assembles `labels.jsonl` in order."""

    name = "jsonl"

    def __init__(self, store: Any, manifest: dict[str, Any], models: tuple[Model, ...] = ()) -> None:
        self.store = store

    def write_chunk(self, chunk: Chunk) -> None:
        # the chunk's depth and masks converted in one numpy pass each and every image encoded at once on the kernel
        # threads (per image, the Python calls held the GIL that the renderer's next chunk waits for); masks per
        # image only where some image needs uint16
        if chunk.instance.max(initial=-1) < MASK_NONE:
            masks = encode_png_masks(id_mask(chunk.instance))
        else:
            masks = [encode_png(id_mask(inst)) for inst in chunk.instance]
        pngs = chunk.rgb_pngs()
        depth_pngs = encode_png_depth(depth_mm(chunk.depth))

        def images(i: int) -> None:
            idx = chunk.first + i
            self.store.write(f"rgb/{idx:06d}.png", pngs[i], sync=False)
            self.store.write(f"depth/{idx:06d}.png", depth_pngs[i], sync=False)
            self.store.write(f"mask/{idx:06d}.png", masks[i], sync=False)

        for_each_file(self.store, images, range(chunk.count))
        lines = []
        for i, (rec, params) in enumerate(zip(chunk.records(), chunk.params_json())):
            idx = chunk.first + i
            line = {
                "image": f"rgb/{idx:06d}.png", "depth": f"depth/{idx:06d}.png", "depth_unit_m": 0.001,
                "mask": f"mask/{idx:06d}.png", "target": rec["target_name"], **rec,
            }  # fmt: skip
            # the line with "params" in its sorted place: the keys before it ("image", ...) and after it ("target",
            # ...) dumped apart around the parameters' JSON (`Chunk.params_json`), the bytes `dumpb` of the whole
            # line gives
            before = dumpb({k: v for k, v in line.items() if k < "params"})
            after = dumpb({k: v for k, v in line.items() if k > "params"})
            lines.append(before[:-1] + b',"params":' + params + b"," + after[1:])
        self.store.write(f"labels/{chunk.index:06d}.jsonl", b"\n".join(lines) + b"\n", sync=False)

    def finalize(self, num_chunks: int) -> None:
        """Stream the per-chunk pieces into labels.jsonl, in chunk order (constant memory)."""
        with self.store.stream("labels.jsonl") as out:
            for k in range(num_chunks):
                with self.store.open(f"labels/{k:06d}.jsonl") as f:
                    while block := f.read(1 << 20):
                        out.write(block)


def write_labels_folder(out: str | Path, items: Iterable[tuple[np.ndarray, dict[str, Any]]]) -> int:
    """Write a labelled folder of your own records: `rgb/000000.png`, ... and `labels.jsonl` (written last, so a
    folder with labels.jsonl is complete). Each record gets "image" (its PNG, relative) as its first key.

    Args:
        out: the folder (created).
        items: (rgb (H, W, 3) uint8, record) pairs; a record needs "target_position" to be read back.

    Returns:
        the number of records written.

    Example:
        >>> import numpy as np, tempfile
        >>> d = tempfile.mkdtemp()
        >>> write_labels_folder(d, [(np.zeros((4, 4, 3), np.uint8), {"target_position": [0.0, 0.0, 0.0]})])
        1
        >>> [r["target_position"] for r in read_labels_folder(d)]
        [[0.0, 0.0, 0.0]]
    """
    root = Path(out)
    (root / "rgb").mkdir(parents=True, exist_ok=True)
    lines = []
    for rgb, rec in items:
        name = f"rgb/{len(lines):06d}.png"
        (root / name).write_bytes(encode_png(np.asarray(rgb)))
        lines.append(json.dumps({"image": name, **rec}))
    (root / "labels.jsonl").write_text("\n".join(lines) + "\n")
    return len(lines)


def read_labels_folder(root: str | Path) -> list[dict[str, Any]]:
    """Records of a labelled folder, each with "image" (and "depth" and "mask" where given) resolved to absolute paths.

    Accepts the minimal interchange records ({"image", "target_position"}); unknown keys are kept.

    Raises:
        ValueError: no labels.jsonl, a bad line (named by number), or a missing image file.
    """
    root = Path(root)
    path = root / "labels.jsonl"
    if not path.is_file():
        raise ValueError(f"{str(root)!r} is not a labelled folder: {str(path)!r} does not exist")
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{str(path)!r} line {n} is not valid JSON: {e.msg}") from None
            if not isinstance(rec, dict) or "image" not in rec or "target_position" not in rec:
                raise ValueError(f"{str(path)!r} line {n} needs keys 'image' and 'target_position'")
            pos = rec["target_position"]
            if not (isinstance(pos, list) and len(pos) == 3 and all(isinstance(v, (int, float)) for v in pos)):
                raise ValueError(f"{str(path)!r} line {n}: target_position must be three numbers, got {pos!r}")
            files = {k: (root / rec[k]).resolve() for k in ("image", "depth", "mask") if isinstance(rec.get(k), str)}
            for k, f in files.items():
                if not f.is_file():
                    raise ValueError(f"{str(path)!r} line {n}: {k} {rec[k]!r} does not exist")
            out.append({**rec, **{k: str(f) for k, f in files.items()}})
    if not out:
        raise ValueError(f"{str(path)!r} holds no records")
    return out
