"""The renderer's front end, shared by every back end: transform, clip against the near plane, project.

Everything here is plain batched torch with static shapes (no host synchronisation), and written as
explicit elementwise arithmetic rather than matmuls so that a scene's numbers never depend on which
other scenes share its batch. Both rasterizers (torch and the compiled CPU kernel) consume its
output, so they see bit-identical triangles.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.scene import DIRECTIONAL, SceneBatch


@dataclass(frozen=True, eq=False)
class View:
    """A camera to rasterize from: the scene camera or a light's shadow camera.

    Attributes:
        world_to_view: (B, 4, 4) float32 rigid transform into view axes (x right, y down, z forward).
        proj: (B, 4) float32 (fx, fy, cx, cy) in pixels; pixel centres at integer coordinates.
        ortho: (B,) bool; orthographic (x = fx * X + cx) instead of perspective (x = fx * X / Z + cx).
        near: near plane, metres along z.
        size: (H, W) pixels.
    """

    world_to_view: Tensor
    proj: Tensor
    ortho: Tensor
    near: float
    size: tuple[int, int]


@dataclass(frozen=True, eq=False)
class Triangles:
    """Screen-space triangles after clipping: two slots per source triangle (a clipped quad needs two).

    Sub-triangle s belongs to source triangle s // 2; source triangle t is face t % F of slot t // F.

    Attributes:
        screen: (B, T2, 3, 4) float32 per vertex (x, y, q, zq): pixel coordinates, q = 1/Z (1 for
            orthographic) and zq = 1 (Z for orthographic), so depth = sum(w zq) / sum(w q).
        weights: (B, T2, 3, 3) float32 barycentric weights of each sub-triangle vertex over the
            source triangle's three vertices (identity when nothing was clipped).
        valid: (B, T2) bool; every valid triangle has positive signed area in pixel coordinates.
    """

    screen: Tensor
    weights: Tensor
    valid: Tensor


def transform_points(points: Tensor, matrix: Tensor) -> Tensor:
    """Apply (..., 4, 4) affine `matrix` to (..., N, 3) `points` with elementwise arithmetic only."""
    m = matrix[..., None, :3, :]  # (..., 1, 3, 4)
    p = points
    return p[..., 0:1] * m[..., 0] + p[..., 1:2] * m[..., 1] + p[..., 2:3] * m[..., 2] + m[..., 3]


def rotate_vectors(vectors: Tensor, matrix: Tensor) -> Tensor:
    """Apply the rotation part of (..., 4, 4) or (..., 3, 3) `matrix` to (..., N, 3) vectors."""
    m = matrix[..., None, :3, :3]
    v = vectors
    return v[..., 0:1] * m[..., 0] + v[..., 1:2] * m[..., 1] + v[..., 2:3] * m[..., 2]


def invert_rigid(t: Tensor) -> Tensor:
    """(B, 4, 4) inverse of rigid transforms, elementwise (R^T, -R^T t)."""
    r_t = t[..., :3, :3].transpose(-1, -2)
    trans = t[..., :3, 3]
    neg = -(r_t[..., 0] * trans[..., 0:1] + r_t[..., 1] * trans[..., 1:2] + r_t[..., 2] * trans[..., 2:3])
    out = torch.zeros_like(t)
    out[..., :3, :3] = r_t
    out[..., :3, 3] = neg
    out[..., 3, 3] = 1
    return out


def world_geometry(scene: SceneBatch) -> tuple[Tensor, Tensor]:
    """World-space vertex positions and unit normals of every instance.

    Returns:
        positions (B, K, V, 3) float32 metres and normals (B, K, V, 3) float32.
    """
    bank, inst = scene.meshes, scene.instances
    verts = bank.vertices[inst.mesh]  # (B, K, V, 3)
    normals = bank.normals[inst.mesh]
    scale = inst.scale[:, :, None, :]
    pos = transform_points(verts * scale, inst.pose)
    nrm = rotate_vectors(normals / scale, inst.pose)
    nrm = nrm / nrm.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return pos, nrm


def camera_view(scene: SceneBatch) -> View:
    """The scene camera as a `View`."""
    k = scene.camera.intrinsics
    proj = torch.stack([k[:, 0, 0], k[:, 1, 1], k[:, 0, 2], k[:, 1, 2]], -1)
    ortho = torch.zeros(scene.batch_size, dtype=torch.bool, device=k.device)
    return View(invert_rigid(scene.camera.cam_to_world), proj, ortho, scene.near, scene.image_size)


def shadow_light(scene: SceneBatch) -> tuple[Tensor, Tensor]:
    """Which light casts shadows in each scene: the first enabled light with `shadow` set.

    Returns:
        index (B,) int64 into the scene's lights, and has_shadow (B,) bool.
    """
    cand = scene.lights.enabled & scene.lights.shadow
    return cand.to(torch.int8).argmax(1), cand.any(1)


def _basis(forward: Tensor) -> Tensor:
    """(B, 3, 3) columns (right, down, forward) for unit `forward` (B, 3); world +z is "up" when possible."""
    up = torch.tensor([0.0, 0.0, 1.0], device=forward.device).expand_as(forward)
    right = torch.linalg.cross(forward, up)
    alt = torch.linalg.cross(forward, torch.tensor([0.0, 1.0, 0.0], device=forward.device).expand_as(forward))
    right = torch.where(right.norm(dim=-1, keepdim=True) < 1e-6, alt, right)
    right = right / right.norm(dim=-1, keepdim=True)
    down = torch.linalg.cross(forward, right)
    return torch.stack([right, down, forward], -1)


def light_view(scene: SceneBatch, light: Tensor, size: int) -> View:
    """A shadow camera for light `light` (B,) of each scene, covering `scene.shadow_region`.

    Directional lights get an orthographic view along the light direction; point lights a
    perspective view from the light towards the region's centre, wide enough to hold the region.
    """
    lights = scene.lights
    b = scene.batch_size
    dev = lights.position.device
    idx = torch.arange(b, device=dev)
    kind, pos = lights.kind[idx, light], lights.position[idx, light]
    cx, cy, cz, r = scene.shadow_region
    centre = torch.tensor([cx, cy, cz], device=dev).expand(b, 3)
    ortho = kind == DIRECTIONAL
    direction = pos / pos.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    to_centre = centre - pos
    dist = to_centre.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    forward = torch.where(ortho[:, None], -direction, to_centre / dist)
    eye = torch.where(ortho[:, None], centre + direction * (4 * r), pos)
    cam_to_world = torch.eye(4, device=dev).repeat(b, 1, 1)
    cam_to_world[:, :3, :3] = _basis(forward)
    cam_to_world[:, :3, 3] = eye
    half = torch.asin((r / dist[:, 0]).clamp(max=0.95)) * 1.05
    f_persp = (size / 2) / torch.tan(half)
    f = torch.where(ortho, torch.full_like(f_persp, size / (2 * r)), f_persp)
    c = torch.full_like(f, (size - 1) / 2)
    near = min(scene.near, 0.01)
    return View(invert_rigid(cam_to_world), torch.stack([f, f, c, c], -1), ortho, near, (size, size))


def assemble(view_pos: Tensor, scene: SceneBatch, shadow_pass: bool) -> tuple[Tensor, Tensor, Tensor]:
    """Gather view-space triangles of every instance slot.

    Args:
        view_pos: (B, K, V, 3) vertex positions in view axes.
        scene: the batch (faces, face counts, visibility, culling flags).
        shadow_pass: keep only instances that cast shadows.

    Returns:
        tris (B, T, 3, 3) with T = K * F, valid (B, T) bool, double_sided (B, T) bool.
    """
    bank, inst = scene.meshes, scene.instances
    b, k = view_pos.shape[:2]
    faces = bank.faces[inst.mesh]  # (B, K, F, 3)
    f = faces.shape[2]
    flat_idx = faces.reshape(b, k, f * 3, 1).expand(b, k, f * 3, 3)
    tris = torch.gather(view_pos, 2, flat_idx).reshape(b, k * f, 3, 3)
    real = torch.arange(f, device=faces.device)[None, None, :] < bank.num_faces[inst.mesh][:, :, None]
    keep = inst.visible & inst.cast_shadow if shadow_pass else inst.visible
    valid = (real & keep[:, :, None]).reshape(b, k * f)
    double = bank.double_sided[inst.mesh][:, :, None].expand(b, k, f).reshape(b, k * f)
    return tris, valid, double


def clip_near(tris: Tensor, valid: Tensor, near: float) -> tuple[Tensor, Tensor, Tensor]:
    """Clip triangles against the plane z = near; a triangle becomes zero, one or two triangles.

    Args:
        tris: (B, T, 3, 3) view-space vertices.
        valid: (B, T) bool.
        near: metres.

    Returns:
        sub (B, T, 2, 3, 3) sub-triangle vertices, weights (B, T, 2, 3, 3) over the source
        vertices, valid (B, T, 2) bool. Orientation is preserved.
    """
    z = tris[..., 2]
    inside = z >= near
    n_in = inside.sum(-1)
    # Rotate so that the "special" vertex comes first: the lone inside vertex (n_in == 1) or the lone
    # outside vertex (n_in == 2). Rotation keeps the winding.
    special = torch.where(n_in == 1, inside.to(torch.int8).argmax(-1), (~inside).to(torch.int8).argmax(-1))
    special = torch.where((n_in == 1) | (n_in == 2), special, torch.zeros_like(special))
    order = (special[..., None] + torch.arange(3, device=tris.device)) % 3  # (B, T, 3)
    rz = torch.gather(z, -1, order)
    za, zb, zc = rz[..., 0], rz[..., 1], rz[..., 2]
    t_ab = ((near - za) / (zb - za)).nan_to_num(0.0)
    t_ac = ((near - za) / (zc - za)).nan_to_num(0.0)
    one, zero = torch.ones_like(za), torch.zeros_like(za)
    a, b_, c = [torch.stack(x, -1) for x in ((one, zero, zero), (zero, one, zero), (zero, zero, one))]
    p_ab = torch.stack([1 - t_ab, t_ab, zero], -1)
    p_ac = torch.stack([1 - t_ac, zero, t_ac], -1)
    # Rotated-frame weights for each case: (sub-triangle, vertex, source vertex).
    full = torch.stack([torch.stack([a, b_, c], -2), torch.stack([a, b_, c], -2)], -3)
    one_in = torch.stack([torch.stack([a, p_ab, p_ac], -2), torch.stack([a, p_ab, p_ac], -2)], -3)
    two_in = torch.stack([torch.stack([p_ab, b_, c], -2), torch.stack([p_ab, c, p_ac], -2)], -3)
    case = n_in[..., None, None, None]
    w_rot = torch.where(case == 1, one_in, torch.where(case == 2, two_in, full))
    # Un-rotate the source-vertex axis: rotated vertex j is source vertex order[j].
    inv = torch.argsort(order, -1)
    w = torch.gather(w_rot, -1, inv[..., None, None, :].expand_as(w_rot))
    sub_valid = torch.stack([(n_in >= 1) & valid, (n_in == 2) & valid], -1)
    src = tris[..., None, None, :, :]  # (B, T, 1, 1, 3 source vertices, 3)
    sub = w[..., 0:1] * src[..., 0, :] + w[..., 1:2] * src[..., 1, :] + w[..., 2:3] * src[..., 2, :]
    return sub, w, sub_valid


def project(sub: Tensor, view: View) -> Tensor:
    """(B, ..., 3) view-space points to (B, ..., 4) (x, y, q, zq) pixel coordinates, see `Triangles`."""
    b = sub.shape[0]
    shape = (b,) + (1,) * (sub.dim() - 2)
    fx, fy, cx, cy = (view.proj[:, i].reshape(shape) for i in range(4))
    ortho = view.ortho.reshape(shape)
    x, y, z = sub[..., 0], sub[..., 1], sub[..., 2]
    q = torch.where(ortho, torch.ones_like(z), 1.0 / z)
    zq = torch.where(ortho, z, torch.ones_like(z))
    return torch.stack([fx * (x * q) + cx, fy * (y * q) + cy, q, zq], -1)


def triangles(
    scene: SceneBatch, world_pos: Tensor, view: View, cull_back: bool, shadow_pass: bool = False
) -> Triangles:
    """Screen-space triangles of `scene` seen from `view`, clipped, oriented and culled."""
    view_pos = transform_points(world_pos, view.world_to_view[:, None])
    tris, valid, double = assemble(view_pos, scene, shadow_pass)
    sub, w, sub_valid = clip_near(tris, valid, view.near)
    screen = project(sub, view)  # (B, T, 2, 3, 4)
    x, y = screen[..., 0], screen[..., 1]
    area = (x[..., 1] - x[..., 0]) * (y[..., 2] - y[..., 0]) - (y[..., 1] - y[..., 0]) * (x[..., 2] - x[..., 0])
    # OpenCV image axes flip y, so a counter-clockwise (front) face has negative area: swap two vertices
    # so that every triangle reaching the rasterizer has positive area.
    front = area < 0
    keep = sub_valid & (area != 0) & torch.isfinite(area)
    if cull_back:
        keep &= front | double[..., None]
    swap = torch.tensor([0, 2, 1], device=screen.device)
    screen = torch.where(front[..., None, None], screen[..., swap, :], screen)
    w = torch.where(front[..., None, None], w[..., swap, :], w)
    b, t = screen.shape[:2]
    return Triangles(screen.reshape(b, t * 2, 3, 4), w.reshape(b, t * 2, 3, 3), keep.reshape(b, t * 2))
