"""Users' mesh files -> `Mesh`: read with trimesh, checked, put in metres, centred, shaded and UV-mapped.

Every problem is one `ValueError` naming the file and the way out: a missing or unreadable file, no faces,
non-finite vertices, a degenerate (flat or empty) mesh, an extent implausible for its units, a missing
texture image, or more than `MAX_TRIANGLES` triangles (refused with the count: decimating a user's model
silently changes what is labelled).

Example:
    >>> import tempfile, pathlib, trimesh
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = trimesh.creation.box((80.0, 60.0, 40.0)).export(d / "box.stl")
    >>> m = load_mesh(d / "box.stl", units="mm")
    >>> [round(float(x), 3) for x in m.extents], m.name
    ([0.08, 0.06, 0.04], 'box')
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from domrand.generators.meshes import Mesh
from domrand.generators.meshes.mesh import box_uvs

#: File types trimesh reads that users give.
SUFFIXES = (".obj", ".stl", ".ply", ".glb", ".gltf", ".off")
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
#: Triangles a mesh may have (a scanned model over this is refused: decimate it first).
MAX_TRIANGLES = 1_000_000
#: Largest extents (metres) that read as a plausible tabletop object after units; outside, the units are wrong.
PLAUSIBLE_EXTENT = (0.002, 5.0)
#: Vertices are split where faces meet at more than this angle (hard edges stay hard).
CREASE_DEG = 30.0


@dataclass(frozen=True, eq=False)
class MeshFile:
    """A user's mesh, ready for the renderer, and its own look.

    Attributes:
        mesh: the geometry in metres, centred on its bounding box, z up.
        texture: (H, W, 3) uint8 image of the mesh's own material (its texture, or its vertex or face
            colours baked into a 1-texel-per-colour atlas), or None when it has neither.
        uvs: (V, 2) float32 coordinates into `texture` (None without one); `mesh.uvs` are domrand's box
            projection, for randomized textures.
        triangles: triangle count of the file (before any splitting of vertices).
    """

    mesh: Mesh
    texture: np.ndarray | None
    uvs: torch.Tensor | None
    triangles: int


def load_mesh(
    path: str | Path, *, units: str = "m", extent: float | None = None, up: str = "auto", name: str | None = None
) -> Mesh:
    """The geometry of a mesh file, in metres (see `read_mesh`)."""
    return read_mesh(path, units=units, extent=extent, up=up, name=name).mesh


def read_mesh(
    path: str | Path,
    *,
    units: str = "m",
    extent: float | None = None,
    up: str = "auto",
    name: str | None = None,
    centre: bool = True,
) -> MeshFile:
    """Read and check a mesh file (cached by path, size and modification time).

    Args:
        path: .obj .stl .ply .glb .gltf .off file.
        units: the file's length unit, "m", "cm" or "mm" (ignored when `extent` is given).
        extent: scale so that the largest bounding-box extent is this many metres.
        up: the file's up axis, "z", "y", or "auto": "y" for glTF (.glb, .gltf: y-up by their spec), else "z".
        name: the mesh's name (default: the file's stem).
        centre: move the bounding box's centre to the origin (objects); False keeps the file's origin (scenes).
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"mesh file {str(p)!r} does not exist (paths in a config are relative to the config file)")
    stat = p.stat()
    return _read(str(p.resolve()), stat.st_size, stat.st_mtime_ns, units, extent, up, name or p.stem, centre)


@functools.lru_cache(maxsize=64)
def _read(
    path: str, _size: int, _mtime: int, units: str, extent: float | None, up: str, name: str, centre: bool
) -> MeshFile:
    import trimesh

    if Path(path).suffix.lower() not in SUFFIXES:
        raise ValueError(f"mesh file {path!r}: unsupported type; domrand reads {', '.join(SUFFIXES)}")
    if units not in UNITS:
        raise ValueError(f"mesh {path!r}: units must be one of {list(UNITS)}, got {units!r}")
    if up not in ("z", "y", "auto"):
        raise ValueError(f"mesh {path!r}: up must be 'z', 'y' or 'auto', got {up!r}")
    if up == "auto":
        up = "y" if Path(path).suffix.lower() in (".glb", ".gltf") else "z"
    try:
        tm = trimesh.load(path, force="mesh", process=False)
    except Exception as e:  # trimesh raises many types for a bad file
        raise ValueError(f"mesh file {path!r} cannot be read ({type(e).__name__}: {e}): is it a valid mesh?") from None
    if not isinstance(tm, trimesh.Trimesh) or len(tm.faces) == 0:
        raise ValueError(f"mesh file {path!r} has no triangles: export it as a triangle mesh")
    if len(tm.faces) > MAX_TRIANGLES:
        raise ValueError(
            f"mesh file {path!r} has {len(tm.faces):,} triangles, over domrand's {MAX_TRIANGLES:,}: decimate it "
            "first (e.g. Blender's Decimate modifier or trimesh's simplify_quadric_decimation)"
        )
    v = np.asarray(tm.vertices, dtype=np.float64)
    if not np.isfinite(v).all():
        raise ValueError(f"mesh file {path!r} has NaN or infinite vertex coordinates: repair or re-export it")
    used = np.unique(np.asarray(tm.faces))
    span = v[used].max(0) - v[used].min(0)
    if not float(span.max()) > 0 or int((span > 1e-9 * span.max()).sum()) < 2:
        raise ValueError(f"mesh file {path!r} is degenerate (all its vertices on a point or a line): nothing to render")
    scale = extent / float(span.max()) if extent is not None else UNITS[units]
    size = float(span.max()) * scale
    lo, hi = PLAUSIBLE_EXTENT
    if extent is None and centre and not lo <= size <= hi:
        guess = next((u for u, f in UNITS.items() if lo <= float(span.max()) * f <= 0.5), None)
        hint = f"units: {guess}" if guess else "the right units"
        raise ValueError(
            f"mesh file {path!r} is {size:g} m across in units {units!r}, implausible for an object: set {hint}, "
            "or `extent: <metres>` to scale it to a size"
        )
    texture, own_uv = _own_look(tm, path)
    faces = torch.from_numpy(np.asarray(tm.faces, dtype=np.int64))
    verts = torch.from_numpy(v * scale).to(torch.float32)
    if up == "y":  # y-up -> z-up: (x, y, z) -> (x, -z, y), a rotation
        verts = torch.stack([verts[:, 0], -verts[:, 2], verts[:, 1]], -1)
    mesh, keep = _shaded(verts, faces, name)
    uvs = None if own_uv is None else torch.from_numpy(own_uv[keep]).to(torch.float32)
    return MeshFile(mesh.centered() if centre else mesh, texture, uvs, len(tm.faces))


