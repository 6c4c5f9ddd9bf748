"""Camera randomizers: a look-at camera jittered around its nominal pose, and the top-down grasping camera."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.dist import Dist, Uniform
from domrand.generators import cameras
from domrand.generators.transforms import look_at
from domrand.params import Params
from domrand.randomizers.base import Randomizer, check_n
from domrand.scene import Camera, SceneBatch


@dataclass(frozen=True, eq=False)
class CameraParams(Params):
    """What `CameraJitter` drew, per scene."""

    eye_offset: Tensor  # (B, 3) metres, world frame
    target_offset: Tensor  # (B, 3) metres
    roll: Tensor  # (B,) radians
    fov_offset: Tensor  # (B,) radians


@dataclass(frozen=True, eq=False)
class PrincipalCameraParams(CameraParams):
    """`CameraParams` plus the principal point's offset, when `CameraJitter.principal_jitter_px` is set."""

    principal_offset: Tensor  # (B, 2) pixels added to cx, cy


def _vec3(name: str, v: tuple[float, ...]) -> None:
    if len(v) != 3 or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in v):
        raise ValueError(f"{name} must be three finite numbers (metres), got {v!r}")


@dataclass(frozen=True)
class Intrinsics:
    """A real camera's pinhole intrinsics (OpenCV: pixel centres at integers), pixels.

    Example:
        >>> Intrinsics(fx=615.0, fy=615.0, cx=321.5, cy=238.5, width=640, height=480).matrix().tolist()[0]
        [615.0, 0.0, 321.5]
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (
            isinstance(self.width, int)
            and isinstance(self.height, int)
            and 8 <= self.width <= 8192
            and 8 <= self.height <= 8192
        ):
            raise ValueError(
                f"camera.intrinsics width and height must be ints in [8, 8192] pixels, got {self.width} x {self.height}"
            )
        if not (self.fx > 0 and self.fy > 0 and math.isfinite(self.fx) and math.isfinite(self.fy)):
            raise ValueError(
                f"camera.intrinsics fx and fy must be positive focal lengths in pixels, got {self.fx}, {self.fy}"
            )
        if not (-0.5 <= self.cx <= self.width - 0.5 and -0.5 <= self.cy <= self.height - 0.5):
            raise ValueError(
                f"camera.intrinsics principal point ({self.cx}, {self.cy}) is outside the {self.width} x {self.height} "
                "image: cx in [-0.5, width - 0.5], cy in [-0.5, height - 0.5] (OpenCV convention, pixels)"
            )

    def matrix(self) -> Tensor:
        """(3, 3) float32 K."""
        return torch.tensor([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]], dtype=torch.float32)

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) pixels."""
        return self.height, self.width


