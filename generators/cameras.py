"""Cameras: look-at poses perturbed around a nominal camera, intrinsics from a field of view, and the
top-down camera of the grasping task. All pure functions of their arguments.

Example:
    >>> import math, torch
    >>> K, T = perturbed_look_at(torch.tensor([0.0, -0.7, 0.6]), torch.zeros(3), math.radians(45),
    ...                          torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2), torch.zeros(2), (128, 128))
    >>> tuple(K.shape), tuple(T.shape)
    ((2, 3, 3), (2, 4, 4))
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .transforms import intrinsics_from_fov, look_at


def perturbed_look_at(
    eye: Tensor,
    target: Tensor,
    fov_y: float,
    eye_offset: Tensor,
    target_offset: Tensor,
    roll: Tensor,
    fov_offset: Tensor,
    size: tuple[int, int],
) -> tuple[Tensor, Tensor]:
    """Intrinsics and camera-to-world of B cameras jittered around a nominal look-at camera.

    Args:
        eye, target: (3,) nominal camera centre and look-at point, metres.
        fov_y: nominal vertical field of view, radians.
        eye_offset, target_offset: (B, 3) metres. roll: (B,) radians. fov_offset: (B,) radians.
        size: (H, W) pixels.

    Returns:
        K (B, 3, 3) and cam_to_world (B, 4, 4), OpenCV axes.
    """
    h, w = size
    k = intrinsics_from_fov(fov_y + fov_offset, w, h)
    return k, look_at(eye + eye_offset, target + target_offset, roll=roll)


def top_down(
    height: float, fov_y: float, size: tuple[int, int], offset: Tensor, tilt: Tensor, fov_offset: Tensor
) -> tuple[Tensor, Tensor]:
    """The grasping task's camera: above the origin looking straight down, perturbed.

    Args:
        height: nominal height, metres (0.70 in the task).
        fov_y: nominal vertical field of view, radians.
        size: (H, W) pixels.
        offset: (B, 3) position offsets, metres.
        tilt: (B, 2) tilts about world x and y, radians.
        fov_offset: (B,) radians.

    Returns:
        K (B, 3, 3) and cam_to_world (B, 4, 4); image "up" is world +y.
    """
    b = offset.shape[0]
    eye = torch.tensor([0.0, 0.0, height]) + offset
    # Tilting the optical axis by (tx, ty) moves the look-at point on the table by height * tan(tilt).
    target = eye.clone()
    target[:, 2] = 0.0
    target[:, 0] += height * torch.tan(tilt[:, 1])
    target[:, 1] -= height * torch.tan(tilt[:, 0])
    k = intrinsics_from_fov(torch.full((b,), fov_y) + fov_offset, size[1], size[0])
    return k, look_at(eye, target, up=torch.tensor([0.0, 1.0, 0.0]))


def fov_from_intrinsics(k: Tensor) -> Tensor:
    """(B,) vertical field of view, radians, of intrinsics (B, 3, 3) for their image height 2 * (cy + 0.5)."""
    return 2 * torch.atan((k[:, 1, 2] + 0.5) / k[:, 1, 1])


DEG = math.pi / 180
