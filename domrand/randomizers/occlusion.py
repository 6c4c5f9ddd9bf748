"""`TargetOcclusion`: in a share of scenes, a distractor stands between the camera and the target and hides
part of it (Tobin et al. 2017's occluded test set: 30 to 85 % of the target visible, its centre may be
hidden). Acts after the camera and the placement (it reads where both put things), before the textures.

How much is hidden is estimated from the two objects' silhouettes, their projected triangles filled on a
small canvas over the target (the part of the target's silhouette that the occluder's covers); of
`candidates` drawn spots, the first whose estimate falls inside `visible` is used, so the rendered visible
fraction lands in that range (measured in the tests).

Example:
    >>> import torch
    >>> from domrand.config import load_config
    >>> cfg = load_config(overrides={"image_size": 32, "occlusion": {"enabled": True, "share": 1.0}})
    >>> pipe = cfg.pipeline()
    >>> p = pipe.sample(2, rng=torch.Generator().manual_seed(0))
    >>> bool(p["occlusion"].occluded.all())
    True
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from torch import Tensor

from domrand.dist import Dist, Uniform
from domrand.generators.transforms import pose, rotation_z
from domrand.params import Params, bool_field, int_field
from domrand.randomizers.base import Randomizer, check_n
from domrand.scene import SceneBatch
from domrand.world import TARGET, TableWorld, footprint_radii, mesh_half_extents


@dataclass(frozen=True, eq=False)
class OcclusionParams(Params):
    """What `TargetOcclusion` drew, per scene (C candidate spots)."""

    occluded: Tensor = bool_field()  # (B,) this scene gets an occluder
    mesh: Tensor = int_field()  # (B, C) bank index of each candidate's mesh
    extent: Tensor  # (B, C) its largest extent, metres
    distance: Tensor  # (B, C) in [0, 1]: how far in front of the target, across the allowed span
    offset: Tensor  # (B, C) in [-1, 1]: sideways, in units of the two footprints' radii
    yaw: Tensor  # (B, C) radians


@dataclass(frozen=True)
class TargetOcclusion(Randomizer[OcclusionParams]):
    """A distractor partly in front of the target in `share` of the scenes.

    Randomizes:
        whether a scene is occluded (probability `share`); the occluder's mesh (the world's distractor
        meshes), largest extent `extent` (0.06 to 0.12 m), spot between the target and the camera (in front
        of the target by 0 to `reach` metres beyond touching, sideways across both footprints) and yaw, for
        each of `candidates` spots; the first whose estimate is in `visible` is used (none: the one nearest
        the range's middle that hides anything). It takes the last distractor slot and hides distractors it
        would overlap.
    """

    world: TableWorld = field(default_factory=TableWorld)
    share: float = 0.3
    visible: tuple[float, float] = (0.30, 0.85)
    extent: Dist = Uniform(0.06, 0.12)
    reach: float = 0.10
    gap: float = 0.005
    candidates: int = 96
    params_type = OcclusionParams

    def __post_init__(self) -> None:
        if not 0.0 <= self.share <= 1.0:
            raise ValueError(f"occlusion.share must be in [0, 1], got {self.share}")
        lo, hi = self.visible
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"occlusion.visible must be [low, high] within [0, 1], got {list(self.visible)}")
        if not self.extent.bounds()[0] > 0 or not self.reach >= 0 or not self.candidates >= 1:
            raise ValueError("occlusion.extent must stay > 0, reach >= 0 and candidates >= 1")
        if self.world.max_distractors < 1 or self.world.objects:
            raise ValueError(
                "occlusion needs the tabletop's target and at least one distractor slot (world.max_distractors >= 1)"
            )

    def sample(self, n: int, *, rng: torch.Generator) -> OcclusionParams:
        check_n(n)
        c = self.candidates
        d0, d1 = self.world.distractor_mesh_ids
        return OcclusionParams(
            occluded=torch.rand(n, generator=rng) < self.share,
            mesh=torch.randint(d0, max(d1, d0 + 1), (n, c), generator=rng),
            extent=self.extent.sample((n, c), rng=rng),
            distance=torch.rand(n, c, generator=rng),
            offset=torch.rand(n, c, generator=rng) * 2 - 1,
            yaw=torch.rand(n, c, generator=rng) * 2 * math.pi,
        )

    def apply(self, scene: SceneBatch, p: OcclusionParams) -> SceneBatch:
        if not bool(p.occluded.any()):
            return scene
        bank = scene.meshes
        half, radii = mesh_half_extents(bank), footprint_radii(bank)
        inst = scene.instances
        mesh, poses, scale, visible = inst.mesh.clone(), inst.pose.clone(), inst.scale.clone(), inst.visible.clone()
        slot = inst.mesh.shape[1] - 1  # the last distractor slot
        first = self.world.first_distractor
        tris = _mesh_triangles(bank)
        for b in torch.nonzero(p.occluded).reshape(-1).tolist():
            t_pose = inst.pose[b, TARGET]
            t_mesh = int(inst.mesh[b, TARGET])
            canvas = _Canvas(scene.camera.intrinsics[b].double().numpy(), scene.camera.cam_to_world[b].double().numpy())
            canvas.set_target(_placed(tris[t_mesh], inst.scale[b, TARGET], t_pose))
            others = np.zeros((CANVAS, CANVAS), bool)  # what the placed distractors already hide
            for kk in range(first, slot):
                if visible[b, kk]:
                    others |= canvas.cover(_placed(tris[int(mesh[b, kk])], scale[b, kk], poses[b, kk]))
            r_t = float(radii[t_mesh] * inst.scale[b, TARGET, :2].max())
            towards = scene.camera.cam_to_world[b, :2, 3] - t_pose[:2, 3]
            towards = towards / towards.norm().clamp_min(1e-9)
            side = torch.stack([-towards[1], towards[0]])
            m_all, e_all = p.mesh[b], p.extent[b]
            r_o = radii[m_all] * e_all
            d = r_t + r_o + self.gap + p.distance[b] * self.reach
            xy = t_pose[:2, 3] + d[:, None] * towards + (p.offset[b] * (r_t + r_o))[:, None] * side
            o_poses = pose(rotation_z(p.yaw[b]), torch.cat([xy, (half[m_all, 2] * e_all)[:, None]], -1))
            chosen, closest = None, (math.inf, None)
            mid = (self.visible[0] + self.visible[1]) / 2
            for j in range(m_all.shape[0]):
                m, e = int(m_all[j]), float(e_all[j])
                frac = canvas.visible(others | canvas.cover(_placed(tris[m], torch.full((3,), e), o_poses[j])))
                if self.visible[0] <= frac <= self.visible[1]:
                    chosen = j
                    break
                if frac < 1.0 and abs(frac - mid) < closest[0]:
                    closest = (abs(frac - mid), j)
            chosen = chosen if chosen is not None else closest[1]  # none in the range: the nearest that hides something
            if chosen is None:
                continue
            m, e, o_pose, xy_o, ro = (
                int(m_all[chosen]),
                float(e_all[chosen]),
                o_poses[chosen],
                xy[chosen],
                float(r_o[chosen]),
            )
            mesh[b, slot], scale[b, slot], poses[b, slot], visible[b, slot] = m, e, o_pose, True
            for k in range(first, slot):  # distractors the occluder would overlap go
                if visible[b, k]:
                    r_k = float(radii[int(mesh[b, k])] * scale[b, k, :2].max())
                    if float((poses[b, k, :2, 3] - xy_o).norm()) < ro + r_k + self.gap:
                        visible[b, k] = False
        inst = type(inst)(**{**inst.__dict__, "mesh": mesh, "pose": poses, "scale": scale, "visible": visible})
        return scene.replace(instances=inst)


@functools.lru_cache(maxsize=8)
def _mesh_triangles(bank) -> list[np.ndarray]:
    """Per bank mesh, its triangles (F, 3, 3) float64 in the object frame."""
    out = []
    for m in range(bank.vertices.shape[0]):
        faces = bank.faces[m, : int(bank.num_faces[m])]
        out.append(bank.vertices[m][faces].double().numpy())
    return out


def _placed(tris: np.ndarray, scale: Tensor, pose_: Tensor) -> np.ndarray:
    """Object-frame triangles (F, 3, 3) scaled per axis (3,) and posed (4, 4): world triangles."""
    t = pose_.double().numpy()
    return (tris * scale.double().numpy()) @ t[:3, :3].T + t[:3, 3]


#: Side of the canvas (over the target's projected box) on which the silhouettes are filled.
CANVAS = 48


class _Canvas:
    """The target's silhouette on a `CANVAS`-square canvas over its projected box, and what covers it."""

    def __init__(self, k: np.ndarray, cam_to_world: np.ndarray) -> None:
        self.k, self.w2c = k, np.linalg.inv(cam_to_world)

    def set_target(self, tris: np.ndarray) -> None:
        uv, self.z = self._project(tris)
        flat = uv.reshape(-1, 2)
        self.lo = flat.min(0)
        self.scale = (CANVAS - 1) / max(float((flat.max(0) - self.lo).max()), 1e-6)
        self.mask = self._fill(uv)
        self.area = int(self.mask.sum())

    def _project(self, tris: np.ndarray) -> tuple[np.ndarray, float]:
        cam = tris @ self.w2c[:3, :3].T + self.w2c[:3, 3]
        z = np.maximum(cam[..., 2], 1e-6)
        k = self.k
        uv = np.stack([k[0, 0] * cam[..., 0] / z + k[0, 2], k[1, 1] * cam[..., 1] / z + k[1, 2]], -1)
        return uv, float(cam[..., 2].mean())

    def _fill(self, uv: np.ndarray) -> np.ndarray:
        img = np.zeros((CANVAS, CANVAS), np.uint8)
        pts = np.round((uv - self.lo) * self.scale * 16).astype(np.int32)  # 4 bits of sub-pixel precision
        cv2.fillPoly(img, list(pts), 1, lineType=cv2.LINE_8, shift=4)
        return img.astype(bool)

    def cover(self, tris: np.ndarray) -> np.ndarray:
        """The canvas pixels that world triangles (N, 3, 3) in front of the target cover (none if behind it)."""
        uv, z = self._project(tris)
        return self._fill(uv) if z < self.z else np.zeros((CANVAS, CANVAS), bool)

    def visible(self, covered: np.ndarray) -> float:
        """The share of the target's silhouette that `covered` leaves."""
        return 1.0 if self.area == 0 else float(1.0 - (self.mask & covered).sum() / self.area)