@dataclass(frozen=True)
class CameraJitter(Randomizer[CameraParams]):
    """Perturbs a roughly known look-at camera.

    Randomizes:
        eye: nominal `eye` + `eye_jitter` per axis (default +-0.05 m); look-at point: `look_at` +
        `target_jitter` per axis (+-0.03 m); roll about the optical axis: `roll_deg` (+-3 deg);
        vertical field of view: `fov_deg` + `fov_jitter_deg` (+-3 deg); with `principal_jitter_px` (off by
        default) the principal point moves by that many pixels in x and in y (real cameras sit pixels away
        from the image centre; a model should read the camera from the image). `spread` (off by default) is a
        factor in [0, 1] drawn per scene that scales every jitter above: `{kind: choice, values: [0.2, 1.0]}`
        mixes scenes from a nearly calibrated camera with the full spread, so that a model also sees cameras
        near the nominal one (a uniform spread over 8 camera parameters almost never does; the pose model's
        learnt camera correction was biased there, issue 33). With `intrinsics` (a real camera)
        the image is its width x height with its fx, fy, cx, cy; `fov_deg` is unused and `fov_jitter_deg`
        widens or narrows its vertical field of view (both focal lengths scale alike, cx and cy stay).
        `distortion` (with intrinsics) gives OpenCV's lens terms k1, k2, p1, p2[, k3[, k4, k5, k6]]: images
        and labels both go through them (`domrand.render.distortion`).

    Example:
        >>> import torch
        >>> from domrand.world import TableWorld
        >>> r = CameraJitter()
        >>> p = r.sample(4, rng=torch.Generator().manual_seed(0))
        >>> s = r.apply(TableWorld().base_scene(4, (64, 64)), p)
        >>> tuple(s.camera.cam_to_world.shape)
        (4, 4, 4)
    """

    eye: tuple[float, float, float] = (0.0, -0.70, 0.60)
    look_at: tuple[float, float, float] = (0.0, 0.0, 0.0)
    fov_deg: float = 45.0
    eye_jitter: Dist = Uniform(-0.05, 0.05)
    target_jitter: Dist = Uniform(-0.03, 0.03)
    roll_deg: Dist = Uniform(-3.0, 3.0)
    fov_jitter_deg: Dist = Uniform(-3.0, 3.0)
    intrinsics: Intrinsics | None = None
    distortion: tuple[float, ...] | None = None
    principal_jitter_px: Dist | None = None
    spread: Dist | None = None

    @property
    def params_type(self) -> type[CameraParams]:  # type: ignore[override]
        return CameraParams if self.principal_jitter_px is None else PrincipalCameraParams

    def __post_init__(self) -> None:
        _vec3("camera.eye", self.eye)
        _vec3("camera.look_at", self.look_at)
        lo, hi = self.fov_jitter_deg.bounds()
        if not (0 < self.nominal_fov_deg + lo and self.nominal_fov_deg + hi < 180):
            raise ValueError(
                f"camera.fov_deg plus fov_jitter_deg must stay in (0, 180), got {self.nominal_fov_deg} + [{lo}, {hi}]"
            )
        if math.dist(self.eye, self.look_at) < 1e-6:
            raise ValueError("camera.eye and camera.look_at must differ")
        if self.principal_jitter_px is not None:
            lo, hi = self.principal_jitter_px.bounds()
            if not (-64 <= lo and hi <= 64):
                raise ValueError(f"camera.principal_jitter_px must stay within +-64 pixels, got [{lo}, {hi}]")
        if self.spread is not None:
            lo, hi = self.spread.bounds()
            if not (0 <= lo and hi <= 1):
                raise ValueError(
                    f"camera.spread scales the jitters and must stay within [0, 1], got [{lo}, {hi}]: widen the"
                    " jitters themselves for a larger spread"
                )
        if self.distortion is not None:
            if self.intrinsics is None:
                raise ValueError(
                    "camera.distortion needs camera.intrinsics (a calibrated camera: fx, fy, cx, cy, width, height)"
                )
            from domrand.generators.lens import check

            lo, hi = self.fov_jitter_deg.bounds()
            for off in (lo, hi):  # the widest and narrowest field the jitter reaches
                half = math.radians(self.nominal_fov_deg) / 2
                f = math.tan(half) / math.tan(half + math.radians(off) / 2)
                k = self.intrinsics.matrix()
                k[0, 0] *= f
                k[1, 1] *= f
                check(tuple(self.distortion), k, self.intrinsics.size)

    @property
    def nominal_fov_deg(self) -> float:
        """The unjittered vertical field of view, degrees (the intrinsics' when given)."""
        k = self.intrinsics
        if k is None:
            return self.fov_deg
        return math.degrees(2 * math.atan((k.height / 2) / k.fy))

    def sample(self, n: int, *, rng: torch.Generator) -> CameraParams:
        check_n(n)
        base = (
            self.eye_jitter.sample((n, 3), rng=rng),
            self.target_jitter.sample((n, 3), rng=rng),
            torch.deg2rad(self.roll_deg.sample((n,), rng=rng)),
            torch.deg2rad(self.fov_jitter_deg.sample((n,), rng=rng)),
        )
        if self.principal_jitter_px is not None:
            base = (*base, self.principal_jitter_px.sample((n, 2), rng=rng))
        if self.spread is not None:  # drawn last: without it the draws (and datasets) are as they were
            f = self.spread.sample((n,), rng=rng).to(base[0].dtype)
            base = tuple(x * (f if x.ndim == 1 else f[:, None]) for x in base)
        return (CameraParams if self.principal_jitter_px is None else PrincipalCameraParams)(*base)

    def _principal(self, k: Tensor, p: CameraParams) -> Tensor:
        """Intrinsics with the principal point moved by the drawn offset (unchanged without one)."""
        off = getattr(p, "principal_offset", None)
        if off is None:
            return k
        k = k.clone()
        k[:, 0, 2] += off[:, 0]
        k[:, 1, 2] += off[:, 1]
        return k

    def apply(self, scene: SceneBatch, p: CameraParams) -> SceneBatch:
        if self.intrinsics is not None:
            if scene.image_size != self.intrinsics.size:
                raise ValueError(
                    f"camera.intrinsics are for {self.intrinsics.size} (H, W) images, got {scene.image_size}"
                )
            half = math.radians(self.nominal_fov_deg) / 2
            f = math.tan(half) / torch.tan(half + p.fov_offset / 2)  # (B,) focal scale of the jittered field of view
            k = self.intrinsics.matrix().repeat(p.roll.shape[0], 1, 1)
            k[:, 0, 0] *= f
            k[:, 1, 1] *= f
            t = look_at(
                torch.tensor(self.eye) + p.eye_offset, torch.tensor(self.look_at) + p.target_offset, roll=p.roll
            )
            d = None
            if self.distortion is not None:
                from domrand.generators.lens import padded

                d = torch.tensor(padded(self.distortion), dtype=torch.float32).expand(k.shape[0], 8).clone()
            return scene.replace(camera=Camera(self._principal(k, p), t, d))
        k, t = cameras.perturbed_look_at(
            torch.tensor(self.eye),
            torch.tensor(self.look_at),
            math.radians(self.fov_deg),
            p.eye_offset,
            p.target_offset,
            p.roll,
            p.fov_offset,
            scene.image_size,
        )
        return scene.replace(camera=Camera(self._principal(k, p), t))


