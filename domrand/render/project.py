"""The pinhole projection (OpenCV convention: pixel centres at integer coordinates, x right, y down, z forward).

One formula for everyone that projects: labels (keypoints, amodal boxes), the pose model's read-out and the
dataset preview. The renderer's front end projects in clip space (`frontend.project`) and its compiled twin
(`kernels.frontend`) does the same arithmetic; both are tested against `cv2.projectPoints`.

Example:
    >>> import torch
    >>> k = torch.tensor([[100.0, 0.0, 31.5], [0.0, 100.0, 31.5], [0.0, 0.0, 1.0]])
    >>> u, v = pinhole(torch.tensor(0.1), torch.tensor(-0.1), torch.tensor(1.0), *intrinsics_parts(k))
    >>> round(float(u), 4), round(float(v), 4)
    (41.5, 21.5)
"""

from __future__ import annotations

from typing import Any, TypeVar

A = TypeVar("A")  # a torch Tensor or a numpy array (or a float)


def pinhole(x: A, y: A, z: A, fx: Any, fy: Any, cx: Any, cy: Any) -> tuple[A, A]:
    """Camera-frame points (x, y, z metres, z > 0; any broadcastable shapes) -> pixel coordinates (u, v).

    `u = fx * x / z + cx`, `v = fy * y / z + cy`, evaluated in that order (callers guard z against 0 as
    they need: labels clamp it, the preview floors it).
    """
    return fx * x / z + cx, fy * y / z + cy


def intrinsics_parts(k: Any) -> tuple[Any, Any, Any, Any]:
    """(fx, fy, cx, cy) of intrinsics `k` (..., 3, 3), each of shape (...)."""
    return k[..., 0, 0], k[..., 1, 1], k[..., 0, 2], k[..., 1, 2]
