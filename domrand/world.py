"""The fixed part of a task's scene: meshes, slot layout, table and floor. Randomizers fill in the rest.

Slots of every scene: 0 support (the table, a bin or the user's scene mesh), 1 floor, then the labelled
objects (the one target of the built-in tasks at slot 2; with `objects`, every instance slot of every user
class, class by class), then the distractors.

Example:
    >>> w = TableWorld(target="cylinder", max_distractors=3)
    >>> s = w.base_scene(2, (64, 64))
    >>> s.batch_size, tuple(s.instances.mesh.shape), w.slot_names()[:3]
    (2, (2, 6), ['table', 'floor', 'target'])
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import math
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from domrand.cachedir import digest, folder
from domrand.generators.meshes import Mesh, primitives, procedural
from domrand.generators.meshes.mesh import merge
from domrand.generators.transforms import intrinsics_from_fov, look_at
from domrand.meshfile import read_mesh
from domrand.objects import DistractorSet, ObjectClass
from domrand.scene import DIRECTIONAL, Camera, Instances, Lights, MeshBank, SceneBatch

TABLE, FLOOR, TARGET, FIRST_DISTRACTOR = 0, 1, 2, 3
#: Built-in supports (`TableWorld.scene`); anything else names a static scene mesh file.
SCENES = ("table", "bin", "none")
#: The bin's walls: height and thickness, metres.
BIN_WALL = (0.06, 0.01)

#: Target objects of the localization task (task sizes) and the paper's eight shapes (default sizes).
TARGETS = {
    "cube": primitives.cube,
    "cylinder": primitives.cylinder,
    "prism": primitives.prism,
    **primitives.PAPER_SHAPES,
}

#: Distractor primitives, tessellated to 12 to 500 triangles.
DISTRACTOR_PRIMITIVES = {
    "box": lambda: primitives.box((1.0, 0.7, 0.5)),
    "sphere": lambda: primitives.sphere(0.5, rings=10, segments=16),
    "cylinder": lambda: primitives.cylinder(0.3, 1.0, segments=24),
    "cone": lambda: primitives.cone(0.5, 1.0, segments=24),
    "capsule": lambda: primitives.capsule(0.25, 0.5, rings=10, segments=16),
    "torus": lambda: primitives.torus(0.35, 0.15, rings=10, segments=20),
    "hexagonal_prism": lambda: primitives.hexagonal_prism(0.5, 0.6),
    "pyramid": lambda: primitives.pyramid(1.0, 0.8),
    "tetrahedron": lambda: primitives.tetrahedron(1.0),
    "triangular_prism": lambda: primitives.triangular_prism(1.0, 0.6),
}


@dataclass(frozen=True)
class TableWorld:
    """A table top (its top face is z = 0), a floor, one target and up to `max_distractors` distractors.

    Attributes:
        target: name in `TARGETS`, or "procedural" for a procedural object per scene (grasping).
        table_size: (x, y, thickness) metres.
        floor_z: height of the floor, metres.
        floor_size: edge of the square floor, metres.
        max_distractors: distractor slots per scene.
        distractor_primitives: names in `DISTRACTOR_PRIMITIVES` that distractors draw from.
        procedural_distractors: how many procedural meshes distractors also draw from.
        procedural_targets: how many procedural meshes a "procedural" target draws from.
        procedural_seed: first seed of the procedural meshes (seeds seed, seed + 1, ...).
        objects: user classes (mesh files); when given they are the labelled objects and `target` is unused.
        distractors: user distractor meshes and the distractor count (sets `max_distractors`).
        scene: the support: "table", "bin" (the table with 0.06 m walls round its top), "none" (no table or
            floor: objects over the background) or a static scene mesh file (metres, z up, its z = 0 where
            objects rest).
    """

    target: str = "cube"
    table_size: tuple[float, float, float] = (1.0, 0.8, 0.04)
    floor_z: float = -0.75
    floor_size: float = 6.0
    max_distractors: int = 10
    distractor_primitives: tuple[str, ...] = tuple(DISTRACTOR_PRIMITIVES)
    procedural_distractors: int = 24
    procedural_targets: int = 0
    procedural_seed: int = 1_000_000
    objects: tuple[ObjectClass, ...] = ()
    distractors: DistractorSet | None = None
    scene: str = "table"

    def __post_init__(self) -> None:
        names = [c.name for c in self.objects]
        if len(set(names)) != len(names):
            raise ValueError(f"world.objects: class names must differ, got {names}")
        if self.distractors is not None and self.max_distractors != self.distractors.count[1]:
            object.__setattr__(self, "max_distractors", int(self.distractors.count[1]))
        if self.scene not in SCENES:
            read_mesh(self.scene, name="scene", centre=False)  # a bad file is refused now
        if self.target not in TARGETS and self.target != "procedural":
            raise ValueError(f"world.target must be one of {[*sorted(TARGETS), 'procedural']}, got {self.target!r}")
        if len(self.table_size) != 3 or any(not s > 0 for s in self.table_size):
            raise ValueError(f"world.table_size must be three positive lengths in metres, got {self.table_size}")
        if not self.floor_z < -self.table_size[2]:
            raise ValueError(f"world.floor_z must be below the table's underside, got {self.floor_z}")
        if not 0 <= self.max_distractors <= 32:
            raise ValueError(f"world.max_distractors must be in [0, 32], got {self.max_distractors}")
        unknown = set(self.distractor_primitives) - set(DISTRACTOR_PRIMITIVES)
        if unknown:
            raise ValueError(
                f"world.distractor_primitives has unknown names {sorted(unknown)}; known: {sorted(DISTRACTOR_PRIMITIVES)}"
            )
        if self.max_distractors and not self.distractor_meshes_count():
            raise ValueError("world needs distractor_primitives or procedural_distractors when max_distractors > 0")
        if self.target == "procedural" and self.procedural_targets < 1:
            raise ValueError("world.procedural_targets must be >= 1 for a procedural target")
        if self.procedural_distractors < 0 or self.procedural_targets < 0 or self.procedural_seed < 0:
            raise ValueError("world.procedural_* counts and seed must be >= 0")

    @property
    def slots(self) -> int:
        return self.first_distractor + self.max_distractors

    @property
    def first_distractor(self) -> int:
        """Slot of the first distractor (the labelled objects are slots TARGET to this one)."""
        return TARGET + (sum(c.max_count for c in self.objects) if self.objects else 1)

    def object_slot_classes(self) -> list[int]:
        """Per labelled-object slot (TARGET, TARGET + 1, ...): its class's index in `objects` (0 for a target)."""
        return [i for i, c in enumerate(self.objects) for _ in range(c.max_count)] if self.objects else [0]

    def slot_names(self) -> list[str]:
        if self.objects:
            objects = [f"{c.name}_{j}" for c in self.objects for j in range(c.max_count)]
        else:
            objects = ["target"]
        return ["table", "floor", *objects] + [f"distractor_{i}" for i in range(self.max_distractors)]

    def class_names(self) -> list[str]:
        """The labelled classes: the user's in config order, or every mesh name from the target on, sorted."""
        if self.objects:
            return [c.name for c in self.objects]
        return sorted(set(self.mesh_bank().names[TARGET:]))

    def distractor_meshes_count(self) -> int:
        d = self.distractors
        prims = d is None or d.primitives
        files = len(d.files()) if d is not None else 0
        return (len(self.distractor_primitives) + self.procedural_distractors if prims else 0) + files

    def target_meshes(self) -> list[Mesh]:
        """Meshes the target slot can hold (one for a named target; one per class for user objects)."""
        if self.objects:  # a class that can show its own look renders through its own UVs
            return [
                dataclasses.replace(f.mesh, uvs=f.uvs) if c.appearance != "random" and f.uvs is not None else f.mesh
                for c, f in ((c, c.read()) for c in self.objects)
            ]
        if self.target == "procedural":
            return [random_object(self.procedural_seed + i).scaled_to(0.08) for i in range(self.procedural_targets)]
        return [TARGETS[self.target]()]

    def distractor_meshes(self) -> list[Mesh]:
        """Distractor meshes, each scaled to a largest extent of 1 m (instances scale them down)."""
        d = self.distractors
        out: list[Mesh] = []
        if d is None or d.primitives:
            out += [DISTRACTOR_PRIMITIVES[n]().centered().scaled_to(1.0) for n in self.distractor_primitives]
            seed0 = self.procedural_seed + self.procedural_targets
            out += [random_object(seed0 + i) for i in range(self.procedural_distractors)]
        if self.objects:  # a user class may share a primitive's name: distractors are never a class
            out = [dataclasses.replace(m, name=f"distractor:{m.name}") for m in out]
        return out + (d.load() if d is not None else [])

    def support_mesh(self) -> Mesh:
        """The mesh of slot 0: the table box (top face z = 0), the table with bin walls, or the scene mesh."""
        sx, sy, sz = self.table_size
        table = primitives.box((sx, sy, sz))
        if self.scene in ("table", "none"):
            return table
        if self.scene == "bin":
            h, t = BIN_WALL
            walls = []
            for along_x, sign in ((True, 1), (True, -1), (False, 1), (False, -1)):
                size = (sx + 2 * t, t, h) if along_x else (t, sy, h)
                off = (
                    [0.0, sign * (sy + t) / 2, sz / 2 + h / 2]
                    if along_x
                    else [sign * (sx + t) / 2, 0.0, sz / 2 + h / 2]
                )
                walls.append(primitives.box(size).transformed(1.0, torch.tensor(off)))
            return merge([table, *walls], "bin")
        return read_mesh(self.scene, name="scene", centre=False).mesh

    def mesh_bank(self) -> MeshBank:
        """Table, floor, target meshes, distractor meshes, in that order (cached per world)."""
        return _bank(self)

    @property
    def target_mesh_ids(self) -> tuple[int, int]:
        """[first, last) bank indices of the target meshes (one per class for user objects)."""
        if self.objects:
            return 2, 2 + len(self.objects)
        return 2, 2 + (1 if self.target != "procedural" else self.procedural_targets)

    @property
    def distractor_mesh_ids(self) -> tuple[int, int]:
        """[first, last) bank indices of the distractor meshes."""
        first = self.target_mesh_ids[1]
        return first, first + self.distractor_meshes_count()

    def base_scene(self, n: int, size: tuple[int, int]) -> SceneBatch:
        """n identical nominal scenes: table, floor and target at the origin, distractors hidden, grey
        surfaces, one overhead light, a camera 1 m above looking down. Randomizers change all of these."""
        bank = self.mesh_bank()
        k = self.slots
        mesh = torch.zeros(n, k, dtype=torch.int64)
        first = self.first_distractor
        mesh[:, FLOOR] = 1
        mesh[:, TARGET:first] = torch.tensor(self.object_slot_classes()) + self.target_mesh_ids[0]
        mesh[:, first:] = self.distractor_mesh_ids[0]
        poses = torch.eye(4).repeat(n, k, 1, 1)
        if self.scene != "table" and self.scene not in SCENES:
            poses[:, TABLE] = torch.eye(4)  # a scene mesh keeps its own frame
        else:
            poses[:, TABLE, 2, 3] = -self.table_size[2] / 2
        poses[:, FLOOR, 2, 3] = self.floor_z - 0.01
        poses[:, TARGET, 2, 3] = mesh_half_extents(bank)[self.target_mesh_ids[0], 2]
        visible = torch.ones(n, k, dtype=torch.bool)
        visible[:, TARGET + 1 :] = False
        if self.scene == "none":
            visible[:, [TABLE, FLOOR]] = False
        cast = torch.ones(n, k, dtype=torch.bool)
        cast[:, FLOOR] = False
        inst = Instances.create(mesh, poses, color=torch.full((n, k, 3), 0.6), visible=visible, cast_shadow=cast)
        lights = Lights(
            kind=torch.full((n, 1), DIRECTIONAL),
            position=torch.tensor([0.0, 0.0, 1.0]).expand(n, 1, 3).clone(),
            color=torch.ones(n, 1, 3),
            intensity=torch.full((n, 1), 0.7),
            enabled=torch.ones(n, 1, dtype=torch.bool),
            ambient=torch.full((n, 3), 0.3),
            shadow=torch.ones(n, 1, dtype=torch.bool),
        )
        h, w = size
        cam = Camera(
            intrinsics_from_fov(torch.full((n,), math.radians(45)), w, h),
            look_at(torch.tensor([[0.0, -0.01, 1.0]]).expand(n, 3), torch.zeros(n, 3)),
        )
        radius = 0.5 * math.hypot(self.table_size[0], self.table_size[1]) + 0.1
        return SceneBatch(
            bank, inst, lights, cam, torch.full((1, 4, 4, 3), 255, dtype=torch.uint8), torch.full((n, 3), 0.5),
            torch.full((n,), -1), (h, w), shadow_region=(0.0, 0.0, 0.0, radius),
        )  # fmt: skip


