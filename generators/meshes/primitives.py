"""Primitive meshes: box, sphere, cylinder, cone, capsule, torus and the eight shapes of Tobin et al. 2017.

All sizes are metres; every mesh is closed, centred on its bounding box, with normals and UVs.

Example:
    >>> from domrand.generators.meshes import primitives
    >>> m = primitives.cylinder(radius=0.03, height=0.10)
    >>> [round(float(e), 3) for e in m.extents]
    [0.06, 0.06, 0.1]
"""

from __future__ import annotations

import math

import torch

from .builders import apex, extrusion, grid_surface
from .mesh import Mesh, flat_mesh


def _positive(**kw: float) -> None:
    for k, v in kw.items():
        if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            raise ValueError(f"{k} must be a positive finite number of metres, got {v!r}")


def regular_polygon(n: int, radius: float) -> torch.Tensor:
    """(n, 2) counter-clockwise vertices of a regular n-gon with circumradius `radius` metres."""
    if n < 3:
        raise ValueError(f"a polygon needs n >= 3 sides, got {n}")
    t = torch.arange(n, dtype=torch.float64) * (2 * math.pi / n)
    return (radius * torch.stack([t.cos(), t.sin()], -1)).to(torch.float32)


def box(size: tuple[float, float, float] = (0.05, 0.05, 0.05)) -> Mesh:
    """An axis-aligned box with edge lengths `size` = (x, y, z) metres; 12 triangles."""
    sx, sy, sz = (float(s) for s in size)
    _positive(size_x=sx, size_y=sy, size_z=sz)
    rect = torch.tensor([[-sx / 2, -sy / 2], [sx / 2, -sy / 2], [sx / 2, sy / 2], [-sx / 2, sy / 2]])
    # A quad fan from its centre would add vertices; a box is two triangles per side.
    v = torch.cat([torch.cat([rect, torch.full((4, 1), -sz / 2)], 1), torch.cat([rect, torch.full((4, 1), sz / 2)], 1)])
    f = torch.tensor(
        [
            [0, 2, 1],
            [0, 3, 2],
            [4, 5, 6],
            [4, 6, 7],
            [0, 1, 5],
            [0, 5, 4],
            [1, 2, 6],
            [1, 6, 5],
            [2, 3, 7],
            [2, 7, 6],
            [3, 0, 4],
            [3, 4, 7],
        ]
    )
    return flat_mesh(v, f, "box")


def cube(size: float = 0.05) -> Mesh:
    """A cube with edge `size` metres (the localization task's `cube` target: 0.05 m)."""
    return _named(box((size, size, size)), "cube")


def rectangular_prism(size: tuple[float, float, float] = (0.08, 0.04, 0.03)) -> Mesh:
    """A box that is not a cube; edge lengths (x, y, z) metres."""
    return _named(box(size), "rectangular_prism")


def cylinder(radius: float = 0.03, height: float = 0.10, segments: int = 32) -> Mesh:
    """A cylinder along z with smooth sides (the task's `cylinder` target: r 0.03 m, h 0.10 m)."""
    _positive(radius=radius, height=height)
    return extrusion(regular_polygon(segments, radius), height, "cylinder", smooth=True)


def prism(legs: tuple[float, float] = (0.06, 0.06), height: float = 0.05) -> Mesh:
    """A right triangular prism: legs (x, y) metres in the xy-plane, extruded `height` along z."""
    a, b = float(legs[0]), float(legs[1])
    _positive(leg_x=a, leg_y=b, height=height)
    return extrusion(torch.tensor([[0.0, 0.0], [a, 0.0], [0.0, b]]), height, "prism")


def triangular_prism(side: float = 0.06, height: float = 0.05) -> Mesh:
    """A prism on an equilateral triangle of edge `side` metres."""
    _positive(side=side, height=height)
    return _named(extrusion(regular_polygon(3, side / math.sqrt(3)), height, "triangular_prism"), "triangular_prism")


def hexagonal_prism(radius: float = 0.03, height: float = 0.05) -> Mesh:
    """A prism on a regular hexagon of circumradius `radius` metres."""
    _positive(radius=radius, height=height)
    return extrusion(regular_polygon(6, radius), height, "hexagonal_prism")


def cone(radius: float = 0.03, height: float = 0.06, segments: int = 32) -> Mesh:
    """A cone along z: a disc of `radius` metres and an apex `height` metres above it."""
    _positive(radius=radius, height=height)
    return apex(regular_polygon(segments, radius), height, "cone", smooth=True)


def pyramid(base: float = 0.05, height: float = 0.05) -> Mesh:
    """A square pyramid: base edge `base` metres, apex `height` metres above the base."""
    _positive(base=base, height=height)
    sq = regular_polygon(4, base / math.sqrt(2))
    rot = torch.tensor(
        [[math.cos(math.pi / 4), -math.sin(math.pi / 4)], [math.sin(math.pi / 4), math.cos(math.pi / 4)]]
    )
    return apex(sq @ rot.T, height, "pyramid")


