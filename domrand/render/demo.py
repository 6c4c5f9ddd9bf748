"""A self-contained tabletop scene for renderer demos, tests and the render benchmark.

It follows the localization task's world (table 1.0 x 0.8 m with its top at z = 0, floor at -0.75 m,
a 5 cm cube target, up to 10 distractors of 200 to 500 triangles, 2 lights, a perturbed camera), drawn
directly with torch rather than through the randomizers, so the renderer can be exercised alone.

Example:
    >>> import torch
    >>> scene = demo_scene(2, size=32, rng=torch.Generator().manual_seed(0))
    >>> scene.batch_size, scene.image_size, tuple(scene.instances.mesh.shape)
    (2, (32, 32), (2, 13))
"""

from __future__ import annotations

import math

import torch

from domrand.generators import textures as tx
from domrand.generators.meshes import Mesh, primitives
from domrand.generators.transforms import intrinsics_from_fov, look_at, pose, rotation_z
from domrand.scene import DIRECTIONAL, POINT, Camera, Instances, Lights, MeshBank, SceneBatch

TABLE, FLOOR, TARGET = 0, 1, 2


def bench_distractors() -> list[Mesh]:
    """Distractor meshes of 200 to 500 triangles each (the benchmark scene's distractors)."""
    return [
        primitives.sphere(0.03, rings=10, segments=16),
        primitives.torus(0.03, 0.01, rings=10, segments=20),
        primitives.cylinder(0.03, 0.08, segments=64),
        primitives.cone(0.03, 0.06, segments=100),
        primitives.capsule(0.02, 0.04, rings=10, segments=20),
        primitives.sphere(0.03, rings=12, segments=20),
    ]


def random_textures(n: int, size: int, *, rng: torch.Generator) -> torch.Tensor:
    """(n, size, size, 3) uint8: a mix of flat, gradient, checker, stripe and noise textures."""
    c0, c1 = torch.rand(n, 3, generator=rng), torch.rand(n, 3, generator=rng)
    angle = torch.rand(n, generator=rng) * math.pi
    kinds = [
        tx.flat(c0, size),
        tx.linear_gradient(c0, c1, angle, size),
        tx.checker(c0, c1, torch.randint(2, 12, (n,), generator=rng).float(), angle, size),
        tx.stripes(c0, c1, torch.randint(2, 10, (n,), generator=rng).float(), angle, torch.full((n,), 0.5), size),
        tx.noise(c0, c1, torch.randint(0, 2**31, (n,), generator=rng), torch.randint(2, 8, (n,), generator=rng), size),
    ]
    pick = torch.randint(0, len(kinds), (n,), generator=rng)
    out = torch.stack(kinds)[pick, torch.arange(n)]
    return tx.to_uint8(out)


def demo_scene(
    batch: int, size: int = 128, *, rng: torch.Generator, distractors: int = 10, texture_size: int = 64
) -> SceneBatch:
    """B random tabletop scenes (see module docstring); all randomness from `rng`."""
    dmeshes = bench_distractors()
    meshes = [primitives.box((1.0, 0.8, 0.04)), primitives.box((6.0, 6.0, 0.02)), primitives.cube(0.05), *dmeshes]
    bank = MeshBank.from_meshes(meshes)
    k = 3 + distractors
    mesh = torch.zeros(batch, k, dtype=torch.int64)
    mesh[:, TABLE], mesh[:, FLOOR], mesh[:, TARGET] = 0, 1, 2
    mesh[:, 3:] = 3 + torch.randint(0, len(dmeshes), (batch, distractors), generator=rng)
    yaw = torch.rand(batch, k, generator=rng) * 2 * math.pi
    yaw[:, :2] = 0
    xy = torch.rand(batch, k, 2, generator=rng) * torch.tensor([0.9, 0.7]) - torch.tensor([0.45, 0.35])
    xy[:, TARGET] = torch.rand(batch, 2, generator=rng) * torch.tensor([0.6, 0.4]) - torch.tensor([0.3, 0.2])
    xy[:, :2] = 0
    extent = torch.stack([m.extents for m in meshes])[mesh]  # (B, K, 3)
    scale = torch.ones(batch, k, 3)
    target_ext = 0.02 + 0.08 * torch.rand(batch, distractors, generator=rng)
    scale[:, 3:] = (target_ext / extent[:, 3:].amax(-1))[..., None]
    z = extent[..., 2] * scale[..., 2] / 2
    z[:, TABLE], z[:, FLOOR] = -0.02, -0.76
    poses = pose(rotation_z(yaw), torch.cat([xy, z[..., None]], -1))
    n_tex = 4 * batch
    textures = random_textures(n_tex, texture_size, rng=rng)
    tex = torch.randint(0, n_tex, (batch, k), generator=rng)
    uv_scale = torch.ones(batch, k)
    uv_scale[:, TABLE] = 0.3 + 0.5 * torch.rand(batch, generator=rng)
    uv_scale[:, FLOOR] = 0.1
    inst = Instances.create(
        mesh, poses, scale=scale, texture=tex, uv_scale=uv_scale,
        specular=0.6 * torch.rand(batch, k, generator=rng),
        shininess=4 + 60 * torch.rand(batch, k, generator=rng),
        cast_shadow=torch.arange(k)[None].expand(batch, k) != FLOOR,
    )  # fmt: skip
    lights = two_lights(batch, rng=rng)
    eye = torch.tensor([0.0, -0.70, 0.60]) + (torch.rand(batch, 3, generator=rng) - 0.5) * 0.1
    target = (torch.rand(batch, 3, generator=rng) - 0.5) * 0.06
    roll = (torch.rand(batch, generator=rng) - 0.5) * math.radians(6)
    fov = math.radians(45) + (torch.rand(batch, generator=rng) - 0.5) * math.radians(6)
    cam = Camera(intrinsics_from_fov(fov, size, size), look_at(eye, target, roll=roll))
    bg = torch.rand(batch, 3, generator=rng)
    bg_tex = torch.where(torch.rand(batch, generator=rng) < 0.5, torch.randint(0, n_tex, (batch,), generator=rng), -1)
    return SceneBatch(bank, inst, lights, cam, textures, bg, bg_tex, (size, size), shadow_region=(0.0, 0.0, 0.0, 0.7))


def two_lights(batch: int, *, rng: torch.Generator) -> Lights:
    """A shadow-casting directional key light and a point fill light per scene."""
    az = torch.rand(batch, 2, generator=rng) * 2 * math.pi
    el = math.radians(35) + torch.rand(batch, 2, generator=rng) * math.radians(45)
    d = torch.stack([el.cos() * az.cos(), el.cos() * az.sin(), el.sin()], -1)
    position = d.clone()
    position[:, 1] = d[:, 1] * 1.5
    kind = torch.tensor([DIRECTIONAL, POINT]).expand(batch, 2).clone()
    color = 0.8 + 0.2 * torch.rand(batch, 2, 3, generator=rng)
    intensity = torch.stack(
        [0.5 + 0.5 * torch.rand(batch, generator=rng), 0.2 + 0.3 * torch.rand(batch, generator=rng)], -1
    )
    ambient = (0.15 + 0.2 * torch.rand(batch, 1, generator=rng)).expand(batch, 3).clone()
    shadow = torch.tensor([True, False]).expand(batch, 2).clone()
    return Lights(kind, position, color, intensity, torch.ones(batch, 2, dtype=torch.bool), ambient, shadow)