@functools.lru_cache(maxsize=1)
def _meshes_folder() -> Path | None:
    """The procedural meshes' cache folder: named by a digest of every generator source and of torch's and
    numpy's versions (a change to any of them builds the meshes afresh); None where no folder is writable."""
    root = Path(procedural.__file__).resolve().parents[1]  # the generators package
    sources = tuple(sorted(root.rglob("*.py")))
    versions = hashlib.sha256(f"{torch.__version__} {np.__version__}".encode()).hexdigest()[:8]
    return folder(f"meshes-{digest(sources)}-{versions}")


def random_object(seed: int) -> Mesh:
    """`procedural.random_object(seed)`, built once a machine: later processes read it from the cache folder
    (`cachedir`; building the tabletop world's 24 distractors took 0.17 s of every run's start-up, reading them
    ~0.02 s). The same tensors either way (tests/test_world_cache.py); a damaged or unreadable file is built again."""
    cache = _meshes_folder()
    path = cache / f"random_object_{seed}.npz" if cache is not None else None
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                parts = tuple(torch.from_numpy(z[f"part_{i}"]) for i in range(int(z["n_parts"])))
                return Mesh(
                    torch.from_numpy(z["vertices"]), torch.from_numpy(z["faces"]), torch.from_numpy(z["normals"]),
                    torch.from_numpy(z["uvs"]), parts, str(z["name"]),
                )  # fmt: skip
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass  # built again below, and the file replaced
    mesh = procedural.random_object(seed)
    if path is not None:
        arrays = {k: getattr(mesh, k).numpy() for k in ("vertices", "faces", "normals", "uvs")}
        arrays |= {f"part_{i}": p.numpy() for i, p in enumerate(mesh.parts)}
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(tmp, "wb") as f:
                np.savez(f, n_parts=np.int64(len(mesh.parts)), name=np.str_(mesh.name), **arrays)
            os.replace(tmp, path)  # whole or not at all: another process may be writing the same mesh
        except OSError:
            tmp.unlink(missing_ok=True)
    return mesh


