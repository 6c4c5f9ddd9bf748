"""Placement randomizers: the tabletop target and distractors resting on the table without overlapping,
and the grasping task's single object resting in a random orientation."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from domrand.dist import Dist, IntUniform, Uniform
from domrand.generators.transforms import pose, quaternion_to_matrix, rotation_z
from domrand.params import Params, bool_field, int_field
from domrand.randomizers.base import Randomizer, check_n
from domrand.scene import SceneBatch
from domrand.world import FIRST_DISTRACTOR, TARGET, TableWorld, footprint_radii, mesh_half_extents, used_vertices


@dataclass(frozen=True, eq=False)
class PlacementParams(Params):
    """What `TabletopPlacement` drew, per scene (D = the world's distractor slots)."""

    target_mesh: Tensor = int_field()  # (B,) bank index
    target_xy: Tensor  # (B, 2) metres
    target_yaw: Tensor  # (B,) radians
    count: Tensor = int_field()  # (B,) distractors asked for
    mesh: Tensor = int_field()  # (B, D) bank index
    extent: Tensor  # (B, D) largest extent, metres
    xy: Tensor  # (B, D, 2) metres
    yaw: Tensor  # (B, D) radians
    placed: Tensor = bool_field()  # (B, D) found a free spot


def _check_range(name: str, d: Dist, lo: float, hi: float) -> None:
    a, b = d.bounds()
    if not (lo <= a and b <= hi):
        raise ValueError(f"{name} must stay within [{lo}, {hi}], got [{a}, {b}]")


@dataclass(frozen=True)
class TabletopPlacement(Randomizer[PlacementParams]):
    """The target and 0 to 10 distractors resting on the table.

    Randomizes:
        target position `target_x` x `target_y` (x in [-0.30, 0.30], y in [-0.20, 0.20] m) and yaw
        (0 to 360 deg); number of distractors `distractor_count` (0 to 10); each distractor's mesh
        (the world's primitives and procedural meshes), largest extent `distractor_extent` (0.02 to
        0.10 m), position on the table `distractor_x` x `distractor_y` and yaw. With
        `distractor_extent_step` > 0 the extents are snapped to multiples of it (within the range), so
        that each distractor mesh comes in a few fixed sizes (BOP ground truth for distractors needs
        one model per size: `output.bop_distractors`).

    Invariants: every object's lowest point is on z = 0; footprints (circles about each object's
    centre) keep `gap` metres apart, tried at `candidates` spots each before the distractor is
    dropped; a distractor that would hide the target's centre from the camera is hidden (so apply
    the camera first).
    """

    world: TableWorld = field(default_factory=TableWorld)
    target_x: Dist = Uniform(-0.30, 0.30)
    target_y: Dist = Uniform(-0.20, 0.20)
    target_yaw_deg: Dist = Uniform(0.0, 360.0)
    distractor_count: Dist = IntUniform(0, 10)
    distractor_extent: Dist = Uniform(0.02, 0.10)
    distractor_x: Dist = Uniform(-0.45, 0.45)
    distractor_y: Dist = Uniform(-0.35, 0.35)
    distractor_extent_step: float = 0.0
    gap: float = 0.005
    candidates: int = 32
    keep_target_centre_visible: bool = True
    params_type = PlacementParams

    def __post_init__(self) -> None:
        hx, hy = self.world.table_size[0] / 2, self.world.table_size[1] / 2
        for name in ("target_x", "distractor_x"):
            _check_range(f"placement.{name}", getattr(self, name), -hx, hx)
        for name in ("target_y", "distractor_y"):
            _check_range(f"placement.{name}", getattr(self, name), -hy, hy)
        _check_range("placement.distractor_count", self.distractor_count, 0, self.world.max_distractors)
        a, _ = self.distractor_extent.bounds()
        if not a > 0:
            raise ValueError(f"placement.distractor_extent must stay > 0 metres, got {self.distractor_extent.bounds()}")
        if not self.distractor_extent_step >= 0:
            raise ValueError(f"placement.distractor_extent_step must be >= 0 metres, got {self.distractor_extent_step}")
        if self.distractor_extent_step > 0 and not self.extent_grid().numel():
            raise ValueError(
                f"placement.distractor_extent_step {self.distractor_extent_step} leaves no size in "
                f"distractor_extent {self.distractor_extent.bounds()}: choose a smaller step"
            )
        if not (self.gap >= 0 and self.candidates >= 1):
            raise ValueError(f"placement.gap must be >= 0 and candidates >= 1, got {self.gap}, {self.candidates}")

    def _grid_steps(self) -> tuple[int, int]:
        """The first and last multiple of `distractor_extent_step` inside `distractor_extent` (at least 1)."""
        step = self.distractor_extent_step
        lo, hi = self.distractor_extent.bounds()
        return max(1, math.ceil(lo / step - 1e-9)), math.floor(hi / step + 1e-9)

    def extent_grid(self) -> Tensor:
        """(S,) float32: the distractor extents (metres) that `distractor_extent_step` allows, smallest first."""
        k0, k1 = self._grid_steps()
        return torch.arange(k0, k1 + 1, dtype=torch.float32) * self.distractor_extent_step

    def _snap(self, extent: Tensor) -> Tensor:
        """Extents snapped to the grid (the same float32 values `extent_grid` lists); unchanged without a step."""
        if self.distractor_extent_step <= 0:
            return extent
        k0, k1 = self._grid_steps()
        return (extent / self.distractor_extent_step).round().clamp(k0, k1) * self.distractor_extent_step

    def draw_distractors(self, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        """The distractors' draws, in this order from `rng`: count (B,), bank meshes (B, D), largest extents
        (B, D) metres, yaws (B, D) radians and `candidates` spots each (B, D, C, 2) metres."""
        d0, d1 = self.world.distractor_mesh_ids
        dn = self.world.max_distractors
        count = self.distractor_count.sample((n,), rng=rng).round().to(torch.int64)
        mesh = torch.randint(d0, max(d1, d0 + 1), (n, dn), generator=rng)
        extent = self._snap(self.distractor_extent.sample((n, dn), rng=rng))
        yaw = torch.rand(n, dn, generator=rng) * 2 * math.pi
        cand = torch.stack(
            [
                self.distractor_x.sample((n, dn, self.candidates), rng=rng),
                self.distractor_y.sample((n, dn, self.candidates), rng=rng),
            ],
            -1,
        )
        return count, mesh, extent, yaw, cand

    def sample(self, n: int, *, rng: torch.Generator) -> PlacementParams:
        check_n(n)
        w = self.world
        bank = w.mesh_bank()
        radii = footprint_radii(bank)
        t0, t1 = w.target_mesh_ids
        target_mesh = torch.randint(t0, t1, (n,), generator=rng)
        target_xy = torch.stack([self.target_x.sample((n,), rng=rng), self.target_y.sample((n,), rng=rng)], -1)
        target_yaw = torch.deg2rad(self.target_yaw_deg.sample((n,), rng=rng))
        count, mesh, extent, yaw, cand = self.draw_distractors(n, rng)
        r_d = extent * radii[mesh]
        xy, placed = place_distractors(cand, target_xy, radii[target_mesh], r_d, count, self.gap)
        return PlacementParams(target_mesh, target_xy, target_yaw, count, mesh, extent, xy, yaw, placed)

    def apply(self, scene: SceneBatch, p: PlacementParams) -> SceneBatch:
        bank = scene.meshes
        half = mesh_half_extents(bank)
        n, dn = p.mesh.shape
        inst = scene.instances
        mesh, poses, scale, visible = inst.mesh.clone(), inst.pose.clone(), inst.scale.clone(), inst.visible.clone()
        mesh[:, TARGET] = p.target_mesh
        t_z = half[p.target_mesh, 2] * scale[:, TARGET, 2]
        poses[:, TARGET] = pose(rotation_z(p.target_yaw), torch.cat([p.target_xy, t_z[:, None]], -1))
        sl = slice(FIRST_DISTRACTOR, FIRST_DISTRACTOR + dn)
        mesh[:, sl] = p.mesh
        scale[:, sl] = p.extent[..., None].expand(n, dn, 3)
        z = half[p.mesh, 2] * p.extent
        poses[:, sl] = pose(rotation_z(p.yaw), torch.cat([p.xy, z[..., None]], -1))
        show = p.placed.clone()
        if self.keep_target_centre_visible:
            eye = scene.camera.cam_to_world[:, :3, 3]
            centre = torch.cat([p.target_xy, t_z[:, None]], -1)
            show &= ~_blocks_sight(eye, centre, p.xy, p.extent * footprint_radii(bank)[p.mesh], 2 * z)
        visible[:, sl] = show
        inst = type(inst)(**{**inst.__dict__, "mesh": mesh, "pose": poses, "scale": scale, "visible": visible})
        return scene.replace(instances=inst)


def place_distractors(
    cand: Tensor, target_xy: Tensor, target_r: Tensor, r_d: Tensor, count: Tensor, gap: float
) -> tuple[Tensor, Tensor]:
    """Each distractor's spot: the first of its candidates cand (B, D, C, 2) metres clear of the target (target_xy
    (B, 2), footprint radius target_r (B,)) and of the distractors placed before it (radii r_d (B, D)) by at least
    `gap` metres, else its first candidate, not placed; distractors d >= count (B,) are not placed.

    Returns xy (B, D, 2) float32 and placed (B, D) bool. On the CPU one compiled pass (`kernels.placement`), else
    `place_distractors_torch`: the same spots.
    """
    args = (cand, target_xy, target_r, r_d)
    if all(t.device.type == "cpu" and t.dtype == torch.float32 for t in args) and count.device.type == "cpu":
        from domrand.kernels.placement import place_distractors as kernel

        n, dn = r_d.shape
        xy, placed = torch.empty(n, dn, 2), torch.empty(n, dn, dtype=torch.bool)
        kernel(*(t.contiguous().numpy() for t in args), count.to(torch.int64).numpy(), gap, xy.numpy(), placed.numpy())
        return xy, placed
    return place_distractors_torch(cand, target_xy, target_r, r_d, count, gap)


def place_distractors_torch(
    cand: Tensor, target_xy: Tensor, target_r: Tensor, r_d: Tensor, count: Tensor, gap: float
) -> tuple[Tensor, Tensor]:
    """`place_distractors` as torch operations over the batch, a distractor at a time (any device): the reference
    of the compiled kernel."""
    n, dn = r_d.shape
    xy = torch.zeros(n, dn, 2, device=cand.device)
    placed = torch.zeros(n, dn, dtype=torch.bool, device=cand.device)
    # what is on the table so far: the target, then each distractor as it is placed (B, 1 + D)
    centres = torch.cat([target_xy[:, None], xy], 1)
    rads = torch.cat([target_r[:, None], r_d], 1)
    active = torch.cat([torch.ones(n, 1, dtype=torch.bool, device=cand.device), placed], 1)
    rows = torch.arange(n, device=cand.device)
    for d in range(dn):
        c = cand[:, d]  # (B, C, 2)
        dist = (c[:, :, None] - centres[:, None, : d + 1]).norm(dim=-1)  # (B, C, d + 1) to everything so far
        ok = (~active[:, None, : d + 1] | (dist >= ((rads[:, : d + 1] + r_d[:, d : d + 1]) + gap)[:, None])).all(-1)
        first = ok.to(torch.int8).argmax(1)
        xy[:, d] = c[rows, first]
        placed[:, d] = ok.any(1) & (d < count)
        centres[:, d + 1], active[:, d + 1] = xy[:, d], placed[:, d]
    return xy, placed


def _blocks_sight(eye: Tensor, centre: Tensor, xy: Tensor, radius: Tensor, height: Tensor) -> Tensor:
    """(B, D) whether each vertical cylinder (xy (B, D, 2), radius, height from z = 0) meets the
    segment from `eye` (B, 3) to `centre` (B, 3)."""
    e, d = eye[:, None, :], (centre - eye)[:, None, :]
    rel = e[..., :2] - xy
    a = (d[..., :2] ** 2).sum(-1).clamp_min(1e-12)
    b = 2 * (rel * d[..., :2]).sum(-1)
    c = (rel**2).sum(-1) - radius**2
    disc = b * b - 4 * a * c
    sq = disc.clamp_min(0).sqrt()
    t1, t2 = (-b - sq) / (2 * a), (-b + sq) / (2 * a)
    dz = d[..., 2].expand_as(t1)
    safe = torch.where(dz.abs() < 1e-12, torch.full_like(dz, 1e-12), dz)
    z_a, z_b = (height - e[..., 2]) / safe, (0 - e[..., 2]) / safe
    z_lo, z_hi = torch.minimum(z_a, z_b), torch.maximum(z_a, z_b)
    lo = torch.maximum(torch.maximum(t1, z_lo), torch.zeros_like(t1))
    hi = torch.minimum(torch.minimum(t2, z_hi), torch.ones_like(t1))
    return (disc >= 0) & (lo <= hi)


@dataclass(frozen=True, eq=False)
class RestingParams(Params):
    """What `RestingObject` drew, per scene."""

    mesh: Tensor = int_field()  # (B,) bank index of the target
    quaternion: Tensor  # (B, 4) w, x, y, z
    xy: Tensor  # (B, 2) metres


@dataclass(frozen=True)
class RestingObject(Randomizer[RestingParams]):
    """The grasping task's object: any orientation, lowest point on the table, near the centre.

    Randomizes:
        which of the world's target meshes; orientation uniform on SO(3); position `x` x `y`
        (+-0.10 m). Not physically settled (the grasp simulator settles it); only lowered to z = 0.
    """

    world: TableWorld = field(
        default_factory=lambda: TableWorld(target="procedural", procedural_targets=64, max_distractors=0)
    )
    x: Dist = Uniform(-0.10, 0.10)
    y: Dist = Uniform(-0.10, 0.10)
    params_type = RestingParams

    def __post_init__(self) -> None:
        hx, hy = self.world.table_size[0] / 2, self.world.table_size[1] / 2
        _check_range("placement.x", self.x, -hx, hx)
        _check_range("placement.y", self.y, -hy, hy)

    def sample(self, n: int, *, rng: torch.Generator) -> RestingParams:
        check_n(n)
        t0, t1 = self.world.target_mesh_ids
        q = torch.randn(n, 4, generator=rng)
        q = q / q.norm(dim=-1, keepdim=True)
        q = torch.where(q[:, :1] < 0, -q, q)
        xy = torch.stack([self.x.sample((n,), rng=rng), self.y.sample((n,), rng=rng)], -1)
        return RestingParams(torch.randint(t0, t1, (n,), generator=rng), q, xy)

    def apply(self, scene: SceneBatch, p: RestingParams) -> SceneBatch:
        bank = scene.meshes
        inst = scene.instances
        rot = quaternion_to_matrix(p.quaternion)
        verts = bank.vertices[p.mesh] * inst.scale[:, TARGET, None, :]
        z = (verts @ rot.transpose(1, 2))[..., 2]
        z = torch.where(used_vertices(bank)[p.mesh], z, torch.full_like(z, math.inf)).amin(1)
        mesh, poses = inst.mesh.clone(), inst.pose.clone()
        mesh[:, TARGET] = p.mesh
        poses[:, TARGET] = pose(rot, torch.cat([p.xy, -z[:, None]], -1))
        inst = type(inst)(**{**inst.__dict__, "mesh": mesh, "pose": poses})
        return scene.replace(instances=inst)
