"""Procedurally generated random objects, in the spirit of Tobin et al. 2018: unions of random convex
pieces, superquadrics and random extrusions, and (only when asked for by name) sharp-edged convex prisms
(boxes, slabs, bricks and discs) and open shells (cups, boxes, trays and tubes with walls of some thickness).
The same seed gives the same mesh.

Every object is closed, centred on its bounding box, scaled to a largest extent of 1 m (scale it with
`Mesh.scaled_to`), and carries its convex pieces for physics.

Example:
    >>> from domrand.generators.meshes import procedural
    >>> m = procedural.random_object(seed=3)
    >>> round(float(m.extents.max()), 4), m.name in procedural.FAMILIES
    (1.0, True)
"""

from __future__ import annotations

import math

import torch

from ..transforms import rotation_entries
from .builders import extrusion, grid_surface
from .hull import convex_hull
from .mesh import Mesh, flat_mesh, merge
from .primitives import regular_polygon


def _u(rng: torch.Generator, lo: float, hi: float, shape: tuple[int, ...] = ()) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(shape, generator=rng, dtype=torch.float64)


def convex_piece(rng: torch.Generator, size: torch.Tensor, points: int = 12) -> Mesh:
    """A random convex polytope: the hull of `points` random points in a box of `size` (3,) metres."""
    if points < 4:
        raise ValueError(f"a convex piece needs >= 4 points, got {points}")
    for _ in range(8):
        pts = (torch.rand(points, 3, generator=rng, dtype=torch.float64) - 0.5) * size.double()
        try:
            verts, faces = convex_hull(pts)
        except ValueError:
            continue  # coplanar draw: try again (rare)
        return flat_mesh(verts, faces, "convex_piece", parts=(verts,))
    raise ValueError("could not draw a non-degenerate convex piece")


def _random_rotation(rng: torch.Generator) -> torch.Tensor:
    """(3, 3) float64 rotation, uniform on SO(3) (from a random unit quaternion)."""
    q = torch.randn(4, generator=rng, dtype=torch.float64)
    return torch.tensor(rotation_entries(*(q / q.norm()).tolist()), dtype=torch.float64).reshape(3, 3)


def convex_union(rng: torch.Generator, pieces: int | None = None) -> Mesh:
    """A union of 1 to 15 random convex pieces, each attached at a point of an earlier one.

    Args:
        rng: the only source of randomness.
        pieces: number of pieces (default: uniform in [1, 15]).
    """
    n = int(torch.randint(1, 16, (1,), generator=rng)) if pieces is None else pieces
    if not 1 <= n <= 15:
        raise ValueError(f"pieces must be in [1, 15], got {n}")
    parts: list[Mesh] = []
    centres: list[torch.Tensor] = []
    for i in range(n):
        size = _u(rng, 0.15, 0.6, (3,))
        piece = convex_piece(rng, size, points=int(torch.randint(6, 16, (1,), generator=rng)))
        rot = _random_rotation(rng)
        if i == 0:
            centre = torch.zeros(3, dtype=torch.float64)
        else:
            host = int(torch.randint(0, i, (1,), generator=rng))
            anchor = (
                parts[host].vertices[int(torch.randint(0, parts[host].vertices.shape[0], (1,), generator=rng))].double()
            )
            centre = anchor + (anchor - centres[host]) * _u(rng, 0.0, 0.3)
        v = piece.vertices.double() @ rot.T + centre
        moved = flat_mesh(
            v,
            torch.arange(v.shape[0]).reshape(-1, 3),
            "convex_piece",
            parts=(piece.parts[0].double() @ rot.T + centre,),
        )
        parts.append(moved)
        centres.append(centre)
    return _normalised(merge(parts, "convex_union"))


def _spow(x: torch.Tensor, e: float) -> torch.Tensor:
    """sign(x) |x|^e, and 0 where x is 0 whatever e (a negative e made that 0 * inf = NaN)."""
    return torch.where(x == 0, 0.0, x.sign() * x.abs().pow(e))


def superquadric(rng: torch.Generator, rings: int = 12, segments: int = 20) -> Mesh:
    """A random superquadric: semi-axes in [0.3, 1], shape exponents in [0.3, 2.5] (boxy to pinched)."""
    a, b, c = _u(rng, 0.3, 1.0, (3,)).tolist()
    e1, e2 = _u(rng, 0.3, 2.5, (2,)).tolist()
    eta = torch.linspace(-math.pi / 2, math.pi / 2, rings + 1, dtype=torch.float64).flip(0)[:, None]
    omega = torch.linspace(-math.pi, math.pi, segments + 1, dtype=torch.float64)[None, :]
    cos_eta = eta.cos()
    cos_eta[0], cos_eta[-1] = 0.0, 0.0  # exact poles, so the first and last rows collapse to a point
    ce, se, co, so = _spow(cos_eta, e1), _spow(eta.sin(), e1), _spow(omega.cos(), e2), _spow(omega.sin(), e2)
    p = torch.stack([a * ce * co, b * ce * so, (c * se).expand_as(ce * co)], -1)
    # Normals of the implicit surface: gradient of (|x/a|^(2/e2) + |y/b|^(2/e2))^(e2/e1) + |z/c|^(2/e1).
    n = torch.stack(
        [_spow(cos_eta, 2 - e1) * _spow(omega.cos(), 2 - e2) / a, _spow(cos_eta, 2 - e1) * _spow(omega.sin(), 2 - e2) / b,
         (_spow(eta.sin(), 2 - e1) / c).expand_as(co * ce)], -1,
    )  # fmt: skip
    n[0], n[-1] = torch.tensor([0.0, 0.0, 1.0]), torch.tensor([0.0, 0.0, -1.0])
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    p[:, -1], n[:, -1] = p[:, 0], n[:, 0]
    verts, _ = convex_hull(p.reshape(-1, 3))
    return _normalised(grid_surface(p.float(), n.float(), "superquadric", parts=(verts,)))


