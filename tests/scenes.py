"""Small hand-built scenes for tests (one scene, explicit objects, camera and lights), and a point-in-pieces
check for meshes made of convex pieces."""

from __future__ import annotations

import math

import numpy as np
import torch
import trimesh
from domrand.generators.meshes import Mesh
from domrand.generators.transforms import intrinsics_from_fov, look_at

from domrand.scene import DIRECTIONAL, Camera, Instances, Lights, MeshBank, SceneBatch


def camera(eye, target, size=(128, 128), fov_deg=45.0, roll=0.0) -> Camera:
    h, w = size
    k = intrinsics_from_fov(torch.tensor([math.radians(fov_deg)]), w, h)
    t = look_at(
        torch.tensor([eye], dtype=torch.float32), torch.tensor([target], dtype=torch.float32), roll=torch.tensor([roll])
    )
    return Camera(k, t)


def lights(direction=(0.3, -0.2, 1.0), intensity=0.8, ambient=0.2, shadow=True) -> Lights:
    d = torch.tensor([direction], dtype=torch.float32)
    d = d / d.norm()
    return Lights(
        kind=torch.tensor([[DIRECTIONAL]]),
        position=d[:, None, :],
        color=torch.ones(1, 1, 3),
        intensity=torch.tensor([[intensity]]),
        enabled=torch.tensor([[True]]),
        ambient=torch.full((1, 3), ambient),
        shadow=torch.tensor([[shadow]]),
    )


def scene(
    objects: list[tuple[Mesh, torch.Tensor]],
    cam: Camera,
    size=(128, 128),
    light: Lights | None = None,
    textures: torch.Tensor | None = None,
    texture_ids=None,
    colors=None,
    double_sided=None,
    shadow_region=(0.0, 0.0, 0.0, 1.0),
    near=0.01,
    background=(0.0, 0.0, 0.0),
) -> SceneBatch:
    """One scene: objects as (mesh, 4x4 pose); mesh i goes in slot i."""
    bank = MeshBank.from_meshes([m for m, _ in objects], double_sided=double_sided)
    k = len(objects)
    poses = torch.stack([p.to(torch.float32) for _, p in objects])[None]
    kw = {}
    if texture_ids is not None:
        kw["texture"] = torch.tensor([texture_ids], dtype=torch.int64)
    if colors is not None:
        kw["color"] = torch.tensor([colors], dtype=torch.float32)
    inst = Instances.create(torch.arange(k)[None], poses, **kw)
    tex = textures if textures is not None else torch.full((1, 4, 4, 3), 255, dtype=torch.uint8)
    return SceneBatch(
        bank,
        inst,
        light or lights(),
        cam,
        tex,
        torch.tensor([background], dtype=torch.float32),
        torch.tensor([-1]),
        size,
        shadow_region=shadow_region,
        near=near,
    )


def translation(x, y, z) -> torch.Tensor:
    t = torch.eye(4)
    t[:3, 3] = torch.tensor([x, y, z])
    return t


def piece_hulls(mesh: Mesh) -> list[trimesh.Trimesh]:
    """The convex hull of each of `mesh`'s physics pieces (`Mesh.parts`)."""
    return [trimesh.Trimesh(p.double().numpy()).convex_hull for p in mesh.parts]


def in_pieces(point: np.ndarray, hulls: list[trimesh.Trimesh]) -> bool:
    """Whether `point` (3,) lies strictly inside one of the convex `hulls`: behind every face plane of it."""
    return any(np.all(np.einsum("fk,fk->f", point - h.triangles[:, 0], h.face_normals) < 0) for h in hulls)
