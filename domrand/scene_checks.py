"""Validation of a `SceneBatch`: one ValueError naming the first bad field."""

from __future__ import annotations

import torch
from torch import Tensor

from domrand.scene import SceneBatch


def _shape(name: str, t: Tensor, shape: tuple[int, ...], dtype: torch.dtype) -> None:
    if tuple(t.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(t.shape)}")
    if t.dtype != dtype:
        raise ValueError(f"{name} must be {dtype}, got {t.dtype}")


def check_scene(s: SceneBatch) -> None:
    """Check shapes, dtypes and ranges of every field of `s`."""
    h, w = s.image_size
    if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
        raise ValueError(f"image_size must be two positive ints (H, W), got {s.image_size}")
    if not s.near > 0:
        raise ValueError(f"near must be > 0 metres, got {s.near}")
    if not s.shadow_region[3] > 0:
        raise ValueError(f"shadow_region radius must be > 0 metres, got {s.shadow_region[3]}")
    inst, lights, cam = s.instances, s.lights, s.camera
    b, k = inst.mesh.shape
    m = s.meshes.vertices.shape[0]
    _shape("instances.mesh", inst.mesh, (b, k), torch.int64)
    _shape("instances.pose", inst.pose, (b, k, 4, 4), torch.float32)
    _shape("instances.scale", inst.scale, (b, k, 3), torch.float32)
    _shape("instances.texture", inst.texture, (b, k), torch.int64)
    _shape("instances.color", inst.color, (b, k, 3), torch.float32)
    for name in ("uv_scale", "specular", "shininess"):
        _shape(f"instances.{name}", getattr(inst, name), (b, k), torch.float32)
    _shape("instances.visible", inst.visible, (b, k), torch.bool)
    _shape("instances.cast_shadow", inst.cast_shadow, (b, k), torch.bool)
    if k and (int(inst.mesh.min()) < 0 or int(inst.mesh.max()) >= m):
        raise ValueError(
            f"instances.mesh must index the {m} banked meshes, got values in [{int(inst.mesh.min())}, {int(inst.mesh.max())}]"
        )
    n_tex = s.textures.shape[0]
    if s.textures.ndim != 4 or s.textures.shape[3] != 3 or s.textures.dtype != torch.uint8:
        raise ValueError(f"textures must be (N, S, S, 3) uint8, got {tuple(s.textures.shape)} {s.textures.dtype}")
    if s.textures.shape[1] != s.textures.shape[2]:
        raise ValueError(f"textures must be square, got {tuple(s.textures.shape[1:3])}")
    for name, t in (("instances.texture", inst.texture), ("background_texture", s.background_texture)):
        if t.numel() and (int(t.min()) < -1 or int(t.max()) >= n_tex):
            raise ValueError(
                f"{name} must be -1 or index the {n_tex} textures, got values in [{int(t.min())}, {int(t.max())}]"
            )
    if bool((inst.scale <= 0).any()):
        raise ValueError("instances.scale must be > 0")
    if bool((inst.shininess <= 0).any()):
        raise ValueError("instances.shininess must be > 0")
    n_l = lights.kind.shape[1]
    _shape("lights.kind", lights.kind, (b, n_l), torch.int64)
    _shape("lights.position", lights.position, (b, n_l, 3), torch.float32)
    _shape("lights.color", lights.color, (b, n_l, 3), torch.float32)
    _shape("lights.intensity", lights.intensity, (b, n_l), torch.float32)
    _shape("lights.enabled", lights.enabled, (b, n_l), torch.bool)
    _shape("lights.ambient", lights.ambient, (b, 3), torch.float32)
    _shape("lights.shadow", lights.shadow, (b, n_l), torch.bool)
    if not 1 <= n_l <= 4:
        raise ValueError(f"each scene takes 1 to 4 lights, got {n_l}")
    _shape("camera.intrinsics", cam.intrinsics, (b, 3, 3), torch.float32)
    _shape("camera.cam_to_world", cam.cam_to_world, (b, 4, 4), torch.float32)
    rot = cam.cam_to_world[:, :3, :3]
    err = (rot.transpose(1, 2) @ rot - torch.eye(3, device=rot.device)).abs().amax()
    if float(err) > 1e-4:
        raise ValueError(f"camera.cam_to_world must be rigid (orthonormal rotation), off by {float(err):.2e}")
    _shape("background_color", s.background_color, (b, 3), torch.float32)
    _shape("background_texture", s.background_texture, (b,), torch.int64)
    for name, t in (
        ("instances.pose", inst.pose),
        ("camera.intrinsics", cam.intrinsics),
        ("lights.position", lights.position),
    ):
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} has non-finite values")