def tetrahedron(edge: float = 0.06) -> Mesh:
    """A regular tetrahedron with edge `edge` metres, one face on z = min."""
    _positive(edge=edge)
    h = edge * math.sqrt(2.0 / 3.0)
    return _named(apex(regular_polygon(3, edge / math.sqrt(3)), h, "tetrahedron"), "tetrahedron")


def sphere(radius: float = 0.03, rings: int = 16, segments: int = 32) -> Mesh:
    """A UV sphere of `radius` metres."""
    _positive(radius=radius)
    theta = torch.linspace(0, math.pi, rings + 1, dtype=torch.float64)[:, None]  # from +z down
    phi = torch.linspace(0, 2 * math.pi, segments + 1, dtype=torch.float64)[None, :]
    n = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos().expand_as(phi * theta)], -1)
    n[:, -1] = n[:, 0]
    return grid_surface((radius * n).float(), n.float(), "sphere")


def capsule(radius: float = 0.02, length: float = 0.04, rings: int = 16, segments: int = 32) -> Mesh:
    """A capsule along z: a cylinder of `length` metres between two hemispheres of `radius` metres."""
    _positive(radius=radius, length=length)
    half = rings // 2
    theta = torch.cat([torch.linspace(0, math.pi / 2, half + 1), torch.linspace(math.pi / 2, math.pi, half + 1)])
    theta = theta.to(torch.float64)[:, None]
    phi = torch.linspace(0, 2 * math.pi, segments + 1, dtype=torch.float64)[None, :]
    n = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos().expand_as(phi * theta)], -1)
    n[:, -1] = n[:, 0]
    shift = torch.zeros(theta.shape[0], 1, 3, dtype=torch.float64)
    shift[: half + 1, :, 2] = length / 2
    shift[half + 1 :, :, 2] = -length / 2
    return grid_surface((radius * n + shift).float(), n.float(), "capsule")


def torus(major: float = 0.03, minor: float = 0.01, rings: int = 16, segments: int = 32) -> Mesh:
    """A torus around z: tube of radius `minor` metres on a circle of radius `major` metres."""
    _positive(major=major, minor=minor)
    if minor >= major:
        raise ValueError(f"torus needs minor < major, got minor={minor}, major={major}")
    a = torch.linspace(0, 2 * math.pi, rings + 1, dtype=torch.float64)[:, None]  # around the tube
    phi = torch.linspace(0, 2 * math.pi, segments + 1, dtype=torch.float64)[None, :]
    n = torch.stack([a.cos() * phi.cos(), a.cos() * phi.sin(), a.sin().expand_as(a * phi)], -1)
    centre = torch.stack([phi.cos(), phi.sin(), torch.zeros_like(phi)], -1) * major
    p = centre + minor * n
    p[:, -1], n[:, -1] = p[:, 0], n[:, 0]
    p[-1], n[-1] = p[0], n[0]
    # Rows run around the tube, not pole to pole: flip so faces point outward.
    return grid_surface(p.flip(0).float(), n.flip(0).float(), "torus", parts=_torus_parts(major, minor))


def _torus_parts(major: float, minor: float, pieces: int = 8) -> tuple[torch.Tensor, ...]:
    """Convex pieces of a torus for physics: short cylinders along its ring, each a point set."""
    parts = []
    ring = regular_polygon(12, minor).to(torch.float64)
    for i in range(pieces):
        pts = []
        for phi in (2 * math.pi * i / pieces, 2 * math.pi * (i + 1) / pieces):
            c = torch.tensor([math.cos(phi), math.sin(phi), 0.0], dtype=torch.float64)
            pts.append(
                c * major + ring[:, :1] * c + torch.cat([torch.zeros(12, 2, dtype=torch.float64), ring[:, 1:]], 1)
            )
        parts.append(torch.cat(pts).float())
    return tuple(parts)


def _named(mesh: Mesh, name: str) -> Mesh:
    return Mesh(mesh.vertices, mesh.faces, mesh.normals, mesh.uvs, mesh.parts, name)


#: The paper's eight target shapes (Tobin et al. 2017), by name, at their default sizes.
PAPER_SHAPES = {
    "cone": cone,
    "cube": cube,
    "cylinder": cylinder,
    "hexagonal_prism": hexagonal_prism,
    "pyramid": pyramid,
    "rectangular_prism": rectangular_prism,
    "tetrahedron": tetrahedron,
    "triangular_prism": triangular_prism,
}

#: Every primitive by name, at its default size.
PRIMITIVES = {**PAPER_SHAPES, "box": box, "sphere": sphere, "capsule": capsule, "torus": torus, "prism": prism}
