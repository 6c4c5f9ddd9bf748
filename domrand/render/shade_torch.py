"""Deferred shading in plain torch: resolve each pixel's surface, sample its texture, light it.

The compiled CPU twin (`kernels.shade`) implements the same formulas; the two agree to float
tolerance (transcendental functions may differ in the last bit).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.kernels.constants import SHADOW_BIAS_TEXELS, SHADOW_SLOPE_TEXELS
from domrand.render.frontend import Triangles, View, transform_points
from domrand.render.raster_torch import edge_weights
from domrand.scene import DIRECTIONAL, SceneBatch


@dataclass(frozen=True, eq=False)
class Surface:
    """What each pixel sees (flattened pixels P = H * W).

    Attributes:
        hit: (B, P) bool.
        slot: (B, P) int64 instance slot, 0 where no hit.
        position: (B, P, 3) world position, metres.
        normal: (B, P, 3) unit world normal, facing the camera for double-sided meshes.
        uv: (B, P, 2) texture coordinates.
    """

    hit: Tensor
    slot: Tensor
    position: Tensor
    normal: Tensor
    uv: Tensor


def pixel_centres(size: tuple[int, int], device: torch.device) -> tuple[Tensor, Tensor]:
    """(P,) float32 x and y of every pixel centre, row-major."""
    h, w = size
    py, px = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    return px.reshape(-1).to(torch.float32), py.reshape(-1).to(torch.float32)


def resolve(tri: Tensor, tris: Triangles, scene: SceneBatch, world_pos: Tensor, world_nrm: Tensor) -> Surface:
    """Interpolate world position, normal and UV at every pixel centre, perspective-correct.

    Args:
        tri: (B, H, W) int32 winning sub-triangle per pixel, -1 for none.
        tris: the camera's `Triangles`.
        scene: the batch.
        world_pos, world_nrm: (B, K, V, 3) from `world_geometry`.
    """
    b, h, w = tri.shape
    k, v = world_pos.shape[1], world_pos.shape[2]
    f = scene.meshes.faces.shape[1]
    s = tri.reshape(b, h * w).to(torch.int64)
    hit = s >= 0
    s = s.clamp(min=0)
    scr = torch.gather(tris.screen, 1, s[..., None, None].expand(b, h * w, 3, 4))
    wts = torch.gather(tris.weights, 1, s[..., None, None].expand(b, h * w, 3, 3))
    px, py = pixel_centres((h, w), tri.device)
    w0, w1, w2 = edge_weights(scr, px, py)
    q = scr[..., 2]
    pc = torch.stack([w0 * q[..., 0], w1 * q[..., 1], w2 * q[..., 2]], -1)
    pc = pc / pc.sum(-1, keepdim=True)
    bary = pc[..., 0:1] * wts[..., 0, :] + pc[..., 1:2] * wts[..., 1, :] + pc[..., 2:3] * wts[..., 2, :]
    src = s // 2
    slot, face = src // f, src % f
    mesh = torch.gather(scene.instances.mesh, 1, slot)
    vid = scene.meshes.faces[mesh, face]  # (B, P, 3)
    flat = (slot[..., None] * v + vid).reshape(b, h * w * 3, 1)

    def interp(attr: Tensor) -> Tensor:
        c = attr.shape[-1]
        g = torch.gather(attr.reshape(b, k * v, c), 1, flat.expand(-1, -1, c)).reshape(b, h * w, 3, c)
        return bary[..., 0:1] * g[..., 0, :] + bary[..., 1:2] * g[..., 1, :] + bary[..., 2:3] * g[..., 2, :]

    pos = interp(world_pos)
    nrm = interp(world_nrm)
    nrm = nrm / nrm.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    uv_attr = scene.meshes.uvs[scene.instances.mesh]  # (B, K, V, 2)
    uv = interp(uv_attr)
    eye = scene.camera.cam_to_world[:, None, :3, 3]
    double = scene.meshes.double_sided[mesh]
    flip = double & ((nrm * (eye - pos)).sum(-1) < 0)
    nrm = torch.where(flip[..., None], -nrm, nrm)
    return Surface(hit, slot, pos, nrm, uv)


def sample_texture(textures: Tensor, index: Tensor, uv: Tensor) -> Tensor:
    """Bilinear texture lookup with repeat addressing.

    Args:
        textures: (N, S, S, 3) uint8 bank.
        index: (...) int64 texture per sample, clamped to [0, N).
        uv: (..., 2) texture coordinates; texel (i, j) centre at ((j + 0.5) / S, (i + 0.5) / S).

    Returns:
        (..., 3) float32 colour in [0, 1].
    """
    n, size = textures.shape[0], textures.shape[1]
    x = uv[..., 0] * size - 0.5
    y = uv[..., 1] * size - 0.5
    x0f, y0f = x.floor(), y.floor()
    fx, fy = (x - x0f)[..., None], (y - y0f)[..., None]
    x0, y0 = x0f.to(torch.int64) % size, y0f.to(torch.int64) % size
    x1, y1 = (x0 + 1) % size, (y0 + 1) % size
    base = index.clamp(0, n - 1) * (size * size)
    flat = textures.reshape(-1, 3)

    def tap(yy: Tensor, xx: Tensor) -> Tensor:
        return flat[base + yy * size + xx].to(torch.float32) * (1.0 / 255.0)

    top = tap(y0, x0) * (1 - fx) + tap(y0, x1) * fx
    bottom = tap(y1, x0) * (1 - fx) + tap(y1, x1) * fx
    return top * (1 - fy) + bottom * fy


def shadow_visibility(shadow_depth: Tensor, view: View, pos: Tensor, ndl: Tensor) -> Tensor:
    """Fraction of light reaching each point, from a shadow map with 2x2 percentage-closer filtering.

    Args:
        shadow_depth: (B, S, S) float32 depth from the light (+inf where empty).
        view: the light's `View`.
        pos: (B, P, 3) world points.
        ndl: (B, P) cosine between the normal and the light direction (sets the slope bias).

    Returns:
        (B, P) float32 in [0, 1]; points outside the map are lit.
    """
    b, s, _ = shadow_depth.shape
    lp = transform_points(pos, view.world_to_view)
    fx, fy, cx, cy = (view.proj[:, i : i + 1] for i in range(4))
    ortho = view.ortho[:, None]
    z = lp[..., 2]
    # z <= 0: behind the light, lit (below); on its view plane (z == 0) no division (the compiled kernel's rule)
    q = torch.where(ortho | (z == 0), torch.ones_like(z), 1.0 / z)
    sx, sy = fx * (lp[..., 0] * q) + cx, fy * (lp[..., 1] * q) + cy
    texel = torch.where(ortho, 1.0 / fx, z / fx)
    bias = texel * (SHADOW_BIAS_TEXELS + SHADOW_SLOPE_TEXELS * (1.0 - ndl.clamp(0, 1)))
    x0f, y0f = sx.floor(), sy.floor()
    ax, ay = sx - x0f, sy - y0f
    flat = shadow_depth.reshape(b, s * s)
    lit = []
    for dy in (0, 1):
        for dx in (0, 1):
            xi, yi = x0f + dx, y0f + dy
            inside = (xi >= 0) & (xi <= s - 1) & (yi >= 0) & (yi <= s - 1) & (z > 0)
            idx = (yi.clamp(0, s - 1) * s + xi.clamp(0, s - 1)).to(torch.int64)
            occluder = torch.gather(flat, 1, idx)
            lit.append(torch.where(inside & (z - bias > occluder), 0.0, 1.0))
    top = lit[0] * (1 - ax) + lit[1] * ax
    bottom = lit[2] * (1 - ax) + lit[3] * ax
    return top * (1 - ay) + bottom * ay


def shade(scene: SceneBatch, surf: Surface, vis0: Tensor, shadow_light: Tensor, has_shadow: Tensor) -> Tensor:
    """Ambient + Lambert + Blinn-Phong per pixel, background where nothing was hit.

    Args:
        scene: the batch.
        surf: from `resolve`.
        vis0: (B, P) shadow visibility for each scene's shadow light.
        shadow_light: (B,) int64 which light casts the shadow; has_shadow: (B,) bool.

    Returns:
        (B, P, 3) float32 linear colour, clamped to [0, 1].
    """
    inst, lights = scene.instances, scene.lights
    b, p = surf.hit.shape
    tex = torch.gather(inst.texture, 1, surf.slot)
    uvs = surf.uv * torch.gather(inst.uv_scale, 1, surf.slot)[..., None]
    albedo = torch.gather(inst.color, 1, surf.slot[..., None].expand(b, p, 3))
    albedo = torch.where((tex >= 0)[..., None], albedo * sample_texture(scene.textures, tex, uvs), albedo)
    spec_k = torch.gather(inst.specular, 1, surf.slot)[..., None]
    shin = torch.gather(inst.shininess, 1, surf.slot)[..., None]
    n_l = lights.kind.shape[1]
    pos, nrm = surf.position[:, :, None, :], surf.normal[:, :, None, :]  # (B, P, 1, 3)
    lpos = lights.position[:, None]  # (B, 1, L, 3)
    to_light = torch.where((lights.kind == DIRECTIONAL)[:, None, :, None], lpos, lpos - pos)
    ldir = to_light / to_light.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    eye = scene.camera.cam_to_world[:, None, None, :3, 3]
    vdir = eye - pos
    vdir = vdir / vdir.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    ndl = (nrm * ldir).sum(-1)  # (B, P, L)
    half = ldir + vdir
    half = half / half.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    ndh = (nrm * half).sum(-1).clamp(min=0)
    spec = torch.where(ndl > 0, spec_k * ndh.pow(shin), torch.zeros_like(ndh))
    is_shadow = (torch.arange(n_l, device=pos.device)[None] == shadow_light[:, None]) & has_shadow[:, None]
    vis = torch.where(is_shadow[:, None, :], vis0[:, :, None], torch.ones_like(ndl))
    weight = (lights.intensity * lights.enabled)[:, None, :] * vis  # (B, P, L)
    lcol = lights.color[:, None]  # (B, 1, L, 3)
    diffuse = (weight[..., None] * lcol * ndl.clamp(min=0)[..., None]).sum(2)
    specular = (weight[..., None] * lcol * spec[..., None]).sum(2)
    rgb = albedo * (lights.ambient[:, None, :] + diffuse) + specular
    return torch.where(surf.hit[..., None], rgb, background(scene)).clamp(0, 1)


def background(scene: SceneBatch) -> Tensor:
    """(B, P, 3) background colour: the scene's texture stretched over the image, or its colour."""
    h, w = scene.image_size
    b = scene.batch_size
    px, py = pixel_centres((h, w), scene.device)
    uv = torch.stack([(px + 0.5) / w, (py + 0.5) / h], -1).expand(b, h * w, 2)
    tex = scene.background_texture[:, None].expand(b, h * w)
    sampled = sample_texture(scene.textures, tex, uv)
    return torch.where((tex >= 0)[..., None], sampled, scene.background_color[:, None, :])
