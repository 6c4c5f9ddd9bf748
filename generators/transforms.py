"""Rigid transforms, quaternions and pinhole cameras shared by the generators and by domrand.

Conventions: world z up, metres, radians; cameras use OpenCV axes (x right, y down, z forward);
quaternions are (w, x, y, z); poses are (..., 4, 4) object-to-world matrices.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor


def _unit(v: Tensor) -> Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def look_at(eye: Tensor, target: Tensor, up: Tensor | None = None, roll: Tensor | None = None) -> Tensor:
    """Camera-to-world matrices, OpenCV axes, for cameras at `eye` looking at `target`.

    Args:
        eye: (B, 3) camera centres, metres, world frame.
        target: (B, 3) look-at points, metres.
        up: (3,) or (B, 3) world up hint (default +z); image "up" is as close to it as possible.
        roll: (B,) rotation about the optical axis, radians (positive turns the image clockwise).

    Returns:
        (B, 4, 4) float32 camera-to-world.

    Example:
        >>> T = look_at(torch.tensor([[0.0, -0.7, 0.6]]), torch.zeros(1, 3))
        >>> [round(v, 3) for v in T[0, :3, 2].tolist()]  # optical axis points at the origin
        [0.0, 0.759, -0.651]
    """
    eye, target = eye.to(torch.float32), target.to(torch.float32)
    b = eye.shape[0]
    up = torch.tensor([0.0, 0.0, 1.0]) if up is None else up.to(torch.float32)
    up = up.expand(b, 3)
    z = _unit(target - eye)
    x = torch.linalg.cross(z, up)
    # Looking straight along the up hint: world +y becomes image "up" so that x stays defined.
    degenerate = x.norm(dim=-1, keepdim=True) < 1e-6
    x = torch.where(degenerate, torch.linalg.cross(z, torch.tensor([0.0, 1.0, 0.0]).expand(b, 3)), x)
    x = _unit(x)
    y = torch.linalg.cross(z, x)
    if roll is not None:
        c, s = roll.cos()[:, None], roll.sin()[:, None]
        x, y = c * x + s * y, -s * x + c * y
    out = torch.eye(4).repeat(b, 1, 1)
    out[:, :3, 0], out[:, :3, 1], out[:, :3, 2], out[:, :3, 3] = x, y, z, eye
    return out


def intrinsics_from_fov(fov_y: Tensor, width: int, height: int) -> Tensor:
    """Pinhole intrinsics (OpenCV: pixel centres at integer coordinates) from a vertical field of view.

    Args:
        fov_y: (B,) vertical field of view, radians, in (0, pi).
        width: image width, pixels.
        height: image height, pixels.

    Returns:
        (B, 3, 3) float32 K with fx = fy = (height / 2) / tan(fov_y / 2), cx = (width - 1) / 2.

    Example:
        >>> K = intrinsics_from_fov(torch.tensor([math.radians(45.0)]), 128, 128)
        >>> round(float(K[0, 0, 0]), 2), float(K[0, 0, 2])
        (154.51, 63.5)
    """
    fov_y = torch.as_tensor(fov_y, dtype=torch.float32)
    if bool(((fov_y <= 0) | (fov_y >= math.pi)).any()):
        raise ValueError(f"fov_y must be in (0, pi) radians, got {fov_y.tolist()}")
    f = (height / 2) / torch.tan(fov_y / 2)
    k = torch.zeros(fov_y.shape[0], 3, 3)
    k[:, 0, 0], k[:, 1, 1] = f, f
    k[:, 0, 2], k[:, 1, 2], k[:, 2, 2] = (width - 1) / 2, (height - 1) / 2, 1.0
    return k


def rotation_z(yaw: Tensor) -> Tensor:
    """(..., 3, 3) rotations about +z by `yaw` radians."""
    c, s = yaw.cos(), yaw.sin()
    o, z = torch.ones_like(yaw), torch.zeros_like(yaw)
    return torch.stack([c, -s, z, s, c, z, z, z, o], -1).reshape(*yaw.shape, 3, 3)


def axis_angle_to_matrix(axis_angle: Tensor) -> Tensor:
    """(..., 3, 3) rotations from (..., 3) axis-angle vectors (Rodrigues), radians."""
    theta = axis_angle.norm(dim=-1, keepdim=True)
    k = axis_angle / theta.clamp_min(1e-12)
    kx, ky, kz = k.unbind(-1)
    zero = torch.zeros_like(kx)
    kmat = torch.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], -1).reshape(*k.shape[:-1], 3, 3)
    s, c = theta.sin()[..., None], theta.cos()[..., None]
    eye = torch.eye(3, dtype=axis_angle.dtype).expand_as(kmat)
    return eye + s * kmat + (1 - c) * (kmat @ kmat)


def rotation_entries(w: Any, x: Any, y: Any, z: Any) -> list[Any]:
    """The 9 entries (row-major) of the rotation of the unit quaternion (w, x, y, z): floats or tensors alike.

    Example:
        >>> rotation_entries(1.0, 0.0, 0.0, 0.0)
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    """
    return [
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip


def quaternion_to_matrix(q: Tensor) -> Tensor:
    """(..., 3, 3) rotations from (..., 4) quaternions (w, x, y, z); normalised first."""
    q = q / q.norm(dim=-1, keepdim=True)
    return torch.stack(rotation_entries(*q.unbind(-1)), -1).reshape(*q.shape[:-1], 3, 3)


def matrix_to_quaternion(r: Tensor) -> Tensor:
    """(..., 4) unit quaternions (w, x, y, z), w >= 0, from (..., 3, 3) rotation matrices."""
    r = r.to(torch.float64)
    m00, m11, m22 = r[..., 0, 0], r[..., 1, 1], r[..., 2, 2]
    cand = torch.stack(
        [
            torch.stack(
                [
                    1 + m00 + m11 + m22,
                    r[..., 2, 1] - r[..., 1, 2],
                    r[..., 0, 2] - r[..., 2, 0],
                    r[..., 1, 0] - r[..., 0, 1],
                ],
                -1,
            ),
            torch.stack(
                [
                    r[..., 2, 1] - r[..., 1, 2],
                    1 + m00 - m11 - m22,
                    r[..., 0, 1] + r[..., 1, 0],
                    r[..., 0, 2] + r[..., 2, 0],
                ],
                -1,
            ),
            torch.stack(
                [
                    r[..., 0, 2] - r[..., 2, 0],
                    r[..., 0, 1] + r[..., 1, 0],
                    1 - m00 + m11 - m22,
                    r[..., 1, 2] + r[..., 2, 1],
                ],
                -1,
            ),
            torch.stack(
                [
                    r[..., 1, 0] - r[..., 0, 1],
                    r[..., 0, 2] + r[..., 2, 0],
                    r[..., 1, 2] + r[..., 2, 1],
                    1 - m00 - m11 + m22,
                ],
                -1,
            ),
        ],
        -2,
    )  # (..., 4, 4): row i is 4 * q_i * q, numerically best where q_i is largest
    best = torch.stack([1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], -1).argmax(
        -1
    )
    q = torch.gather(cand, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = q / q.norm(dim=-1, keepdim=True)
    q = torch.where(q[..., :1] < 0, -q, q)
    return q.to(torch.float32)


def pose(rotation: Tensor, translation: Tensor) -> Tensor:
    """(..., 4, 4) homogeneous poses from (..., 3, 3) rotations and (..., 3) translations (metres)."""
    out = torch.zeros(*rotation.shape[:-2], 4, 4, dtype=rotation.dtype)
    out[..., :3, :3] = rotation
    out[..., :3, 3] = translation
    out[..., 3, 3] = 1
    return out


def invert_rigid(t: Tensor) -> Tensor:
    """(..., 4, 4) inverses of rigid transforms: R^T and -R^T t."""
    r = t[..., :3, :3].transpose(-1, -2)
    return pose(r, -(r @ t[..., :3, 3:4])[..., 0])
