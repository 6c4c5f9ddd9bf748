"""Rasterization in plain torch (the CUDA path, and the CPU reference for the compiled kernel).

Each triangle's screen bounding box is expanded into fragments with prefix sums; each fragment
tests the three edge functions at its pixel centre and proposes a 64-bit key
``(float32 bits of depth) << 32 | triangle index`` to its pixel, and ``scatter_reduce(amin)`` keeps
the nearest (ties go to the lower triangle index, so the result is deterministic). The arithmetic
is written exactly as in `kernels.raster`, so both give the same triangle at every pixel.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.render.frontend import Triangles

_NONE = torch.iinfo(torch.int64).max


@dataclass(frozen=True, eq=False)
class Fragments:
    """Per-pixel visibility.

    Attributes:
        tri: (B, H, W) int32 winning sub-triangle index (see `Triangles`), -1 where nothing is drawn.
        depth: (B, H, W) float32 view depth (Z for perspective views), +inf where nothing is drawn.
        overflow: () bool tensor, True if the fragment buffer was too small (CUDA capacity mode).
        needed: () int64 tensor, fragments the batch needed (to size the buffer on a retry).
    """

    tri: Tensor
    depth: Tensor
    overflow: Tensor
    needed: Tensor


def bounding_boxes(
    screen: Tensor, valid: Tensor, size: tuple[int, int], origin: tuple[int, int] = (0, 0)
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Inclusive pixel bounding boxes (xmin, xmax, ymin, ymax) int64 and fragment counts of each triangle, on
    the (H, W) canvas whose first pixel is (x, y) = (origin[1], origin[0])."""
    h, w = size
    oy, ox = origin
    x, y = screen[..., 0], screen[..., 1]
    big = float(4 * max(h, w))
    lo_x = x.amin(-1).clamp(-big, big).ceil().clamp(min=ox)
    hi_x = x.amax(-1).clamp(-big, big).floor().clamp(max=ox + w - 1)
    lo_y = y.amin(-1).clamp(-big, big).ceil().clamp(min=oy)
    hi_y = y.amax(-1).clamp(-big, big).floor().clamp(max=oy + h - 1)
    xmin, xmax, ymin, ymax = (t.to(torch.int64) for t in (lo_x, hi_x, lo_y, hi_y))
    count = (xmax - xmin + 1).clamp(min=0) * (ymax - ymin + 1).clamp(min=0)
    return xmin, xmax, ymin, ymax, torch.where(valid, count, torch.zeros_like(count))


def edge_weights(v: Tensor, px: Tensor, py: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Edge functions at pixel centres: the unnormalised barycentric weights of vertices 0, 1, 2.

    Args:
        v: (..., 3, 4) screen vertices (x, y, q, zq).
        px, py: (...) float32 pixel-centre coordinates.
    """
    x0, y0, x1, y1, x2, y2 = v[..., 0, 0], v[..., 0, 1], v[..., 1, 0], v[..., 1, 1], v[..., 2, 0], v[..., 2, 1]
    w0 = (x2 - x1) * (py - y1) - (y2 - y1) * (px - x1)
    w1 = (x0 - x2) * (py - y2) - (y0 - y2) * (px - x2)
    w2 = (x1 - x0) * (py - y0) - (y1 - y0) * (px - x0)
    return w0, w1, w2


def _owns(w: Tensor, dx: Tensor, dy: Tensor) -> Tensor:
    """Top-left fill rule: a pixel exactly on an edge belongs to one of the two triangles sharing it."""
    return (w > 0) | ((w == 0) & ((dy < 0) | ((dy == 0) & (dx > 0))))


def coverage_depth(v: Tensor, px: Tensor, py: Tensor) -> tuple[Tensor, Tensor]:
    """Whether pixel centres (px, py) lie inside triangles `v` (..., 3, 4), and their depth there."""
    w0, w1, w2 = edge_weights(v, px, py)
    x, y = v[..., 0], v[..., 1]
    inside = (
        _owns(w0, x[..., 2] - x[..., 1], y[..., 2] - y[..., 1])
        & _owns(w1, x[..., 0] - x[..., 2], y[..., 0] - y[..., 2])
        & _owns(w2, x[..., 1] - x[..., 0], y[..., 1] - y[..., 0])
    )
    q, zq = v[..., 2], v[..., 3]
    depth = (w0 * zq[..., 0] + w1 * zq[..., 1] + w2 * zq[..., 2]) / (w0 * q[..., 0] + w1 * q[..., 1] + w2 * q[..., 2])
    return inside, depth


def rasterize(
    tris: Triangles,
    size: tuple[int, int],
    capacity: int | None = None,
    chunk: int = 1 << 22,
    origin: tuple[int, int] = (0, 0),
) -> Fragments:
    """Nearest triangle and depth at every pixel centre.

    Args:
        tris: (B, T2, ...) screen-space triangles from the front end.
        size: (H, W) pixels.
        origin: (y, x) pixel coordinates of the canvas's first pixel: (0, 0) is the image; a canvas around
            it starts at negative coordinates (silhouettes, `domrand.silhouettes`).
        capacity: fragment buffer size. None sizes it exactly (reads one number back from the
            device: free on the CPU); an int keeps the GPU free of host synchronisation, and
            `Fragments.overflow` reports when it was too small.
        chunk: fragments processed at a time (bounds memory).

    Returns:
        `Fragments`.
    """
    h, w = size
    screen, valid = tris.screen, tris.valid
    b, t2 = valid.shape
    dev = screen.device
    oy, ox = origin
    xmin, xmax, ymin, _, count = bounding_boxes(screen, valid, size, origin)
    count = count.reshape(-1)
    ends = count.cumsum(0)
    needed = ends[-1] if ends.numel() else torch.zeros((), dtype=torch.int64, device=dev)
    n = int(needed) if capacity is None else capacity
    starts = ends - count
    width = (xmax - xmin + 1).reshape(-1)
    flat_screen = screen.reshape(b * t2, 3, 4)
    xmin_f, ymin_f = xmin.reshape(-1), ymin.reshape(-1)
    zbuf = torch.full((b * h * w,), _NONE, dtype=torch.int64, device=dev)
    for lo in range(0, n, chunk):
        frag = torch.arange(lo, min(n, lo + chunk), device=dev)
        owner = torch.searchsorted(ends, frag, right=True).clamp(max=b * t2 - 1)
        local = frag - starts[owner]
        bw = width[owner].clamp(min=1)
        px_i = xmin_f[owner] + local % bw
        py_i = ymin_f[owner] + local // bw
        inside, depth = coverage_depth(flat_screen[owner], px_i.to(torch.float32), py_i.to(torch.float32))
        inside &= (frag < needed) & (depth < float("inf"))  # also drops NaN, as the CPU kernel does
        key = (depth.view(torch.int32).to(torch.int64) << 32) | (owner % t2)
        key = torch.where(inside, key, torch.full_like(key, _NONE))
        pix = (owner // t2) * (h * w) + (py_i - oy).clamp(0, h - 1) * w + (px_i - ox).clamp(0, w - 1)
        zbuf.scatter_reduce_(0, pix, key, "amin")
    hit = zbuf != _NONE
    tri = torch.where(hit, zbuf & 0xFFFFFFFF, torch.full_like(zbuf, -1)).to(torch.int32)
    depth = torch.where(
        hit, (zbuf >> 32).to(torch.int32).view(torch.float32), torch.full(zbuf.shape, float("inf"), device=dev)
    )
    overflow = needed > n
    return Fragments(tri.reshape(b, h, w), depth.reshape(b, h, w), overflow, needed)
