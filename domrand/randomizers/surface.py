"""`SurfacePlacement`: the instances of a world's user classes (`world.objects`) and its distractors resting on
the support without overlapping (placement `mode: surface`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.generators.transforms import pose, rotation_z
from domrand.params import Params, bool_field, int_field
from domrand.randomizers.base import check_n
from domrand.randomizers.placement import TabletopPlacement
from domrand.scene import SceneBatch
from domrand.world import TARGET, footprint_radii, mesh_half_extents

MODES = ("surface", "drop")
#: The share of the objects' area a placement region may be asked to hold (random sequential placement
#: of discs jams near 0.55 of the area).
MAX_COVER = 0.4


@dataclass(frozen=True, eq=False)
class SurfaceParams(Params):
    """What `SurfacePlacement` drew, per scene (C classes, O object slots, D distractor slots)."""

    count: Tensor = int_field()  # (B, C) instances asked for per class
    object_xy: Tensor  # (B, O, 2) metres
    object_yaw: Tensor  # (B, O) radians
    present: Tensor = bool_field()  # (B, O) asked for and found a free spot
    distractor_count: Tensor = int_field()  # (B,) distractors asked for
    mesh: Tensor = int_field()  # (B, D) bank index
    extent: Tensor  # (B, D) largest extent, metres
    xy: Tensor  # (B, D, 2) metres
    yaw: Tensor  # (B, D) radians
    placed: Tensor = bool_field()  # (B, D) found a free spot


@dataclass(frozen=True)
class SurfacePlacement(TabletopPlacement):
    """User objects and distractors on the support, footprints apart (the tabletop placement's keys).

    Randomizes:
        instances per class (each class's `count` in the world, uniform); each instance's position in
        `target_x` x `target_y` and yaw `target_yaw_deg`; distractors as `TabletopPlacement` does. Objects
        rest as their mesh files stand (lowest point on z = 0). An object that finds no free spot in
        `candidates` tries is left out of that image (so are distractors). `keep_target_centre_visible`
        does not apply.

    Example:
        >>> import tempfile, pathlib, trimesh, torch
        >>> from domrand.objects import ObjectClass
        >>> from domrand.world import TableWorld
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> _ = trimesh.creation.box((0.05, 0.05, 0.05)).export(d / "box.stl")
        >>> w = TableWorld(objects=(ObjectClass(name="box", mesh=str(d / "box.stl"), count=(2, 3)),))
        >>> p = SurfacePlacement(world=w).sample(4, rng=torch.Generator().manual_seed(0))
        >>> tuple(p.object_xy.shape), bool((p.present.sum(1) >= 2).all())
        ((4, 3, 2), True)
    """

    mode: str = "surface"
    params_type = SurfaceParams

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.mode not in MODES:
            raise ValueError(f"placement.mode must be one of {list(MODES)}, got {self.mode!r}")
        w = self.world
        if not w.objects:
            raise ValueError("placement for user objects needs world.objects")
        (x0, x1), (y0, y1) = self.target_x.bounds(), self.target_y.bounds()
        radii = footprint_radii(w.mesh_bank())[w.target_mesh_ids[0] : w.target_mesh_ids[1]]
        need = sum(c.count[0] * math.pi * (float(r) + self.gap / 2) ** 2 for c, r in zip(w.objects, radii))
        reach = max(float(r) for r in radii)  # centres go in the ranges, footprints reach beyond by their radius
        area = (max(x1 - x0, 0.0) + 2 * reach) * (max(y1 - y0, 0.0) + 2 * reach)
        side = min(w.table_size[0], w.table_size[1])
        for c, r in zip(w.objects, radii):
            if 2 * float(r) > side:
                raise ValueError(
                    f"world.objects[{c.name!r}] is {2 * float(r):.3g} m across (units {c.units!r}) but the support "
                    f"is {side:.3g} m wide: set its units (mm, cm) or `extent: <metres>`, or a larger world.table_size"
                )
        if sum(c.count[0] for c in w.objects) >= 2 and need > MAX_COVER * area:
            counts = {c.name: c.count[0] for c in w.objects}
            raise ValueError(
                f"world.objects: at least {counts} instances need {need:.3f} m^2 of footprints but placement.target_x x "
                f"target_y reaches {area:.3f} m^2 (at most {MAX_COVER:.0%} of it fills): lower the counts or widen the ranges"
            )

    def draw_counts(self, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        """Instances per class (B, C), each uniform in its class's `count`, and which object slots they fill
        (B, O) bool (a class's first `count` slots)."""
        w = self.world
        slot_class = torch.tensor(w.object_slot_classes())
        lo = torch.tensor([c.count[0] for c in w.objects])
        hi = torch.tensor([c.count[1] for c in w.objects])
        u = torch.rand(n, len(w.objects), generator=rng)
        count = lo + (u * (hi - lo + 1)).floor().to(torch.int64).clamp_max(hi - lo)
        first_of_class = torch.tensor([sum(c.max_count for c in w.objects[:i]) for i in range(len(w.objects))])
        instance = torch.arange(slot_class.shape[0]) - first_of_class[slot_class]
        return count, instance[None] < count[:, slot_class]

    def sample(self, n: int, *, rng: torch.Generator) -> SurfaceParams:
        check_n(n)
        w = self.world
        bank = w.mesh_bank()
        radii = footprint_radii(bank)
        slot_class = torch.tensor(w.object_slot_classes())
        o = slot_class.shape[0]
        count, want = self.draw_counts(n, rng)
        yaw = torch.deg2rad(self.target_yaw_deg.sample((n, o), rng=rng))
        cand = torch.stack(
            [
                self.target_x.sample((n, o, self.candidates), rng=rng),
                self.target_y.sample((n, o, self.candidates), rng=rng),
            ],
            -1,
        )
        r_obj = radii[w.target_mesh_ids[0] + slot_class].expand(n, o)
        xy, present = _place(cand, r_obj, want, [], [], [], self.gap)

        dn = w.max_distractors
        dcount, mesh, extent, dyaw, dcand = self.draw_distractors(n, rng)
        dwant = torch.arange(dn)[None] < dcount[:, None]
        dxy, placed = _place(
            dcand, extent * radii[mesh], dwant, xy.unbind(1), r_obj.unbind(1), present.unbind(1), self.gap
        )
        return SurfaceParams(count, xy, yaw, present, dcount, mesh, extent, dxy, dyaw, placed)

    def apply(self, scene: SceneBatch, p: SurfaceParams) -> SceneBatch:
        w = self.world
        half = mesh_half_extents(scene.meshes)
        n, o = p.object_xy.shape[:2]
        dn = p.mesh.shape[1]
        inst = scene.instances
        mesh, poses, scale, visible = inst.mesh.clone(), inst.pose.clone(), inst.scale.clone(), inst.visible.clone()
        objs = slice(TARGET, TARGET + o)
        z = half[mesh[:, objs], 2]
        poses[:, objs] = pose(rotation_z(p.object_yaw), torch.cat([p.object_xy, z[..., None]], -1))
        visible[:, objs] = p.present
        first = w.first_distractor
        sl = slice(first, first + dn)
        mesh[:, sl] = p.mesh
        scale[:, sl] = p.extent[..., None].expand(n, dn, 3)
        dz = half[p.mesh, 2] * p.extent
        poses[:, sl] = pose(rotation_z(p.yaw), torch.cat([p.xy, dz[..., None]], -1))
        visible[:, sl] = p.placed
        inst = type(inst)(**{**inst.__dict__, "mesh": mesh, "pose": poses, "scale": scale, "visible": visible})
        return scene.replace(instances=inst)


def _place(
    cand: Tensor,
    radius: Tensor,
    want: Tensor,
    centres: list[Tensor] | tuple[Tensor, ...],
    rads: list[Tensor] | tuple[Tensor, ...],
    actives: list[Tensor] | tuple[Tensor, ...],
    gap: float,
) -> tuple[Tensor, Tensor]:
    """Footprint circles placed one after another at their first free candidate spot.

    Args:
        cand: (B, N, C, 2) candidate spots of N circles, metres. radius: (B, N) metres. want: (B, N) bool.
        centres, rads, actives: circles already there, each (B, 2), (B,), (B,) bool.
        gap: free space between footprints, metres.

    Returns:
        xy (B, N, 2) and placed (B, N) bool (wanted and a spot was free).
    """
    b, k = cand.shape[:2]
    centres, rads, actives = list(centres), list(rads), list(actives)
    xy = torch.zeros(b, k, 2)
    placed = torch.zeros(b, k, dtype=torch.bool)
    for j in range(k):
        c = cand[:, j]
        ok = torch.ones(c.shape[:2], dtype=torch.bool)
        for other, r_o, active in zip(centres, rads, actives):
            dist = (c - other[:, None]).norm(dim=-1)
            ok &= ~active[:, None] | (dist >= (r_o + radius[:, j])[:, None] + gap)
        xy[:, j] = c[torch.arange(b), ok.to(torch.int8).argmax(1)]
        placed[:, j] = ok.any(1) & want[:, j]
        centres.append(xy[:, j])
        rads.append(radius[:, j])
        actives.append(placed[:, j])
    return xy, placed