@dataclass(frozen=True, eq=False)
class TopDownParams(Params):
    """What `TopDownCamera` drew, per scene."""

    offset: Tensor  # (B, 3) metres
    tilt: Tensor  # (B, 2) radians about world x and y
    fov_offset: Tensor  # (B,) radians


@dataclass(frozen=True)
class TopDownCamera(Randomizer[TopDownParams]):
    """The grasping task's depth camera above the table, looking straight down.

    Randomizes:
        position: (0, 0, `height`) + `position_jitter` per axis (+-0.03 m); tilt about x and y:
        `tilt_deg` (+-3 deg); vertical field of view: `fov_deg` + `fov_jitter_deg` (45 +-3 deg).
    """

    height: float = 0.70
    fov_deg: float = 45.0
    position_jitter: Dist = Uniform(-0.03, 0.03)
    tilt_deg: Dist = Uniform(-3.0, 3.0)
    fov_jitter_deg: Dist = Uniform(-3.0, 3.0)
    params_type = TopDownParams

    def __post_init__(self) -> None:
        if not self.height > 0:
            raise ValueError(f"camera.height must be > 0 metres, got {self.height}")
        lo, hi = self.fov_jitter_deg.bounds()
        if not (0 < self.fov_deg + lo and self.fov_deg + hi < 180):
            raise ValueError(
                f"camera.fov_deg plus fov_jitter_deg must stay in (0, 180), got {self.fov_deg} + [{lo}, {hi}]"
            )
        lo, hi = self.tilt_deg.bounds()
        if not (-60 < lo and hi < 60):
            raise ValueError(f"camera.tilt_deg must stay within +-60 degrees, got [{lo}, {hi}]")

    def sample(self, n: int, *, rng: torch.Generator) -> TopDownParams:
        check_n(n)
        return TopDownParams(
            self.position_jitter.sample((n, 3), rng=rng),
            torch.deg2rad(self.tilt_deg.sample((n, 2), rng=rng)),
            torch.deg2rad(self.fov_jitter_deg.sample((n,), rng=rng)),
        )

    def apply(self, scene: SceneBatch, p: TopDownParams) -> SceneBatch:
        k, t = cameras.top_down(
            self.height, math.radians(self.fov_deg), scene.image_size, p.offset, p.tilt, p.fov_offset
        )
        return scene.replace(camera=Camera(k, t))
