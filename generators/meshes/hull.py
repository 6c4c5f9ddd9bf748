"""A small, deterministic 3-D convex hull (incremental algorithm) for point sets of up to a few hundred points.

Example:
    >>> import torch
    >>> cube = torch.tensor([[x, y, z] for x in (0.0, 1.0) for y in (0.0, 1.0) for z in (0.0, 1.0)])
    >>> verts, faces = convex_hull(cube)
    >>> tuple(verts.shape), tuple(faces.shape)
    ((8, 3), (12, 3))
"""

from __future__ import annotations

import torch
from torch import Tensor

Vec = tuple[float, float, float]


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _dot(a: Vec, b: Vec) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _norm2(a: Vec) -> float:
    return _dot(a, a)


def convex_hull(points: Tensor, eps: float = 1e-9) -> tuple[Tensor, Tensor]:
    """Convex hull of (N, 3) points.

    Args:
        points: (N >= 4, 3) float positions, not all coplanar.
        eps: distance below which a point counts as on a face's plane (relative to the extent).

    Returns:
        vertices (H, 3) float32 (the hull's corners, in input order) and faces (F, 3) int64,
        counter-clockwise seen from outside.

    Raises:
        ValueError: fewer than 4 points, non-finite values, or all points (nearly) coplanar.
    """
    if points.ndim != 2 or points.shape[1] != 3 or points.shape[0] < 4:
        raise ValueError(f"convex_hull needs (N >= 4, 3) points, got {tuple(points.shape)}")
    if not bool(torch.isfinite(points).all()):
        raise ValueError("convex_hull got non-finite points")
    pts: list[Vec] = [tuple(p) for p in points.double().tolist()]  # type: ignore[misc]
    scale = max(max(abs(c) for c in p) for p in pts) or 1.0
    tol = eps * scale
    faces = _initial_tetrahedron(pts, tol)
    used = {i for f in faces for i in f}
    planes: dict[tuple[int, int, int], tuple[float, float, float, float]] = {}  # each face's plane, computed once
    for i in range(len(pts)):
        if i in used:
            continue
        faces = _add_point(pts, faces, i, tol, planes)
    keep = sorted({i for f in faces for i in f})
    remap = {old: new for new, old in enumerate(keep)}
    verts = torch.tensor([pts[i] for i in keep], dtype=torch.float64).to(torch.float32)
    return verts, torch.tensor([[remap[i] for i in f] for f in faces], dtype=torch.int64)


def _plane(pts: list[Vec], f: tuple[int, int, int]) -> tuple[Vec, float]:
    a, b, c = pts[f[0]], pts[f[1]], pts[f[2]]
    n = _cross(_sub(b, a), _sub(c, a))
    length = _norm2(n) ** 0.5 or 1.0
    n = (n[0] / length, n[1] / length, n[2] / length)
    return n, _dot(n, a)


def _initial_tetrahedron(pts: list[Vec], tol: float) -> list[tuple[int, int, int]]:
    i0 = min(range(len(pts)), key=lambda i: pts[i])
    i1 = max(range(len(pts)), key=lambda i: _norm2(_sub(pts[i], pts[i0])))
    d01 = _sub(pts[i1], pts[i0])
    i2 = max(range(len(pts)), key=lambda i: _norm2(_cross(d01, _sub(pts[i], pts[i0]))))
    n = _cross(d01, _sub(pts[i2], pts[i0]))
    i3 = max(range(len(pts)), key=lambda i: abs(_dot(n, _sub(pts[i], pts[i0]))))
    vol = _dot(n, _sub(pts[i3], pts[i0]))
    if abs(vol) <= tol * (_norm2(n) ** 0.5) or len({i0, i1, i2, i3}) < 4:
        raise ValueError("convex_hull got (nearly) coplanar points")
    if vol > 0:  # i3 above the plane (i0, i1, i2): flip the base so that every face points outward
        i1, i2 = i2, i1
    return [(i0, i1, i2), (i0, i3, i1), (i1, i3, i2), (i2, i3, i0)]


def _add_point(
    pts: list[Vec], faces: list[tuple[int, int, int]], i: int, tol: float,
    planes: dict[tuple[int, int, int], tuple[float, float, float, float]],
) -> list[tuple[int, int, int]]:  # fmt: skip
    p0, p1, p2 = pts[i]
    visible = []
    for f in faces:
        q = planes.get(f)
        if q is None:
            n, d = _plane(pts, f)
            q = planes[f] = (n[0], n[1], n[2], d)
        visible.append(q[0] * p0 + q[1] * p1 + q[2] * p2 - q[3] > tol)  # _dot(n, p) - d, the same operations
    if not any(visible):
        return faces
    edges_of_visible = set()
    for f, vis in zip(faces, visible):
        if vis:
            edges_of_visible.update({(f[0], f[1]), (f[1], f[2]), (f[2], f[0])})
    horizon = [e for e in edges_of_visible if (e[1], e[0]) not in edges_of_visible]
    kept = [f for f, vis in zip(faces, visible) if not vis]
    return kept + [(a, b, i) for a, b in sorted(horizon)]
