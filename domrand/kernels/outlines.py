"""The compiled twin of `io.polygons.outlines`: a mask's outlines on the pixel-corner lattice.

The same rules as the Python reference, in the same order, so both give the same loops point for point (tested):
boundary edges run with the foreground on their right (y down); a loop starts at the smallest remaining corner
(x first, then y); where two regions touch at a corner, the walk turns right; corners where the outline runs
straight on are dropped.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from domrand.kernels import cache

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)


@njit(cache=True, nogil=True)
def outlines(mask):
    """Outlines of mask (H, W) bool: (points (N, 2) int64 corners x, y, starts (L + 1,) int64): loop l is
    points[starts[l]:starts[l + 1]]."""
    h, w = mask.shape
    n_c = (h + 1) * (w + 1)
    out0 = np.full(n_c, -1, np.int64)  # up to two edges leave a corner (id y * (w + 1) + x)
    out1 = np.full(n_c, -1, np.int64)
    n_edges = 0
    for side in range(4):  # the reference's order: side by side, then pixels in rows
        for y in range(h):
            for x in range(w):
                if not mask[y, x]:
                    continue
                if side == 0:
                    open_, sx, sy, ex, ey = y == 0 or not mask[y - 1, x], x, y, x + 1, y
                elif side == 1:
                    open_, sx, sy, ex, ey = x == w - 1 or not mask[y, x + 1], x + 1, y, x + 1, y + 1
                elif side == 2:
                    open_, sx, sy, ex, ey = y == h - 1 or not mask[y + 1, x], x + 1, y + 1, x, y + 1
                else:
                    open_, sx, sy, ex, ey = x == 0 or not mask[y, x - 1], x, y + 1, x, y
                if open_:
                    s, e = sy * (w + 1) + sx, ey * (w + 1) + ex
                    if out0[s] < 0:
                        out0[s] = e
                    else:
                        out1[s] = e
                    n_edges += 1
    pts = np.empty((n_edges, 2), np.int64)
    starts = np.zeros(n_edges + 1, np.int64)
    n_pts, n_loops = 0, 0
    raw = np.empty((n_edges, 2), np.int64)
    for sx in range(w + 1):  # loop starts: the smallest remaining corner, x first
        for sy in range(h + 1):
            start = sy * (w + 1) + sx
            while out0[start] >= 0:
                n_raw, here, din_x, din_y = 0, start, 0, 0
                first = True
                while True:
                    hx, hy = here % (w + 1), here // (w + 1)
                    raw[n_raw, 0], raw[n_raw, 1] = hx, hy
                    n_raw += 1
                    e0, e1 = out0[here], out1[here]
                    nxt = e0
                    if e1 >= 0 and not first:  # two regions touch: keep turning right
                        c0 = din_x * (e0 // (w + 1) - hy) - din_y * (e0 % (w + 1) - hx)
                        c1 = din_x * (e1 // (w + 1) - hy) - din_y * (e1 % (w + 1) - hx)
                        if c1 > c0:
                            nxt = e1
                    if nxt == e0:
                        out0[here], out1[here] = e1, -1
                    else:
                        out1[here] = -1
                    din_x, din_y = nxt % (w + 1) - hx, nxt // (w + 1) - hy
                    here = nxt
                    first = False
                    if here == start:
                        break
                for i in range(n_raw):  # drop corners where the outline runs straight on
                    px, py = raw[(i - 1) % n_raw, 0], raw[(i - 1) % n_raw, 1]
                    qx, qy = raw[(i + 1) % n_raw, 0], raw[(i + 1) % n_raw, 1]
                    cx, cy = raw[i, 0], raw[i, 1]
                    if (cx - px) * (qy - cy) - (cy - py) * (qx - cx) != 0:
                        pts[n_pts, 0], pts[n_pts, 1] = cx, cy
                        n_pts += 1
                n_loops += 1
                starts[n_loops] = n_pts
    return pts[:n_pts], starts[: n_loops + 1]


cache.leave()
