"""Mask outlines as polygons on the pixel-corner lattice (exact: a polygon's interior holds exactly the
mask's pixel centres), for the formats that want polygons (COCO with `iscrowd: 0`, YOLO segmentation).

Coordinates are pixel edges: pixel (x, y) spans [x, x + 1) x [y, y + 1), as COCO and YOLO read them. Outer
outlines run clockwise on screen (y down), holes the other way round.

Example:
    >>> import numpy as np
    >>> m = np.zeros((4, 5), bool); m[1:3, 1:4] = True
    >>> [loop.tolist() for loop in outlines(m)]
    [[[1, 1], [4, 1], [4, 3], [1, 3]]]
"""

from __future__ import annotations

import numpy as np

# Directed unit edges between pixel corners with the foreground on the walker's right (y down), one per
# kind of boundary side: (dy, dx) of the background neighbour, start corner and end corner offsets (x, y).
_SIDES = (
    ((-1, 0), (0, 0), (1, 0)),  # background above: along the top, left to right
    ((0, 1), (1, 0), (1, 1)),  # background right: down the right side
    ((1, 0), (1, 1), (0, 1)),  # background below: along the bottom, right to left
    ((0, -1), (0, 1), (0, 0)),  # background left: up the left side
)


def _edges(mask: np.ndarray) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """start corner -> end corners of every boundary edge of `mask` (H, W) bool."""
    p = np.pad(mask, 1)
    out: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for (dy, dx), (sx, sy), (ex, ey) in _SIDES:
        nb = p[1 + dy : p.shape[0] - 1 + dy, 1 + dx : p.shape[1] - 1 + dx]
        ys, xs = np.nonzero(mask & ~nb)
        for x, y in zip(xs.tolist(), ys.tolist()):
            out.setdefault((x + sx, y + sy), []).append((x + ex, y + ey))
    return out


def _turn(d_in: tuple[int, int], d_out: tuple[int, int]) -> int:
    """Cross product sign: > 0 a right turn on screen (y down), < 0 left, 0 straight."""
    return d_in[0] * d_out[1] - d_in[1] * d_out[0]


def outlines(mask: np.ndarray) -> list[np.ndarray]:
    """Every closed outline of `mask` (H, W) bool as an (N, 2) int64 array of corners (x, y), collinear
    corners dropped; outer outlines have positive shoelace area, holes negative (the compiled
    `kernels.outlines`; `outlines_reference` is the same in Python)."""
    from domrand.kernels.outlines import outlines as kernel

    pts, starts = kernel(np.ascontiguousarray(mask, dtype=np.bool_))
    return [pts[starts[i] : starts[i + 1]] for i in range(len(starts) - 1)]


def outlines_reference(mask: np.ndarray) -> list[np.ndarray]:
    """`outlines` in plain Python: the reference the compiled kernel is tested against."""
    edges = _edges(np.asarray(mask, dtype=bool))
    loops = []
    while edges:
        start = min(edges)
        loop, here, d_in = [start], start, None
        while True:
            ends = edges[here]
            if len(ends) > 1 and d_in is not None:  # two regions touch at a corner: keep turning right
                ends.sort(key=lambda e: -_turn(d_in, (e[0] - here[0], e[1] - here[1])))
            nxt = ends.pop(0)
            if not ends:
                del edges[here]
            d_in = (nxt[0] - here[0], nxt[1] - here[1])
            here = nxt
            if here == start:
                break
            loop.append(here)
        pts = np.array(loop, dtype=np.int64)
        prev, nxt_ = np.roll(pts, 1, 0), np.roll(pts, -1, 0)
        turn = (pts[:, 0] - prev[:, 0]) * (nxt_[:, 1] - pts[:, 1]) - (pts[:, 1] - prev[:, 1]) * (nxt_[:, 0] - pts[:, 0])
        loops.append(pts[turn != 0])
    return loops


def signed_area(loop: np.ndarray) -> float:
    """Shoelace area of an (N, 2) loop: positive for outer outlines, negative for holes."""
    x, y = loop[:, 0].astype(np.float64), loop[:, 1].astype(np.float64)
    if len(x) == 0:
        return 0.0
    return 0.5 * float(x[:-1] @ y[1:] - x[1:] @ y[:-1] + x[-1] * y[0] - x[0] * y[-1])


def coco_polygons(mask: np.ndarray) -> list[list[float]]:
    """COCO `segmentation` polygons ([x0, y0, x1, y1, ...] per outer outline). Holes cannot be written as
    polygons (COCO fills every polygon), so they are filled: use RLE for exact masks with holes."""
    return [loop.reshape(-1).astype(float).tolist() for loop in outlines(mask) if signed_area(loop) > 0]


def single_polygon(mask: np.ndarray) -> np.ndarray:
    """One (N, 2) float polygon for the whole mask (YOLO allows one per object): the outer outlines joined
    by zero-width bridges at their nearest corners (the way Ultralytics joins multi-part COCO masks).
    Holes are filled, as in `coco_polygons`."""
    return single_polygon_corners(mask).astype(np.float64)


def single_polygon_corners(mask: np.ndarray) -> np.ndarray:
    """`single_polygon` as the (N, 2) int64 pixel corners it is made of (every vertex, bridges included, is a
    corner of the pixel lattice)."""
    found = outlines(mask)
    if len(found) == 1:  # one outline is an outer one (a hole lies inside one): nothing to join or drop
        return found[0]
    areas = [signed_area(lp) for lp in found]
    loops = [found[k] for _, k in sorted((-a, k) for k, a in enumerate(areas) if a > 0)]  # largest first, ties in order
    if not loops:
        return np.zeros((0, 2), np.int64)
    path = [tuple(p) for p in loops[0].tolist()]
    for loop in loops[1:]:
        pts, other = np.array(path, dtype=np.float64), loop.astype(np.float64)
        d = np.linalg.norm(pts[:, None, :] - other[None, :, :], axis=-1)
        i, j = np.unravel_index(int(d.argmin()), d.shape)
        ring = [tuple(p) for p in np.roll(loop, -int(j), 0).tolist()]
        path = path[: i + 1] + ring + [ring[0]] + path[i:]
    return np.array(path, dtype=np.int64)
