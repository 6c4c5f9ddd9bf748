"""Shading, textures and shadows against analytic per-pixel computations in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from domrand.generators.meshes import primitives
from scenes import camera, lights, scene, translation
from test_geometry_reference import pixel_rays, ray_box

from domrand.render import RenderConfig, Renderer
from domrand.scene import DIRECTIONAL, POINT, Lights


def plane_hits(cam, size, half=2.0):
    """World points where pixel rays meet the plane z = 0 inside |x|, |y| < half; mask of hits."""
    eye, d = pixel_rays(cam, size)
    t = np.where(d[..., 2] < 0, -eye[2] / d[..., 2], np.inf)
    p = eye + np.where(np.isfinite(t), t, 0)[..., None] * d
    inside = np.isfinite(t) & (np.abs(p[..., :2]) < half).all(-1)
    return p, inside, eye


def interior(mask, margin=1):
    """Mask eroded by `margin` pixels (excludes silhouette edges)."""
    m = mask.copy()
    for _ in range(margin):
        m[1:] &= m[:-1].copy()
        m[:-1] &= m[1:].copy()
        m[:, 1:] &= m[:, :-1].copy()
        m[:, :-1] &= m[:, 1:].copy()
    return m


@pytest.mark.parametrize("shininess", [20.0, 128.0])  # 128: the highlight power over its widest range
def test_blinn_phong_with_directional_and_point_light(backend, shininess):
    size = (96, 96)
    cam = camera((0.0, -0.6, 0.5), (0.0, 0.1, 0.0), size=size)
    sun = np.array([0.4, -0.3, 1.0]) / np.linalg.norm([0.4, -0.3, 1.0])
    lamp = np.array([0.1, 0.2, 0.3])
    light = Lights(
        kind=torch.tensor([[DIRECTIONAL, POINT]]),
        position=torch.tensor(np.stack([sun, lamp])[None], dtype=torch.float32),
        color=torch.tensor([[[1.0, 0.9, 0.8], [0.6, 0.7, 1.0]]]),
        intensity=torch.tensor([[0.6, 0.5]]),
        enabled=torch.tensor([[True, True]]),
        ambient=torch.tensor([[0.1, 0.15, 0.2]]),
        shadow=torch.tensor([[False, False]]),
    )
    s = scene(
        [(primitives.box((4.0, 4.0, 0.02)), translation(0, 0, -0.01))],
        cam,
        size=size,
        light=light,
        colors=[[0.7, 0.5, 0.3]],
    )
    inst = s.instances
    s = s.replace(
        instances=type(inst)(
            **{**inst.__dict__, "specular": torch.tensor([[0.5]]), "shininess": torch.tensor([[shininess]])}
        )
    )
    out = Renderer(RenderConfig(backend=backend, shadows=False)).render(s)
    p, hit, eye = plane_hits(cam, size)
    n = np.array([0.0, 0.0, 1.0])
    v = eye - p
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    albedo = np.array([0.7, 0.5, 0.3])
    rgb = albedo * np.array([0.1, 0.15, 0.2])
    for ldir, col, inten in (
        (np.broadcast_to(sun, p.shape), np.array([1.0, 0.9, 0.8]), 0.6),
        (lamp - p, np.array([0.6, 0.7, 1.0]), 0.5),
    ):
        ldir = ldir / np.linalg.norm(ldir, axis=-1, keepdims=True)
        ndl = np.clip(ldir @ n, 0, None)[..., None]
        h = ldir + v
        h /= np.linalg.norm(h, axis=-1, keepdims=True)
        spec = np.where(ndl > 0, 0.5 * np.clip(h @ n, 0, None)[..., None] ** shininess, 0)
        rgb = rgb + inten * col * (albedo * ndl + spec)
    rgb = np.clip(rgb, 0, 1)
    m = interior(hit & (out.instance[0].numpy() == 0))
    assert m.sum() > 4000
    assert np.abs(out.rgb[0].numpy() - rgb)[m].max() < 2e-4


def bilinear_repeat(tex, u, v):
    """Independent float64 reference of bilinear, repeat-addressed texture sampling."""
    s = tex.shape[0]
    x, y = u * s - 0.5, v * s - 0.5
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    ax, ay = (x - x0)[..., None], (y - y0)[..., None]
    t = tex.astype(np.float64) / 255
    g = lambda yy, xx: t[yy % s, xx % s]  # noqa: E731
    return (g(y0, x0) * (1 - ax) + g(y0, x0 + 1) * ax) * (1 - ay) + (
        g(y0 + 1, x0) * (1 - ax) + g(y0 + 1, x0 + 1) * ax
    ) * ay


def test_texture_is_perspective_correct(backend):
    # A slanted 4 m plane made of two big triangles: affine (not perspective-correct) interpolation
    # would shift the texture by many texels across the image.
    size = (96, 128)
    cam = camera((0.0, -0.4, 0.25), (0.0, 0.6, 0.0), size=size, fov_deg=60)
    rng = np.random.default_rng(0)
    tex = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    light = lights(intensity=0.0, ambient=1.0, shadow=False)
    plane = primitives.box((4.0, 4.0, 0.02))
    s = scene(
        [(plane, translation(0, 0, -0.01))],
        cam,
        size=size,
        light=light,
        textures=torch.from_numpy(tex)[None],
        texture_ids=[0],
    )
    inst = s.instances
    s = s.replace(instances=type(inst)(**{**inst.__dict__, "uv_scale": torch.tensor([[0.35]])}))
    out = Renderer(RenderConfig(backend=backend, shadows=False)).render(s)
    p, hit, _ = plane_hits(cam, size)
    # Box projection of the top face: u = 10 x, v = 10 y (texels per metre), times uv_scale.
    ref = bilinear_repeat(tex, p[..., 0] * 10 * 0.35, p[..., 1] * 10 * 0.35)
    m = interior(hit & (out.instance[0].numpy() == 0))
    err = np.abs(out.rgb[0].numpy() - ref)[m]
    assert m.sum() > 5000
    assert np.percentile(err, 99) < 2e-3 and err.max() < 0.02


def test_shadow_of_a_box_matches_ray_cast(backend):
    size = (128, 128)
    cam = camera((0.0, -0.5, 0.6), (0.0, 0.0, 0.0), size=size)
    sun = np.array([0.6, 0.3, 1.0]) / np.linalg.norm([0.6, 0.3, 1.0])
    light = lights(direction=tuple(sun), intensity=0.8, ambient=0.2, shadow=True)
    half = np.array([0.05, 0.05, 0.1])
    objs = [
        (primitives.box((2.0, 2.0, 0.02)), translation(0, 0, -0.01)),
        (primitives.box(tuple(2 * half)), translation(0, 0, 0.1)),
    ]
    s = scene(objs, cam, size=size, light=light, shadow_region=(0.0, 0.0, 0.0, 0.5))
    out = Renderer(RenderConfig(backend=backend, shadow_map_size=512)).render(s)
    p, hit, _ = plane_hits(cam, size, half=1.0)
    lo, hi = np.array([-0.05, -0.05, 0.0]), np.array([0.05, 0.05, 0.2])
    blocked = np.isfinite(ray_box(p + 1e-6 * sun, np.broadcast_to(sun, p.shape), lo, hi))
    floor = interior(hit & (out.instance[0].numpy() == 0), 2)
    dark = out.rgb[0, ..., 0].numpy() < 0.2 + 0.8 * sun[2] / 2
    inter = (dark & blocked & floor).sum()
    union = ((dark | blocked) & floor).sum()
    assert blocked[floor].sum() > 100
    assert inter / union > 0.9
    lit = interior(floor & ~blocked, 3)  # away from the penumbra that PCF softens
    assert np.abs(out.rgb[0, ..., 0].numpy()[lit] - (0.2 + 0.8 * sun[2])).max() < 1e-4


def test_background_colour_and_texture(backend):
    cam = camera((0.0, -1.0, 0.0), (0.0, 0.0, 0.0), size=(32, 32))
    s = scene([(primitives.cube(0.01), translation(5, 5, 5))], cam, size=(32, 32), background=(0.25, 0.5, 0.75))
    out = Renderer(RenderConfig(backend=backend)).render(s)
    assert (out.instance == -1).all()
    assert torch.allclose(out.rgb[0], torch.tensor([0.25, 0.5, 0.75]).expand(32, 32, 3))
    tex = torch.zeros(1, 8, 8, 3, dtype=torch.uint8)
    tex[0, :, 4:] = 255  # right half white
    s = s.replace(textures=tex, background_texture=torch.tensor([0]))
    rgb = Renderer(RenderConfig(backend=backend)).render(s).rgb[0]
    assert rgb[:, 4:12].max() == 0 and rgb[:, 20:28].min() == 1
