"""COCO run-length encoding of binary masks (the compressed string form pycocotools reads).

Example:
    >>> import numpy as np
    >>> m = np.zeros((3, 4), dtype=bool); m[1, 1:3] = True
    >>> encode(m)
    {'size': [3, 4], 'counts': '41202'}
"""

from __future__ import annotations

import numpy as np


def runs(mask: np.ndarray) -> list[int]:
    """Run lengths of a (H, W) bool mask in column-major order, starting with a (maybe empty) run of 0s."""
    flat = np.asarray(mask, dtype=bool).reshape(-1, order="F")
    if flat.size == 0:
        return [0]
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    lengths = np.diff(bounds).tolist()
    return ([0, *lengths]) if flat[0] else lengths


def counts_string(counts: list[int]) -> str:
    """pycocotools' `rleToString`: LEB128-like, deltas against the count two back from the third on."""
    out = []
    for i, c in enumerate(counts):
        x = c - counts[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = x != -1 if ch & 0x10 else x != 0
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
    return "".join(out)


def encode(mask: np.ndarray) -> dict:
    """{"size": [H, W], "counts": str} for a (H, W) bool mask."""
    h, w = mask.shape
    return {"size": [int(h), int(w)], "counts": counts_string(runs(mask))}


def encode_instance(instance: np.ndarray, oid: int, bbox: tuple[float, float, float, float]) -> dict:
    """`encode(instance == oid)` by the compiled kernel (`kernels.rle`): instance (H, W) int16 slot per pixel,
    bbox the object's visible box (x0, y0, x1, y1 pixel edges; outside its columns the mask is empty)."""
    from domrand.kernels.rle import instance_counts

    h, w = instance.shape
    x0, x1 = max(0, int(bbox[0])), min(w, int(np.ceil(bbox[2])))
    out = np.empty(7 * (h * max(0, x1 - x0) + 2), np.uint8)
    n = instance_counts(np.ascontiguousarray(instance, dtype=np.int16), int(oid), x0, max(x0, x1), out)
    return {"size": [int(h), int(w)], "counts": out[:n].tobytes().decode("ascii")}
