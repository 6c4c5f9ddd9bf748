"""The `Mesh` value every mesh generator returns, and helpers that build one from raw triangles."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True, eq=False)
class Mesh:
    """A closed triangle mesh in metres, ready for rendering and physics.

    Attributes:
        vertices: (V, 3) float32 positions, metres, object frame.
        faces: (F, 3) int64 vertex indices, counter-clockwise seen from outside (outward normals).
        normals: (V, 3) float32 unit shading normals.
        uvs: (V, 2) float32 texture coordinates (repeat addressing, so values may leave [0, 1]).
        parts: convex pieces for physics, each a (P, 3) float32 point set whose convex hull is the
            piece; a convex mesh has one part, its own vertices.
        name: what made it, e.g. ``"box"`` or ``"convex_union"``.

    Example:
        >>> from domrand.generators.meshes import primitives
        >>> m = primitives.box((0.05, 0.05, 0.05))
        >>> tuple(m.faces.shape), m.name
        ((12, 3), 'box')
    """

    vertices: Tensor
    faces: Tensor
    normals: Tensor
    uvs: Tensor
    parts: tuple[Tensor, ...]
    name: str = "mesh"

    def __post_init__(self) -> None:
        v, f = self.vertices, self.faces
        if v.ndim != 2 or v.shape[1] != 3:
            raise ValueError(f"vertices must be (V, 3), got {tuple(v.shape)}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise ValueError(f"faces must be (F, 3), got {tuple(f.shape)}")
        if self.normals.shape != v.shape:
            raise ValueError(f"normals must be {tuple(v.shape)}, got {tuple(self.normals.shape)}")
        if self.uvs.shape != (v.shape[0], 2):
            raise ValueError(f"uvs must be ({v.shape[0]}, 2), got {tuple(self.uvs.shape)}")

    @property
    def extents(self) -> Tensor:
        """(3,) size of the axis-aligned bounding box, metres."""
        return self.vertices.amax(0) - self.vertices.amin(0)

    def transformed(self, scale: float | Tensor = 1.0, translate: Tensor | None = None) -> Mesh:
        """A copy scaled (uniform or per axis) about the origin, then translated (metres)."""
        s = torch.as_tensor(scale, dtype=torch.float32).expand(3)
        t = torch.zeros(3) if translate is None else torch.as_tensor(translate, dtype=torch.float32)
        n = self.normals / s
        n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        if bool((s < 0).prod() < 0):  # an odd number of mirrored axes flips the winding
            raise ValueError(f"scale must not mirror the mesh, got {s.tolist()}")
        return dataclasses.replace(
            self,
            vertices=self.vertices * s + t,
            normals=n,
            parts=tuple(p * s + t for p in self.parts),
        )

    def centered(self) -> Mesh:
        """A copy whose bounding-box centre is the origin."""
        c = (self.vertices.amax(0) + self.vertices.amin(0)) / 2
        return self.transformed(1.0, -c)

    def scaled_to(self, extent: float) -> Mesh:
        """A copy scaled uniformly so that its largest bounding-box extent is `extent` metres."""
        if not extent > 0:
            raise ValueError(f"extent must be > 0 metres, got {extent}")
        return self.transformed(extent / float(self.extents.max()))


def flat_mesh(vertices: Tensor, faces: Tensor, name: str, parts: tuple[Tensor, ...] | None = None) -> Mesh:
    """A flat-shaded mesh: every face gets its own three vertices, face normal and box-projected UVs.

    Args:
        vertices: (V, 3) float positions, metres.
        faces: (F, 3) int indices, counter-clockwise seen from outside.
        name: the mesh's name.
        parts: convex pieces; defaults to one piece, all of `vertices`.

    Returns:
        A `Mesh` with 3F vertices.
    """
    v = vertices.to(torch.float32)
    tri = v[faces.long()]  # (F, 3, 3)
    n = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-20)
    normals = n[:, None, :].expand(-1, 3, -1).reshape(-1, 3)
    flat_v = tri.reshape(-1, 3)
    uvs = box_uvs(flat_v, normals)
    new_faces = torch.arange(flat_v.shape[0], dtype=torch.int64).reshape(-1, 3)
    return Mesh(flat_v.contiguous(), new_faces, normals.contiguous(), uvs, parts or (v,), name)


def box_uvs(vertices: Tensor, normals: Tensor, texel_per_metre: float = 10.0) -> Tensor:
    """Box (cube) projection: each vertex takes the two coordinates across its normal's dominant axis.

    Args:
        vertices: (V, 3) positions, metres.
        normals: (V, 3) normals; their dominant axis picks the projection plane.
        texel_per_metre: texture repeats per metre (10: one texture tile every 0.1 m).

    Returns:
        (V, 2) float32 UVs.
    """
    axis = normals.abs().argmax(-1)  # (V,)
    u_axis = torch.tensor([1, 0, 0])[axis]
    v_axis = torch.tensor([2, 2, 1])[axis]
    idx = torch.arange(vertices.shape[0])
    uv = torch.stack([vertices[idx, u_axis], vertices[idx, v_axis]], -1)
    return (uv * texel_per_metre).to(torch.float32)


def merge(meshes: list[Mesh], name: str) -> Mesh:
    """Concatenate meshes (each closed) into one; their convex parts are concatenated too."""
    if not meshes:
        raise ValueError("merge needs at least one mesh")
    offsets = torch.tensor([0] + [m.vertices.shape[0] for m in meshes[:-1]]).cumsum(0)
    return Mesh(
        torch.cat([m.vertices for m in meshes]),
        torch.cat([m.faces + int(o) for m, o in zip(meshes, offsets)]),
        torch.cat([m.normals for m in meshes]),
        torch.cat([m.uvs for m in meshes]),
        tuple(p for m in meshes for p in m.parts),
        name,
    )