def _shaded(verts: torch.Tensor, faces: torch.Tensor, name: str) -> tuple[Mesh, np.ndarray]:
    """A mesh with vertices split at creases sharper than `CREASE_DEG` (smooth elsewhere), box-projected
    UVs, and its convex hull as its one physics part. Returns it and, per new vertex, its source vertex."""
    tri = verts[faces]
    fn = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area2 = fn.norm(dim=-1, keepdim=True)
    fn = fn / area2.clamp_min(1e-30)
    # Per corner: the area-weighted mean of the normals of the faces at that vertex within the crease angle.
    corner_v = faces.reshape(-1)  # (3F,)
    corner_f = torch.arange(faces.shape[0]).repeat_interleave(3)
    nv = verts.shape[0]
    acc = torch.zeros(nv, 3, dtype=torch.float64).index_add_(0, corner_v, (fn * area2).double()[corner_f])
    smooth = acc / acc.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    cos_crease = math.cos(math.radians(CREASE_DEG))
    sharp = (fn.double()[corner_f] * smooth[corner_v]).sum(-1) < cos_crease  # corners across a crease
    # Smooth corners share their vertex; sharp corners get their own vertex with the face normal.
    keep_v = corner_v.clone()
    new_index = torch.where(sharp, nv + torch.arange(corner_v.shape[0]), corner_v)
    uniq, inverse = torch.unique(new_index, return_inverse=True)
    src = torch.where(uniq < nv, uniq, keep_v[(uniq - nv).clamp(0, corner_v.shape[0] - 1)])
    normals = torch.where(
        (uniq < nv)[:, None],
        smooth[src].float(),
        fn[corner_f[(uniq - nv).clamp(0, corner_v.shape[0] - 1)]],
    )
    normals = normals / normals.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    normals = torch.where(normals.norm(dim=-1, keepdim=True) > 0.5, normals, torch.tensor([0.0, 0.0, 1.0]))
    v = verts[src]
    mesh = Mesh(
        v.contiguous(),
        inverse.reshape(-1, 3).to(torch.int64),
        normals.contiguous(),
        box_uvs(v, normals),
        (verts,),
        name,
    )
    return mesh, src.numpy()


def _own_look(tm, path: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """The mesh's own texture image and UVs, or its colours baked into a small atlas; (None, None) without."""
    visual = tm.visual
    if visual.kind == "texture" and getattr(visual, "uv", None) is not None:
        mat = visual.material
        img = getattr(mat, "image", None) or getattr(mat, "baseColorTexture", None)
        if img is None:
            raise ValueError(
                f"mesh file {path!r} has texture coordinates but its texture image cannot be found: put the image "
                "beside the file as its .mtl names it, or use `appearance: random`"
            )
        rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
        uv = np.asarray(visual.uv, dtype=np.float64)
        # Image rows go down, v goes up: v = 1 is the top row.
        return np.ascontiguousarray(rgb), np.stack([uv[:, 0], 1.0 - uv[:, 1]], -1)
    if visual.kind in ("vertex", "face"):
        colors = np.asarray(visual.vertex_colors, dtype=np.uint8)[:, :3]
        uniq, idx = np.unique(colors, axis=0, return_inverse=True)
        if len(uniq) <= 1 and visual.kind == "face" and not visual.defined:
            return None, None
        side = max(1, math.ceil(math.sqrt(len(uniq))))
        atlas = np.zeros((side, side, 3), dtype=np.uint8)
        atlas.reshape(-1, 3)[: len(uniq)] = uniq
        i = idx.reshape(-1)
        uv = np.stack([(i % side + 0.5) / side, (i // side + 0.5) / side], -1)
        return atlas, uv
    return None, None
