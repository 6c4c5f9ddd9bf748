"""`DropPlacement`: user objects and distractors dropped onto the support and settled by physics (placement
`mode: drop`): stable poses, leaning and stacking, contact. The rest poses are the parameters, so a dataset
replays without physics."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from domrand.generators.transforms import pose, quaternion_to_matrix
from domrand.params import Params, bool_field, int_field
from domrand.randomizers.base import check_n
from domrand.randomizers.surface import SurfacePlacement
from domrand.scene import SceneBatch
from domrand.world import SCENES, TARGET, TableWorld

#: Free space between the bounding spheres of bodies at the start of a drop, metres.
START_GAP = 0.005


@dataclass(frozen=True, eq=False)
class DropParams(Params):
    """Rest poses `DropPlacement` found, per scene (C classes, O object slots, D distractor slots)."""

    count: Tensor = int_field()  # (B, C) instances asked for per class
    object_position: Tensor  # (B, O, 3) metres
    object_quaternion: Tensor  # (B, O, 4) w, x, y, z
    present: Tensor = bool_field()  # (B, O) asked for and resting on the support
    distractor_count: Tensor = int_field()  # (B,)
    mesh: Tensor = int_field()  # (B, D) bank index
    extent: Tensor  # (B, D) largest extent, metres
    position: Tensor  # (B, D, 3) metres
    quaternion: Tensor  # (B, D, 4) w, x, y, z
    placed: Tensor = bool_field()  # (B, D)


@dataclass(frozen=True)
class DropPlacement(SurfacePlacement):
    """Objects and distractors dropped from random orientations and settled in PyBullet.

    Randomizes:
        instances per class and distractors as `SurfacePlacement`; each body's start: position in
        `target_x` x `target_y` (objects) or `distractor_x` x `distractor_y` (distractors), orientation
        uniform on SO(3), stacked in height so that no two bounding spheres meet. Then PyBullet steps
        (`domrand.physics.settle`) until every body rests. Bodies that fall off the support are left out of
        the image. Concave user meshes collide as their V-HACD convex pieces (computed once per mesh, cached).
        Needs `pybullet` (`pip install "domrand[sim]"`).
    """

    mode: str = "drop"
    params_type = DropParams

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode != "drop":
            raise ValueError(f"DropPlacement's mode is 'drop', got {self.mode!r}")
        try:
            import pybullet  # noqa: F401
        except ImportError:
            raise ValueError('placement.mode drop settles objects with PyBullet: pip install "domrand[sim]"') from None
        for c in self.world.objects:  # flat meshes render, but a body needs a volume
            ext = c.load().extents
            if float(ext.min()) < 1e-3 * float(ext.max()):
                raise ValueError(
                    f"world.objects[{c.name!r}]: {c.mesh!r} is flat (extents {[round(float(e), 4) for e in ext]} m): "
                    "fine to render, but placement mode drop needs a volume: use mode surface, or give it thickness"
                )

    def sample(self, n: int, *, rng: torch.Generator) -> DropParams:
        check_n(n)
        from domrand.physics import settle

        w = self.world
        bodies = _bodies(w)
        slot_class = torch.tensor(w.object_slot_classes())
        o, dn = slot_class.shape[0], w.max_distractors
        count, want = self.draw_counts(n, rng)
        oxy = torch.stack([self.target_x.sample((n, o), rng=rng), self.target_y.sample((n, o), rng=rng)], -1)
        oq = _random_quaternions(n, o, rng)
        d0, d1 = w.distractor_mesh_ids
        dcount = self.distractor_count.sample((n,), rng=rng).round().to(torch.int64)
        mesh = torch.randint(d0, max(d1, d0 + 1), (n, dn), generator=rng)
        extent = self._snap(self.distractor_extent.sample((n, dn), rng=rng))
        dxy = torch.stack([self.distractor_x.sample((n, dn), rng=rng), self.distractor_y.sample((n, dn), rng=rng)], -1)
        dq = _random_quaternions(n, dn, rng)
        dwant = torch.arange(dn)[None] < dcount[:, None]

        pos_o, quat_o, present = torch.zeros(n, o, 3), oq.clone(), want.clone()
        pos_d, quat_d, placed = torch.zeros(n, dn, 3), dq.clone(), dwant.clone()
        support, floor_z = _support(w)
        for b in range(n):
            parts, radius, xy, quat, where = [], [], [], [], []
            for j in range(o):
                if want[b, j]:
                    c = int(slot_class[j])
                    parts.append((bodies.objects[c], 1.0))
                    radius.append(bodies.object_radius[c])
                    xy.append(oxy[b, j].tolist())
                    quat.append(oq[b, j])
                    where.append(("o", j))
            for j in range(dn):
                if dwant[b, j]:
                    m, s = int(mesh[b, j]) - d0, float(extent[b, j])
                    parts.append((bodies.distractors[m], s))
                    radius.append(bodies.distractor_radius[m] * s)
                    xy.append(dxy[b, j].tolist())
                    quat.append(dq[b, j])
                    where.append(("d", j))
            if not parts:
                continue
            z = _stack_heights(np.array(xy), np.array(radius))
            start = np.concatenate([np.array(xy), z[:, None]], 1)
            q = torch.stack(quat)
            rest = settle(parts, start, q[:, [1, 2, 3, 0]].double().numpy(), support)
            for i, (kind, j) in enumerate(where):
                on = bool(rest.position[i, 2] > floor_z)
                qw = torch.tensor(rest.quaternion[i, [3, 0, 1, 2]], dtype=torch.float32)
                if kind == "o":
                    pos_o[b, j], quat_o[b, j], present[b, j] = torch.tensor(rest.position[i]), qw, on
                else:
                    pos_d[b, j], quat_d[b, j], placed[b, j] = torch.tensor(rest.position[i]), qw, on
        return DropParams(count, pos_o, quat_o, present, dcount, mesh, extent, pos_d, quat_d, placed)

    def apply(self, scene: SceneBatch, p: DropParams) -> SceneBatch:
        n, o = p.present.shape
        dn = p.mesh.shape[1]
        inst = scene.instances
        mesh, poses, scale, visible = inst.mesh.clone(), inst.pose.clone(), inst.scale.clone(), inst.visible.clone()
        objs = slice(TARGET, TARGET + o)
        poses[:, objs] = pose(quaternion_to_matrix(p.object_quaternion), p.object_position)
        visible[:, objs] = p.present
        first = self.world.first_distractor
        sl = slice(first, first + dn)
        mesh[:, sl] = p.mesh
        scale[:, sl] = p.extent[..., None].expand(n, dn, 3)
        poses[:, sl] = pose(quaternion_to_matrix(p.quaternion), p.position)
        visible[:, sl] = p.placed
        inst = type(inst)(**{**inst.__dict__, "mesh": mesh, "pose": poses, "scale": scale, "visible": visible})
        return scene.replace(instances=inst)


def _random_quaternions(n: int, k: int, rng: torch.Generator) -> Tensor:
    """(n, k, 4) w, x, y, z uniform on SO(3), w >= 0."""
    q = torch.randn(n, k, 4, generator=rng)
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return torch.where(q[..., :1] < 0, -q, q)


def _stack_heights(xy: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Start heights (centres, metres) so that each bounding sphere clears the support and the ones before it."""
    z = np.zeros(len(xy))
    for j in range(len(xy)):
        z[j] = radius[j] + START_GAP
        for i in range(j):
            d = float(np.linalg.norm(xy[j] - xy[i]))
            reach = radius[i] + radius[j] + START_GAP
            if d < reach:
                z[j] = max(z[j], z[i] + math.sqrt(reach * reach - d * d))
    return z


