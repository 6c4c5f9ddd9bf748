"""`raster_scene` tests each row between bounds computed from the edges (`_enter`, `_leave`): it must own exactly
the pixels the fill rule owns over the whole bounding box, for slivers, near-horizontal edges, huge coordinates
and tiny triangles alike."""

from __future__ import annotations

import numpy as np

from domrand.kernels.raster import raster_scene

F = np.float32


def owns(w: np.float32, dx: np.float32, dy: np.float32) -> bool:
    return bool(w > 0 or (w == 0 and (dy < 0 or (dy == 0 and dx > 0))))


def brute_force(tri: np.ndarray, h: int, w: int) -> np.ndarray:
    """(h, w) bool: the pixels whose centres the top-left fill rule gives the triangle, tested everywhere, in
    the kernel's float32 expressions."""
    (x0, y0), (x1, y1), (x2, y2) = tri[:, :2].astype(F)
    dx12, dy12, dx20, dy20, dx01, dy01 = x2 - x1, y2 - y1, x0 - x2, y0 - y2, x1 - x0, y1 - y0
    out = np.zeros((h, w), bool)
    for py in range(h):
        fy = F(py)
        a0, a1, a2 = dx12 * (fy - y1), dx20 * (fy - y2), dx01 * (fy - y0)
        for px in range(w):
            fx = F(px)
            w0, w1, w2 = a0 - dy12 * (fx - x1), a1 - dy20 * (fx - x2), a2 - dy01 * (fx - x0)
            out[py, px] = owns(w0, dx12, dy12) and owns(w1, dx20, dy20) and owns(w2, dx01, dy01)
    return out


def triangles(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """(n, 3, 4) screen triangles (x, y, 1/z = 1, z = 1), turned to the kernel's orientation: ordinary ones,
    slivers, near-horizontal and near-vertical edges, corners far outside the image, pixel-sized ones."""
    out = np.zeros((n, 3, 4), F)
    for t in range(n):
        kind = t % 5
        c = rng.uniform(-4, size + 4, (3, 2))
        if kind == 1:  # sliver: the third corner near the line of the first two
            c[2] = c[0] + (c[1] - c[0]) * rng.uniform(0, 1) + rng.normal(0, 0.05, 2)
        elif kind == 2:  # an edge within 1e-4 px of horizontal (or vertical)
            axis = int(rng.integers(2))
            c[1, axis] = c[0, axis] + rng.normal(0, 1e-4)
        elif kind == 3:  # corners far outside the image
            c[int(rng.integers(3))] = rng.uniform(-1e6, 1e6, 2)
        elif kind == 4:  # about a pixel
            c = c[0] + rng.uniform(-1, 1, (3, 2))
        area = (c[1, 0] - c[0, 0]) * (c[2, 1] - c[0, 1]) - (c[1, 1] - c[0, 1]) * (c[2, 0] - c[0, 0])
        if area < 0:  # the kernel gets triangles of positive area (`frontend._emit`)
            c[[1, 2]] = c[[2, 1]]
        out[t, :, :2], out[t, :, 2], out[t, :, 3] = c, 1, 1
    return out


def test_row_runs_own_exactly_the_fill_rules_pixels():
    size = 24
    tris = triangles(np.random.default_rng(0), 400, size)
    covered = 0
    for t in range(tris.shape[0]):
        zbuf, tbuf = np.full((size, size), np.inf, F), np.full((size, size), -1, np.int32)
        raster_scene(tris[t : t + 1], np.ones(1, bool), zbuf, tbuf)
        expected = brute_force(tris[t], size, size)
        assert np.array_equal(tbuf == 0, expected), t
        covered += int(expected.sum())
    assert covered > 10_000  # the triangles cover pixels: the comparison is not of empty canvases
