"""Grasp objects: a render mesh and convex collision parts, from the procedural generators or from mesh files.

Files (.obj, .stl, .ply, or .urdf naming a mesh) are loaded with trimesh; meshes that are not convex get
a convex decomposition (PyBullet's V-HACD, from PyPI), cached by file content. A file that cannot be used
(missing, empty, non-finite vertices, degenerate) raises `GraspObjectError` naming it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from domrand.generators.meshes import Mesh, flat_mesh, procedural
from domrand.generators.meshes.hull import convex_hull

MESH_SUFFIXES = (".obj", ".stl", ".ply", ".urdf")
SCALE_TO = 0.08  # metres: the task's default largest extent of an object (`--scale-to`)


class GraspObjectError(ValueError):
    """A mesh that can not be grasped in simulation; the message names the file and the reason."""


@dataclass(frozen=True, eq=False)
class GraspObject:
    """An object for grasp trials.

    Attributes:
        name: file name or "procedural_<seed>".
        mesh: render mesh, metres, centred on its bounding box, largest extent as scaled.
        parts: convex collision pieces, each (P, 3) float32 points in the mesh's frame.
    """

    name: str
    mesh: Mesh
    parts: tuple[torch.Tensor, ...]

    def scaled_to(self, extent: float) -> GraspObject:
        """The same object scaled uniformly (about its bounding-box centre) to a largest extent of `extent` m."""
        m = self.mesh.scaled_to(extent)
        return GraspObject(self.name, m, tuple(m.parts))


def procedural_name(seed: int, family: str | None = None) -> str:
    """The name of procedural object `seed` (of `family`, None: the default mix) in labels and reports."""
    return f"procedural_{seed}" if family is None else f"{family}_{seed}"


def from_procedural(seed: int, scale_to: float = SCALE_TO, family: str | None = None) -> GraspObject:
    """Procedural object `seed` (of `family`, or of the seed's own family if None: `procedural.random_object`),
    scaled so that its largest extent is `scale_to` metres."""
    m = procedural.random_object(seed, family).scaled_to(scale_to)
    return GraspObject(procedural_name(seed, family), m, tuple(m.parts))


def _cache_dir() -> Path:
    return Path(os.environ.get("DOMRAND_CACHE", Path.home() / ".cache" / "domrand")) / "decomposition"


def _urdf_mesh(path: Path) -> tuple[Path, np.ndarray]:
    """The first mesh a URDF names and its (3,) `scale` attribute (ones when absent)."""
    text = path.read_text(errors="replace")
    tags = re.findall(r"<mesh\b([^>]*)>", text)
    names = [re.search(r'filename\s*=\s*"([^"]+)"', t) for t in tags]
    found = [(t, m.group(1)) for t, m in zip(tags, names) if m]
    if not found:
        raise GraspObjectError(f"{str(path)!r}: the URDF names no mesh file")
    tag, name = found[0]
    mesh = (path.parent / name.replace("package://", "")).resolve()
    if not mesh.is_file():
        raise GraspObjectError(f"{str(path)!r}: its mesh {name!r} does not exist")
    scale = re.search(r'scale\s*=\s*"([^"]*)"', tag)
    try:
        s = np.array([float(x) for x in scale.group(1).split()] if scale else [1.0, 1.0, 1.0])
    except ValueError:
        s = np.zeros(0)
    if s.shape != (3,) or not (np.isfinite(s).all() and (s > 0).all()):
        raise GraspObjectError(f"{str(path)!r}: bad mesh scale {scale.group(1) if scale else ''!r} (three numbers > 0)")
    return mesh, s


def _decompose(path: Path, vertices: np.ndarray, faces: np.ndarray) -> list[np.ndarray]:
    """Convex parts of a mesh by PyBullet's V-HACD, cached by the mesh's content."""
    import pybullet
    import trimesh

    key = hashlib.sha256(vertices.tobytes() + faces.tobytes()).hexdigest()[:24]
    cache = _cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    out = cache / f"{key}.obj"
    if not out.is_file():
        src = cache / f"{key}_in.obj"
        trimesh.Trimesh(vertices, faces, process=False).export(src)
        cid = pybullet.connect(pybullet.DIRECT)
        saved = os.dup(1)
        try:
            tmp = cache / f"{key}.obj.tmp-domrand"
            with open(os.devnull, "w") as null:  # V-HACD prints its whole log to the process's stdout
                os.dup2(null.fileno(), 1)
                pybullet.vhacd(str(src), str(tmp), str(cache / f"{key}.log"), resolution=100000, physicsClientId=cid)
            if not tmp.is_file():
                raise GraspObjectError(f"{str(path)!r}: convex decomposition failed")
            os.replace(tmp, out)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            pybullet.disconnect(cid)
            src.unlink(missing_ok=True)
    parts = [q for q in read_parts(out) if len(q) >= 4]
    return parts or [vertices]


def read_parts(path: Path) -> list[np.ndarray]:
    """The vertices of each `o` group of an OBJ file (how V-HACD and `write_parts_obj` store parts)."""
    parts: list[list[list[float]]] = []
    for line in path.read_text().splitlines():
        if line.startswith("o ") or (line.startswith("v ") and not parts):
            parts.append([])
        if line.startswith("v "):
            parts[-1].append([float(x) for x in line.split()[1:4]])
    return [np.asarray(q, dtype=np.float64) for q in parts if q]


def from_file(path: str | Path, scale_to: float = SCALE_TO) -> GraspObject:
    """Load a mesh file as a grasp object scaled to `scale_to` metres; `GraspObjectError` names bad files."""
    import trimesh

    p = Path(path)
    if not p.is_file():
        raise GraspObjectError(f"{str(p)!r}: file does not exist")
    if p.suffix.lower() not in MESH_SUFFIXES:
        raise GraspObjectError(f"{str(p)!r}: not a mesh file ({', '.join(MESH_SUFFIXES)})")
    mesh_path, urdf_scale = _urdf_mesh(p) if p.suffix.lower() == ".urdf" else (p, np.ones(3))
    try:
        raw = trimesh.load(mesh_path, force="mesh", process=False)
    except Exception as e:  # trimesh raises many types for unreadable files
        raise GraspObjectError(f"{str(p)!r}: cannot be read as a mesh ({type(e).__name__}: {e})") from None
    if not np.isfinite(np.asarray(getattr(raw, "vertices", np.zeros((0, 3))), dtype=np.float64)).all():
        raise GraspObjectError(f"{str(p)!r}: non-finite vertex coordinates")
    m = trimesh.Trimesh(raw.vertices, raw.faces, process=True) if len(getattr(raw, "faces", [])) else raw
    v = np.asarray(getattr(m, "vertices", np.zeros((0, 3))), dtype=np.float64) * urdf_scale
    f = np.asarray(getattr(m, "faces", np.zeros((0, 3))), dtype=np.int64)
    if len(v) < 4 or len(f) < 4:
        raise GraspObjectError(f"{str(p)!r}: empty mesh ({len(v)} vertices, {len(f)} faces)")
    if not np.isfinite(v).all():
        raise GraspObjectError(f"{str(p)!r}: non-finite vertex coordinates")
    ext = v.max(0) - v.min(0)
    if not (ext > 1e-9).all() or float(m.area) <= 1e-12:
        raise GraspObjectError(f"{str(p)!r}: degenerate mesh (extents {ext.tolist()})")
    centre = (v.max(0) + v.min(0)) / 2
    s = scale_to / float(ext.max())
    vs = (v - centre) * s
    convex = bool(getattr(m, "is_watertight", False)) and bool(m.is_convex)
    raw_parts = [vs] if convex else [(q - centre) * s for q in _decompose(mesh_path, v, f)]
    parts = []
    for q in raw_parts:
        try:
            hv, _ = convex_hull(torch.from_numpy(q))
            parts.append(hv)
        except ValueError:
            continue  # a flat sliver of the decomposition: drop it
    if not parts:
        raise GraspObjectError(f"{str(p)!r}: degenerate mesh (no solid convex part)")
    mesh = flat_mesh(torch.from_numpy(vs).float(), torch.from_numpy(f), p.stem, parts=tuple(parts))
    return GraspObject(p.name, mesh, tuple(parts))


def load_folder(folder: str | Path, scale_to: float = SCALE_TO) -> tuple[list[GraspObject], list[dict[str, str]]]:
    """Every mesh file in `folder` (sorted); returns (objects, skipped) where skipped names each bad file.

    A mesh file that a URDF in the folder names is loaded through that URDF only (with its scale)."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"object folder {str(root)!r} does not exist")
    files = sorted(q for q in root.iterdir() if q.suffix.lower() in MESH_SUFFIXES)
    named = set()
    for q in files:
        if q.suffix.lower() == ".urdf":
            try:
                named.add(_urdf_mesh(q)[0])
            except GraspObjectError:
                pass  # reported when the URDF itself is loaded below
    files = [q for q in files if q.resolve() not in named]
    if not files:
        raise ValueError(f"object folder {str(root)!r} holds no {', '.join(MESH_SUFFIXES)} files")
    objects, skipped = [], []
    for q in files:
        try:
            objects.append(from_file(q, scale_to))
        except GraspObjectError as e:
            skipped.append({"file": q.name, "reason": str(e)})
    return objects, skipped