@functools.lru_cache(maxsize=8)
def _bank(world: TableWorld) -> MeshBank:
    meshes = [world.support_mesh(), primitives.box((world.floor_size, world.floor_size, 0.02))]
    meshes += world.target_meshes() + world.distractor_meshes()
    return MeshBank.from_meshes(meshes)


def mesh_half_extents(bank: MeshBank) -> torch.Tensor:
    """(M, 3) half extents of every banked mesh, metres (meshes are centred on their bounding boxes)."""
    return _half_extents(bank)


@functools.lru_cache(maxsize=8)
def _half_extents(bank: MeshBank) -> torch.Tensor:
    out = torch.zeros(bank.vertices.shape[0], 3)
    for i in range(bank.vertices.shape[0]):
        used = bank.faces[i, : int(bank.num_faces[i])].reshape(-1).unique()
        v = bank.vertices[i, used]
        out[i] = (v.amax(0) - v.amin(0)) / 2
    return out


def used_vertices(bank: MeshBank) -> torch.Tensor:
    """(M, V) bool: which padded vertex rows of each banked mesh its faces use."""
    return _used(bank)


@functools.lru_cache(maxsize=8)
def _used(bank: MeshBank) -> torch.Tensor:
    out = torch.zeros(bank.vertices.shape[:2], dtype=torch.bool)
    for i in range(bank.vertices.shape[0]):
        out[i, bank.faces[i, : int(bank.num_faces[i])].reshape(-1)] = True
    return out


def footprint_radii(bank: MeshBank) -> torch.Tensor:
    """(M,) radius of the smallest circle about the mesh's centre holding its xy footprint, metres."""
    r = bank.vertices[..., :2].norm(dim=-1)
    return torch.where(used_vertices(bank), r, torch.zeros_like(r)).amax(1)
