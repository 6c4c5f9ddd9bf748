"""Rotational symmetries of a mesh about its origin, in the BOP format (`models_info.json`).

BOP's symmetric pose errors (MSSD, MSPD, VSD) need each model's symmetries: `symmetries_discrete`, a list of
4 x 4 transforms (row-major, flattened, translation in the model's unit) that map the model onto itself,
and `symmetries_continuous`, axes (through `offset`) about which any rotation does. They are found here
from the geometry alone (textures are randomized, so only the shape matters):

- candidates are the 24 rotations of the cube and the rotations by 2 pi / n (n <= 64) about x, y and z;
  a candidate is a symmetry when it maps every vertex to within `tol` of a vertex;
- a rotation symmetry of order 8 or more about an axis is declared continuous (BOP does so for tessellated
  cylinders, cones and spheres);
- the discrete list is the group the symmetries found generate, without the identity and without what a
  continuous rotation already gives.

Example:
    >>> import numpy as np
    >>> cube = np.array([[x, y, z] for x in (-1.0, 1.0) for y in (-1.0, 1.0) for z in (-1.0, 1.0)])
    >>> s = symmetries(cube)
    >>> len(s["symmetries_discrete"]), s["symmetries_continuous"]
    (23, [])
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

CONTINUOUS_ORDER = 8  # a rotation symmetry of this order or more about an axis is declared continuous
MAX_ORDER = 64
MAX_GROUP = 512


def _axis_rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    a = axis / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def cube_rotations() -> list[np.ndarray]:
    """The 24 proper rotations of the cube (signed permutation matrices of determinant +1)."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((-1.0, 1.0), repeat=3):
            r = np.zeros((3, 3))
            for i, (j, s) in enumerate(zip(perm, signs)):
                r[i, j] = s
            if np.linalg.det(r) > 0:
                out.append(r)
    return out


class _VertexSet:
    """Nearest-vertex queries by brute force, with an early reject on a few probe vertices."""

    def __init__(self, vertices: np.ndarray, tol: float) -> None:
        self.v = np.unique(np.round(np.asarray(vertices, dtype=np.float64), 9), axis=0)
        self.tol = tol
        step = max(1, len(self.v) // 16)
        self.probe = self.v[::step][:16]

    def _all_near(self, pts: np.ndarray) -> bool:
        for lo in range(0, len(pts), 512):
            d = np.linalg.norm(pts[lo : lo + 512, None, :] - self.v[None, :, :], axis=-1).min(1)
            if (d > self.tol).any():
                return False
        return True

    def maps_onto_itself(self, r: np.ndarray) -> bool:
        return self._all_near(self.probe @ r.T) and self._all_near(self.v @ r.T)


def _order(vs: _VertexSet, axis: np.ndarray) -> int:
    """The largest n <= MAX_ORDER such that the rotation by 2 pi / n about `axis` is a symmetry (1 if none)."""
    for n in range(MAX_ORDER, 1, -1):
        if vs.maps_onto_itself(_axis_rotation(axis, 2 * math.pi / n)):
            return n
    return 1


def _is_about(r: np.ndarray, axis: np.ndarray) -> bool:
    """Whether rotation r is a rotation about `axis` (it leaves the axis fixed)."""
    return bool(np.allclose(r @ axis, axis, atol=1e-6))


def _close(group: list[np.ndarray], cap: int = MAX_GROUP) -> list[np.ndarray]:
    """The group the rotations in `group` generate (products until nothing new, at most `cap` elements)."""
    out = [np.eye(3)]
    for g in group:
        if not any(np.allclose(g, h, atol=1e-6) for h in out):
            out.append(g)
    grew = True
    while grew and len(out) < cap:
        grew = False
        for a, b in itertools.product(list(out), list(out)):
            c = a @ b
            if not any(np.allclose(c, h, atol=1e-6) for h in out):
                out.append(c)
                grew = True
                if len(out) >= cap:
                    break
    return out


def symmetries(vertices: np.ndarray, tol: float | None = None) -> dict[str, Any]:
    """The BOP symmetry entries of a mesh given by its vertices (V, 3), about its origin.

    Args:
        vertices: (V, 3) model vertices, any unit.
        tol: distance within which a mapped vertex must land on a vertex; default 1e-3 of the largest extent.

    Returns:
        {"symmetries_discrete": [16 floats, ...], "symmetries_continuous": [{"axis", "offset"}, ...]}.
    """
    v = np.asarray(vertices, dtype=np.float64)
    extent = float((v.max(0) - v.min(0)).max()) if len(v) else 0.0
    if extent <= 0:
        return {"symmetries_discrete": [], "symmetries_continuous": []}
    vs = _VertexSet(v, tol if tol is not None else 1e-3 * extent)
    axes = [np.eye(3)[i] for i in range(3)]
    orders = [_order(vs, a) for a in axes]
    continuous = [a for a, n in zip(axes, orders) if n >= CONTINUOUS_ORDER]
    found = [r for r in cube_rotations() if vs.maps_onto_itself(r)]
    found += [_axis_rotation(a, 2 * math.pi / n) for a, n in zip(axes, orders) if 1 < n < CONTINUOUS_ORDER]
    found += [_axis_rotation(a, math.pi) for a in continuous if vs.maps_onto_itself(_axis_rotation(a, math.pi))]
    discrete: list[np.ndarray] = []
    for r in _close(found):
        if any(_is_about(r, a) for a in continuous):  # the identity and what a continuous rotation gives
            continue
        if any(any(_is_about(k.T @ r, a) for a in continuous) for k in discrete):  # the same modulo a continuous one
            continue
        discrete.append(r)
    if not continuous:
        discrete = [r for r in discrete if not np.allclose(r, np.eye(3), atol=1e-6)]
    flat = []
    for r in discrete:
        m = np.eye(4)
        m[:3, :3] = np.round(r, 12) + 0.0
        flat.append(m.reshape(-1).tolist())
    cont = [{"axis": a.tolist(), "offset": [0.0, 0.0, 0.0]} for a in continuous]
    return {"symmetries_discrete": flat, "symmetries_continuous": cont}
