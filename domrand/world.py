"""The fixed part of a task's scene: meshes, slot layout, table and floor. Randomizers fill in the rest.

Slots of every scene: 0 table, 1 floor, 2 target (the object of interest), then the distractors.

Example:
    >>> w = TableWorld(target="cylinder", max_distractors=3)
    >>> s = w.base_scene(2, (64, 64))
    >>> s.batch_size, tuple(s.instances.mesh.shape), w.slot_names()[:3]
    (2, (2, 6), ['table', 'floor', 'target'])
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from domrand.generators.meshes import Mesh, primitives, procedural
from domrand.generators.transforms import intrinsics_from_fov, look_at
from domrand.scene import DIRECTIONAL, Camera, Instances, Lights, MeshBank, SceneBatch

TABLE, FLOOR, TARGET, FIRST_DISTRACTOR = 0, 1, 2, 3

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

    def __post_init__(self) -> None:
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
        if self.max_distractors and not (self.distractor_primitives or self.procedural_distractors):
            raise ValueError("world needs distractor_primitives or procedural_distractors when max_distractors > 0")
        if self.target == "procedural" and self.procedural_targets < 1:
            raise ValueError("world.procedural_targets must be >= 1 for a procedural target")
        if self.procedural_distractors < 0 or self.procedural_targets < 0 or self.procedural_seed < 0:
            raise ValueError("world.procedural_* counts and seed must be >= 0")

    @property
    def slots(self) -> int:
        return FIRST_DISTRACTOR + self.max_distractors

    def slot_names(self) -> list[str]:
        return ["table", "floor", "target"] + [f"distractor_{i}" for i in range(self.max_distractors)]

    def target_meshes(self) -> list[Mesh]:
        """Meshes the target slot can hold (one for a named target)."""
        if self.target == "procedural":
            return [
                procedural.random_object(self.procedural_seed + i).scaled_to(0.08)
                for i in range(self.procedural_targets)
            ]
        return [TARGETS[self.target]()]

    def distractor_meshes(self) -> list[Mesh]:
        """Distractor meshes, each scaled to a largest extent of 1 m (instances scale them down)."""
        prims = [DISTRACTOR_PRIMITIVES[n]().centered().scaled_to(1.0) for n in self.distractor_primitives]
        seed0 = self.procedural_seed + self.procedural_targets
        return prims + [procedural.random_object(seed0 + i) for i in range(self.procedural_distractors)]

    def mesh_bank(self) -> MeshBank:
        """Table, floor, target meshes, distractor meshes, in that order (cached per world)."""
        return _bank(self)

    @property
    def target_mesh_ids(self) -> tuple[int, int]:
        """[first, last) bank indices of the target meshes."""
        return 2, 2 + (1 if self.target != "procedural" else self.procedural_targets)

    @property
    def distractor_mesh_ids(self) -> tuple[int, int]:
        """[first, last) bank indices of the distractor meshes."""
        first = self.target_mesh_ids[1]
        return first, first + len(self.distractor_primitives) + self.procedural_distractors

    def base_scene(self, n: int, size: tuple[int, int]) -> SceneBatch:
        """n identical nominal scenes: table, floor and target at the origin, distractors hidden, grey
        surfaces, one overhead light, a camera 1 m above looking down. Randomizers change all of these."""
        bank = self.mesh_bank()
        k = self.slots
        mesh = torch.zeros(n, k, dtype=torch.int64)
        mesh[:, FLOOR] = 1
        mesh[:, TARGET] = self.target_mesh_ids[0]
        mesh[:, FIRST_DISTRACTOR:] = self.distractor_mesh_ids[0]
        poses = torch.eye(4).repeat(n, k, 1, 1)
        poses[:, TABLE, 2, 3] = -self.table_size[2] / 2
        poses[:, FLOOR, 2, 3] = self.floor_z - 0.01
        poses[:, TARGET, 2, 3] = mesh_half_extents(bank)[self.target_mesh_ids[0], 2]
        visible = torch.ones(n, k, dtype=torch.bool)
        visible[:, FIRST_DISTRACTOR:] = False
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


@functools.lru_cache(maxsize=8)
def _bank(world: TableWorld) -> MeshBank:
    sx, sy, sz = world.table_size
    meshes = [primitives.box((sx, sy, sz)), primitives.box((world.floor_size, world.floor_size, 0.02))]
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