@dataclass(frozen=True, eq=False)
class _Bodies:
    objects: list[str]  # per class, its convex pieces' file (`physics.parts_file`), metres
    object_radius: list[float]  # per class, bounding-sphere radius about the mesh centre, metres
    distractors: list[str]  # per distractor mesh, the same at 1 m
    distractor_radius: list[float]


@functools.lru_cache(maxsize=4)
def _bodies(world: TableWorld) -> _Bodies:
    from domrand.physics import convex_parts, parts_file

    def user(mesh) -> str:
        return parts_file(convex_parts(mesh.vertices.double().numpy(), mesh.faces.numpy()))

    def radius(mesh) -> float:
        return float(mesh.vertices.norm(dim=-1).max())

    objects = world.target_meshes()
    distractors = world.distractor_meshes()
    n_builtin = world.distractor_meshes_count() - (len(world.distractors.files()) if world.distractors else 0)
    dparts = [
        parts_file([q.double().numpy() for q in m.parts]) if i < n_builtin else user(m)
        for i, m in enumerate(distractors)
    ]
    return _Bodies([user(m) for m in objects], [radius(m) for m in objects], dparts, [radius(m) for m in distractors])


def _support(world: TableWorld) -> tuple:
    """The static world of a drop and the height under which a body has fallen off it."""
    from domrand.physics import Support

    if world.scene not in SCENES:
        m = world.support_mesh()
        return Support(mesh=(m.vertices.double().numpy(), m.faces.numpy())), -0.05
    sz = world.table_size[2]
    parts = tuple(q.double().numpy() - np.array([0.0, 0.0, sz / 2]) for q in world.support_mesh().parts)
    return Support(parts=parts), -0.02