def random_extrusion(rng: torch.Generator) -> Mesh:
    """A random star-shaped polygon (5 to 14 corners, radii 0.3 to 1) extruded to a random height."""
    k = int(torch.randint(5, 15, (1,), generator=rng))
    angles = torch.sort(torch.rand(k, generator=rng, dtype=torch.float64) * 2 * math.pi).values
    gaps = torch.diff(torch.cat([angles, angles[:1] + 2 * math.pi]))
    if float(gaps.max()) > math.pi * 0.9:  # keep the centre inside: spread the corners evenly instead
        angles = torch.arange(k, dtype=torch.float64) * (2 * math.pi / k) + _u(rng, 0, 2 * math.pi / k)
    radii = _u(rng, 0.3, 1.0, (k,))
    poly = torch.stack([radii * angles.cos(), radii * angles.sin()], -1)
    return _normalised(extrusion(poly.float(), float(_u(rng, 0.2, 1.2)), "random_extrusion"))


def _prism_outline(rng: torch.Generator) -> torch.Tensor:
    """(N, 2) float64 counter-clockwise outline: a rectangle (a third of the time, sides along the axes) or a
    regular polygon of 3 to 24 corners, stretched to an aspect of 0.3 to 1 across."""
    n = 4 if float(torch.rand((), generator=rng)) < 1 / 3 else int(torch.randint(3, 25, (1,), generator=rng))
    poly = regular_polygon(n, 1.0).double()
    if n == 4:
        poly = poly @ torch.tensor([[1.0, 1.0], [-1.0, 1.0]], dtype=torch.float64) / math.sqrt(2.0)
    return poly * torch.tensor([1.0, float(_u(rng, 0.3, 1.0))], dtype=torch.float64)


def random_prism(rng: torch.Generator) -> Mesh:
    """A random convex prism with sharp edges: a rectangle (a third of the time) or a regular polygon of 3 to
    24 corners (a disc from about 12), stretched to an aspect of 0.3 to 1 across, extruded to 0.1 to 1.2 of its
    width: boxes, slabs, bricks, plates and discs, the flat-faced shapes the other families seldom make."""
    poly = _prism_outline(rng)
    width = float((poly.max(0).values - poly.min(0).values).max())
    return _normalised(extrusion(poly.float(), width * float(_u(rng, 0.1, 1.2)), "random_prism"))


def random_shell(rng: torch.Generator) -> Mesh:
    """A random open shell: the outline of a `random_prism` (`_prism_outline`: a rectangle or a regular polygon
    of 3 to 24 corners, up to a round cup), its walls 0.05 to 0.2 of its width thick and 0.15 to 1.0 of
    its width high, on a floor 0.05 to 0.2 of its width thick, or none (a tube) a quarter of the time: cups,
    boxes, trays and tubes, whose rims and walls are grasped across their thickness. One convex piece per
    wall segment and one for the floor, as physics needs for the cavity.
    """
    outer = _prism_outline(rng)
    n = outer.shape[0]
    half = (outer.max(0).values - outer.min(0).values) / 2  # (2,) half extents
    width = 2 * float(half.max())
    wall = width * float(_u(rng, 0.05, 0.2))
    height = width * float(_u(rng, 0.15, 1.0))
    floor = width * float(_u(rng, 0.05, 0.2)) if float(torch.rand((), generator=rng)) >= 0.25 else 0.0
    inner = outer * ((half - wall).clamp_min(0.25 * half) / half)  # the same outline, walls about `wall` thick
    pieces = []
    for i in range(n):
        j = (i + 1) % n
        quad = torch.stack([outer[i], outer[j], inner[j], inner[i]])  # a convex trapezoid
        pieces.append(_slab(quad, floor, floor + height))
    if floor > 0:
        pieces.append(_slab(outer, 0.0, floor))
    return _normalised(merge(pieces, "random_shell"))


def _slab(poly: torch.Tensor, z0: float, z1: float) -> Mesh:
    """The convex prism over polygon `poly` (N, 2) from z0 to z1 metres, as one convex piece."""
    lo = torch.cat([poly, torch.full((poly.shape[0], 1), z0, dtype=poly.dtype)], 1)
    hi = torch.cat([poly, torch.full((poly.shape[0], 1), z1, dtype=poly.dtype)], 1)
    verts, faces = convex_hull(torch.cat([lo, hi]))
    return flat_mesh(verts, faces, "shell_piece", parts=(verts,))


def _normalised(mesh: Mesh) -> Mesh:
    return mesh.centered().scaled_to(1.0)


FAMILIES = {
    "convex_union": convex_union,
    "superquadric": superquadric,
    "random_extrusion": random_extrusion,
    "random_prism": random_prism,
    "random_shell": random_shell,
}


def random_object(seed: int, family: str | None = None) -> Mesh:
    """The procedural object for `seed`: family chosen by the seed unless given.

    Args:
        seed: non-negative int; the same seed always gives the same mesh.
        family: one of `FAMILIES`, or None for a seeded choice (half convex unions, a quarter each of
            superquadrics and random extrusions; `random_prism` and `random_shell` only by name, so that every
            seed keeps the object it always had).
    """
    if not (isinstance(seed, int) and seed >= 0):
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    rng = torch.Generator().manual_seed(seed)
    if family is None:
        r = float(torch.rand((), generator=rng))
        family = "convex_union" if r < 0.5 else ("superquadric" if r < 0.75 else "random_extrusion")
    if family not in FAMILIES:
        raise ValueError(f"unknown procedural family {family!r}; known: {sorted(FAMILIES)}")
    return FAMILIES[family](rng)
