"""Low-level closed-surface builders shared by the primitive and procedural mesh generators.

Every builder returns a `Mesh` centred on its bounding box, with outward counter-clockwise faces.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .mesh import Mesh, flat_mesh, merge


def polygon_area(poly: Tensor) -> float:
    """Signed area (m^2) of a (N, 2) polygon; positive when counter-clockwise."""
    x, y = poly[:, 0], poly[:, 1]
    return float(0.5 * (x * y.roll(-1) - x.roll(-1) * y).sum())


def _cap_fan(n: int, centre: int, ring: Tensor, up: bool) -> Tensor:
    """Faces of a fan from vertex `centre` to the ring indices `ring` (N,), CCW seen from +z if `up`."""
    a, b = ring, ring.roll(-1)
    c = torch.full_like(a, centre)
    return torch.stack([c, a, b], -1) if up else torch.stack([c, b, a], -1)


def extrusion(polygon: Tensor, height: float, name: str, smooth: bool = False) -> Mesh:
    """A prism: a star-shaped polygon in the xy-plane extruded along z.

    Args:
        polygon: (N, 2) float vertices, metres, counter-clockwise, star-shaped about their mean.
        height: extent along z, metres.
        name: the mesh's name.
        smooth: smooth side normals (a cylinder) instead of flat facets (a prism).

    Returns:
        A closed `Mesh` centred on its bounding box.
    """
    poly = polygon.to(torch.float32)
    if poly.ndim != 2 or poly.shape[0] < 3 or poly.shape[1] != 2:
        raise ValueError(f"polygon must be (N>=3, 2), got {tuple(poly.shape)}")
    if not height > 0:
        raise ValueError(f"height must be > 0 metres, got {height}")
    if polygon_area(poly) <= 0:
        raise ValueError("polygon must be counter-clockwise with positive area")
    n = poly.shape[0]
    lo = torch.cat([poly, torch.zeros(n, 1)], 1)
    hi = torch.cat([poly, torch.full((n, 1), height)], 1)
    centre = poly.mean(0)
    verts = torch.cat([lo, hi, torch.tensor([[*centre.tolist(), 0.0], [*centre.tolist(), height]])])
    ring = torch.arange(n)
    caps = torch.cat([_cap_fan(n, 2 * n, ring, up=False), _cap_fan(n, 2 * n + 1, ring + n, up=True)])
    a, b = ring, ring.roll(-1)
    sides = torch.cat([torch.stack([a, b, b + n], -1), torch.stack([a, b + n, a + n], -1)])
    convex = _is_convex(poly)
    parts = (verts,) if convex else tuple(_wedge_parts(poly, height))
    if not smooth:
        return flat_mesh(verts, torch.cat([caps, sides]), name, parts).centered()
    cap_mesh = flat_mesh(verts, caps, name, parts)
    side = _smooth_band(poly, height)
    return merge([cap_mesh, side], name).centered()


def _is_convex(poly: Tensor) -> bool:
    d1 = poly.roll(-1, 0) - poly
    d2 = poly.roll(-2, 0) - poly.roll(-1, 0)
    cross = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]
    return bool((cross >= -1e-12).all())


def _wedge_parts(poly: Tensor, height: float) -> list[Tensor]:
    """Convex pieces of a star-shaped extrusion: one triangular prism per polygon edge."""
    c = poly.mean(0)
    parts = []
    for i in range(poly.shape[0]):
        tri = torch.stack([c, poly[i], poly[(i + 1) % poly.shape[0]]])
        lo = torch.cat([tri, torch.zeros(3, 1)], 1)
        parts.append(torch.cat([lo, lo + torch.tensor([0.0, 0.0, height])]))
    return parts


def _smooth_band(poly: Tensor, height: float) -> Mesh:
    """The side wall of an extrusion with per-vertex radial normals and a UV seam."""
    n = poly.shape[0]
    ring = torch.cat([poly, poly[:1]])  # seam: first vertex repeated
    lo = torch.cat([ring, torch.zeros(n + 1, 1)], 1)
    hi = torch.cat([ring, torch.full((n + 1, 1), height)], 1)
    radial = ring - poly.mean(0)
    nrm = torch.cat([radial / radial.norm(dim=-1, keepdim=True), torch.zeros(n + 1, 1)], 1)
    seg = (ring[1:] - ring[:-1]).norm(dim=-1)
    u = torch.cat([torch.zeros(1), seg.cumsum(0)]) * 10.0
    uv_lo = torch.stack([u, torch.zeros(n + 1)], -1)
    uv_hi = torch.stack([u, torch.full((n + 1,), height * 10.0)], -1)
    i = torch.arange(n)
    faces = torch.cat([torch.stack([i, i + 1, i + 1 + n + 1], -1), torch.stack([i, i + 1 + n + 1, i + n + 1], -1)])
    return Mesh(torch.cat([lo, hi]), faces, torch.cat([nrm, nrm]), torch.cat([uv_lo, uv_hi]), (), "band")


def apex(polygon: Tensor, height: float, name: str, smooth: bool = False) -> Mesh:
    """A cone or pyramid: a convex polygon base in the xy-plane joined to an apex above its centre.

    Args:
        polygon: (N, 2) float base vertices, metres, counter-clockwise, convex.
        height: apex height, metres.
        name: the mesh's name.
        smooth: smooth side normals (a cone) instead of flat facets (a pyramid).
    """
    poly = polygon.to(torch.float32)
    if not height > 0:
        raise ValueError(f"height must be > 0 metres, got {height}")
    if polygon_area(poly) <= 0:
        raise ValueError("polygon must be counter-clockwise with positive area")
    n = poly.shape[0]
    c = poly.mean(0)
    base = torch.cat([poly, torch.zeros(n, 1)], 1)
    top = torch.tensor([[c[0], c[1], height]])
    verts = torch.cat([base, torch.tensor([[c[0], c[1], 0.0]]), top])
    ring = torch.arange(n)
    base_faces = _cap_fan(n, n, ring, up=False)
    side_faces = torch.stack([ring, ring.roll(-1), torch.full_like(ring, n + 1)], -1)
    if not smooth:
        return flat_mesh(verts, torch.cat([base_faces, side_faces]), name).centered()
    base_mesh = flat_mesh(verts, base_faces, name)
    # Smooth sides: one apex vertex per segment, so each facet's apex normal is its own mid-direction.
    ring1 = torch.cat([poly, poly[:1]])
    radial = ring1 - c
    radial = radial / radial.norm(dim=-1, keepdim=True)
    r_mean = float((poly - c).norm(dim=-1).mean())
    slope = r_mean / height
    nrm = torch.cat([radial, torch.full((n + 1, 1), slope)], 1)
    nrm = nrm / nrm.norm(dim=-1, keepdim=True)
    mid = (nrm[:-1] + nrm[1:]) / 2
    mid = mid / mid.norm(dim=-1, keepdim=True)
    ring_v = torch.cat([ring1, torch.zeros(n + 1, 1)], 1)
    apex_v = top.expand(n, 3)
    u = torch.linspace(0, 1, n + 1) * 2 * math.pi * r_mean * 10.0
    uvs = torch.cat(
        [
            torch.stack([u, torch.zeros(n + 1)], -1),
            torch.stack([(u[:-1] + u[1:]) / 2, torch.full((n,), height * 10.0)], -1),
        ]
    )
    i = torch.arange(n)
    faces = torch.stack([i, i + 1, i + n + 1], -1)
    side = Mesh(torch.cat([ring_v, apex_v]), faces, torch.cat([nrm, mid]), uvs, (), "cone_side")
    return merge([base_mesh, side], name).centered()


def grid_surface(points: Tensor, normals: Tensor, name: str, parts: tuple[Tensor, ...] = ()) -> Mesh:
    """A closed surface from a (R+1, C+1, 3) grid whose last column repeats the first (a UV seam).

    Rows run from one pole to the other; rows that collapse to a point (poles) and the zero-area
    triangles they create are handled by dropping those triangles.

    Args:
        points: (R+1, C+1, 3) float32 positions, metres.
        normals: (R+1, C+1, 3) float32 unit normals.
        name: the mesh's name.
        parts: convex pieces; defaults to one piece, all points.
    """
    r1, c1, _ = points.shape
    spread = (points - points[:, :1]).norm(dim=-1).amax(-1)  # (R+1,) rows that collapse to a pole
    points = torch.where((spread < 1e-7)[:, None, None], points[:, :1].expand_as(points), points)
    idx = torch.arange(r1 * c1).reshape(r1, c1)
    a, b = idx[:-1, :-1].reshape(-1), idx[:-1, 1:].reshape(-1)
    c, d = idx[1:, :-1].reshape(-1), idx[1:, 1:].reshape(-1)
    faces = torch.cat([torch.stack([a, c, d], -1), torch.stack([a, d, b], -1)])
    v = points.reshape(-1, 3)
    tri = v[faces]
    collapsed = (tri[:, 0] == tri[:, 1]).all(-1) | (tri[:, 1] == tri[:, 2]).all(-1) | (tri[:, 2] == tri[:, 0]).all(-1)
    faces = faces[~collapsed]
    uu = torch.linspace(0, 1, c1)[None, :].expand(r1, c1)
    vv = torch.linspace(0, 1, r1)[:, None].expand(r1, c1)
    uvs = torch.stack([uu * 4, vv * 2], -1).reshape(-1, 2)
    mesh = Mesh(v.contiguous(), faces, normals.reshape(-1, 3).contiguous(), uvs, parts or (v,), name)
    return mesh.centered()
