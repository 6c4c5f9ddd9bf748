"""Export meshes for other tools: OBJ (with normals and UVs), binary STL, and convex parts for physics.

Example:
    >>> import tempfile, pathlib
    >>> from domrand.generators.meshes import primitives, export
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> export.write_obj(primitives.cube(), d / "cube.obj").name
    'cube.obj'
"""

from __future__ import annotations

import struct
from pathlib import Path

import torch

from .hull import convex_hull
from .mesh import Mesh


def obj_text(mesh: Mesh) -> str:
    """Wavefront OBJ text: positions, texture coordinates, normals, 1-based faces."""
    lines = [f"# {mesh.name}: {mesh.vertices.shape[0]} vertices, {mesh.faces.shape[0]} faces, metres"]
    lines += [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in mesh.vertices.tolist()]
    lines += [f"vt {u:.9g} {v:.9g}" for u, v in mesh.uvs.tolist()]
    lines += [f"vn {x:.9g} {y:.9g} {z:.9g}" for x, y, z in mesh.normals.tolist()]
    lines += [f"f {a}/{a}/{a} {b}/{b}/{b} {c}/{c}/{c}" for a, b, c in (mesh.faces + 1).tolist()]
    return "\n".join(lines) + "\n"


def write_obj(mesh: Mesh, path: str | Path) -> Path:
    """Write `mesh` as OBJ to `path`; returns the path."""
    p = Path(path)
    p.write_text(obj_text(mesh))
    return p


def write_stl(mesh: Mesh, path: str | Path) -> Path:
    """Write `mesh` as binary STL (facet normals from the geometry) to `path`."""
    tri = mesh.vertices[mesh.faces].double()
    n = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-20)
    out = bytearray(b"domrand " + mesh.name.encode()[:72].ljust(72, b" "))
    out += struct.pack("<I", tri.shape[0])
    for nn, t in zip(n.tolist(), tri.tolist()):
        out += struct.pack("<12fH", *nn, *t[0], *t[1], *t[2], 0)
    p = Path(path)
    p.write_bytes(bytes(out))
    return p


def convex_parts(mesh: Mesh) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Each convex part as (vertices (H, 3) float32, faces (F, 3) int64) of its hull."""
    return [convex_hull(p) for p in mesh.parts]


def write_parts_obj(mesh: Mesh, path: str | Path) -> Path:
    """Write the convex parts as one OBJ with an `o` group per part (what PyBullet and V-HACD use)."""
    lines = [f"# convex parts of {mesh.name}"]
    offset = 1
    for i, (v, f) in enumerate(convex_parts(mesh)):
        lines.append(f"o part_{i}")
        lines += [f"v {x:.9g} {y:.9g} {z:.9g}" for x, y, z in v.tolist()]
        lines += [f"f {a} {b} {c}" for a, b, c in (f + offset).tolist()]
        offset += v.shape[0]
    p = Path(path)
    p.write_text("\n".join(lines) + "\n")
    return p
