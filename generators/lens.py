"""Lens distortion, OpenCV's model (`k1, k2, p1, p2[, k3[, k4, k5, k6]]`): the pure formulas (normalized
coordinates in, normalized coordinates out) and the check that a lens maps an image's field one to one.

Example:
    >>> import torch
    >>> d = torch.tensor([-0.2, 0.05, 0.001, -0.001, 0.0, 0.0, 0.0, 0.0])
    >>> xd, yd = distort(torch.tensor(0.3), torch.tensor(-0.2), d)
    >>> x, y = undistort(xd, yd, d)
    >>> round(float(x), 6), round(float(y), 6)
    (0.3, -0.2)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

#: Number of distortion terms a camera may give (OpenCV accepts these lengths); stored padded to 8.
TERMS = (4, 5, 8)
#: The canvas may be at most this many times the image in each direction (a stronger lens is refused).
MAX_CANVAS = 3.0


def padded(coefficients: tuple[float, ...] | list[float]) -> list[float]:
    """Coefficients k1, k2, p1, p2[, k3[, k4, k5, k6]] as the 8 OpenCV terms (missing ones 0)."""
    return [float(c) for c in coefficients] + [0.0] * (8 - len(coefficients))


def distort(x: Tensor, y: Tensor, d: Tensor) -> tuple[Tensor, Tensor]:
    """Normalized pinhole coordinates (x = X / Z, y = Y / Z) -> distorted ones. `d` (..., 8) broadcasts."""
    k1, k2, p1, p2, k3, k4, k5, k6 = d.unbind(-1)
    r2 = x * x + y * y
    radial = (1 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1 + r2 * (k4 + r2 * (k5 + r2 * k6)))
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return xd, yd


def undistort(xd: Tensor, yd: Tensor, d: Tensor, iterations: int = 40) -> tuple[Tensor, Tensor]:
    """Distorted normalized coordinates -> pinhole ones (Newton's method on `distort`, double precision)."""
    dd = d.double()
    x, y = xd.double().clone(), yd.double().clone()
    xd64, yd64 = xd.double(), yd.double()
    eps = 1e-7
    for _ in range(iterations):
        fx, fy = distort(x, y, dd)
        ex, ey = fx - xd64, fy - yd64
        ax, ay = distort(x + eps, y, dd)
        bx, by = distort(x, y + eps, dd)
        j11, j21, j12, j22 = (ax - fx) / eps, (ay - fy) / eps, (bx - fx) / eps, (by - fy) / eps
        det = j11 * j22 - j12 * j21
        det = torch.where(det.abs() < 1e-12, torch.full_like(det, 1e-12), det)
        x = x - (j22 * ex - j12 * ey) / det
        y = y - (-j21 * ex + j11 * ey) / det
    return x.to(xd.dtype), y.to(yd.dtype)


def project(cam_points: Tensor, k: Tensor, d: Tensor) -> tuple[Tensor, Tensor]:
    """Camera-frame points (..., 3), z > 0, -> distorted pixel coordinates (u, v), intrinsics k and terms d
    broadcast against the points' leading shape (as `cv2.projectPoints`)."""
    z = cam_points[..., 2]
    xd, yd = distort(cam_points[..., 0] / z, cam_points[..., 1] / z, d)
    return k[..., 0, 0] * xd + k[..., 0, 2], k[..., 1, 1] * yd + k[..., 1, 2]


def check(coefficients: tuple[float, ...], k: Tensor, size: tuple[int, int]) -> None:
    """Raise ValueError unless the lens maps the image's field one to one within `MAX_CANVAS` image sizes."""
    if len(coefficients) not in TERMS:
        raise ValueError(
            f"camera.distortion must have 4, 5 or 8 terms (k1, k2, p1, p2[, k3[, k4, k5, k6]], OpenCV's order), "
            f"got {len(coefficients)}"
        )
    if not all(math.isfinite(c) for c in coefficients):
        raise ValueError(f"camera.distortion must be finite numbers, got {list(coefficients)}")
    d = torch.tensor(padded(coefficients), dtype=torch.float64)
    h, w = size
    u, v = _border(h, w)
    kd = k.double()
    fx, fy, cx, cy = float(kd[0, 0]), float(kd[1, 1]), float(kd[0, 2]), float(kd[1, 2])
    xd, yd = (u - cx) / fx, (v - cy) / fy
    x, y = undistort(xd, yd, d)
    back = distort(x, y, d)
    err = torch.maximum((back[0] - xd).abs() * fx, (back[1] - yd).abs() * fy).max()
    extent = max(float(x.max() - x.min()) * fx / w, float(y.max() - y.min()) * fy / h)
    if not float(err) < 1e-3 or not extent <= MAX_CANVAS:
        raise ValueError(
            f"camera.distortion {list(coefficients)} folds or stretches the {w} x {h} image beyond {MAX_CANVAS:g}x "
            "(the lens model has no unique inverse there): check the terms' order (k1, k2, p1, p2, k3) and units"
        )
    # Along rays from the centre the distorted radius must grow with the pinhole radius (no fold inside).
    t = torch.linspace(0, 1, 200, dtype=torch.float64)[:, None]
    rx, ry = distort(x[None] * t, y[None] * t, d)
    r = (rx * fx) ** 2 + (ry * fy) ** 2
    if bool(((r[1:] - r[:-1]) < -1e-9).any()):
        raise ValueError(f"camera.distortion {list(coefficients)} folds over inside the image: check its terms")


def _border(h: int, w: int, n: int = 64) -> tuple[Tensor, Tensor]:
    """Points along the image's outer edge (pixel edges), double: u, v."""
    s = torch.linspace(0, 1, n, dtype=torch.float64)
    us = torch.cat([s * w, torch.full_like(s, float(w)), (1 - s) * w, torch.zeros_like(s)]) - 0.5
    vs = torch.cat([torch.zeros_like(s), s * h, torch.full_like(s, float(h)), (1 - s) * h]) - 0.5
    return us, vs
