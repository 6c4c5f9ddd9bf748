"""Known cameras for a pose model: back-project its image point through the camera the image was taken with.

A `PoseNet` finds the target's centre in the image and, by default, back-projects it through the nominal
camera and adds a correction it learnt for cameras that are only roughly known (the `tabletop` preset moves
the camera by up to 5 cm and 3 degrees). Where the camera is calibrated, that learnt correction is noise:
back-projecting through the known camera is better. `CameraBatch` holds such cameras, one per image, and
`plane_points` intersects each image point's ray with the plane the target's centre rests on.

Example:
    >>> import torch
    >>> cam = PinholeCamera.from_json({"fx": 100.0, "fy": 100.0, "cx": 63.5, "cy": 63.5, "width": 128, "height": 128,
    ...     "cam_to_world": [[1, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 1.0], [0, 0, 0, 1]]})  # 1 m above, looking down
    >>> plane_points(torch.zeros(1, 2), CameraBatch.of([cam]), 0.0)  # the image centre
    tensor([[0., 0., 0.]])
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

KEYS = ("fx", "fy", "cx", "cy", "width", "height", "cam_to_world")


@dataclass(frozen=True)
class PinholeCamera:
    """An OpenCV pinhole camera (no distortion) of a `width` x `height` image.

    Attributes:
        fx, fy, cx, cy: intrinsics, pixels (cx, cy: the principal point, pixel centres at integers).
        width, height: image size, pixels; the image may be resized for the model, the camera is not.
        cam_to_world: 4 x 4 rigid transform, OpenCV axes (x right, y down, z forward), metres.
    """

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    cam_to_world: tuple[tuple[float, float, float, float], ...]

    @staticmethod
    def from_json(d: Any, where: str = "camera") -> PinholeCamera:
        """The camera of a labels.jsonl record's "camera" object (the same keys); one ValueError naming `where`
        and the bad value otherwise."""
        if not isinstance(d, dict):
            raise ValueError(f"{where} must be an object with keys {', '.join(KEYS)}, got {type(d).__name__}")
        missing = [k for k in KEYS if k not in d]
        if missing:
            raise ValueError(f"{where} lacks {', '.join(missing)} (needs {', '.join(KEYS)})")
        for k in ("fx", "fy", "cx", "cy", "width", "height"):
            v = d[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{where}.{k} must be a finite number, got {v!r}")
        for k in ("fx", "fy", "width", "height"):
            if d[k] <= 0:
                raise ValueError(f"{where}.{k} must be positive, got {d[k]!r}")
        for k in ("width", "height"):
            if d[k] != int(d[k]):
                raise ValueError(f"{where}.{k} must be a whole number of pixels, got {d[k]!r}")
        m = d["cam_to_world"]
        ok = isinstance(m, list) and len(m) == 4 and all(isinstance(r, list) and len(r) == 4 for r in m)
        if ok:
            ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for r in m for v in r)
        if not ok:
            raise ValueError(f"{where}.cam_to_world must be a 4 x 4 list of finite numbers, got {m!r}")
        t = torch.tensor(m, dtype=torch.float64)
        r = t[:3, :3]
        if (
            not torch.allclose(r @ r.T, torch.eye(3, dtype=torch.float64), atol=1e-4)
            or abs(float(torch.det(r)) - 1) > 1e-4
        ):
            raise ValueError(f"{where}.cam_to_world's rotation (its upper-left 3 x 3) is not a rotation: {m!r}")
        if not torch.allclose(t[3], torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)):
            raise ValueError(f"{where}.cam_to_world's last row must be 0 0 0 1, got {m[3]!r}")
        return PinholeCamera(
            float(d["fx"]), float(d["fy"]), float(d["cx"]), float(d["cy"]), int(d["width"]), int(d["height"]),
            tuple(tuple(float(v) for v in row) for row in m),
        )  # fmt: skip

    def batch(self, n: int) -> CameraBatch:
        """This camera for n images."""
        return CameraBatch.of([self]).expand(n)

    @staticmethod
    def read(path: str | Path) -> PinholeCamera:
        """A camera from a JSON file holding one object with the keys of `from_json`."""
        p = Path(path)
        if not p.is_file():
            raise ValueError(f"camera file {str(p)!r} does not exist")
        try:
            d = json.loads(p.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"camera file {str(p)!r} is not JSON: {e}") from None
        return PinholeCamera.from_json(d, where=f"camera file {str(p)!r}")


@dataclass(frozen=True)
class CameraBatch:
    """B cameras as tensors: intrinsics (B, 4) fx, fy, cx, cy in pixels; size (B, 2) width, height in pixels;
    cam_to_world (B, 4, 4), OpenCV axes, metres."""

    intrinsics: Tensor
    size: Tensor
    cam_to_world: Tensor

    @staticmethod
    def of(cameras: list[PinholeCamera]) -> CameraBatch:
        return CameraBatch(
            torch.tensor([[c.fx, c.fy, c.cx, c.cy] for c in cameras], dtype=torch.float64),
            torch.tensor([[c.width, c.height] for c in cameras], dtype=torch.float64),
            torch.tensor([c.cam_to_world for c in cameras], dtype=torch.float64),
        )

    @staticmethod
    def from_matrices(k: Tensor, cam_to_world: Tensor, width: float, height: float) -> CameraBatch:
        """From intrinsic matrices k (B, 3, 3) and cam_to_world (B, 4, 4) of `width` x `height` images."""
        b = k.shape[0]
        intr = torch.stack([k[:, 0, 0], k[:, 1, 1], k[:, 0, 2], k[:, 1, 2]], -1)
        size = torch.tensor([[float(width), float(height)]], dtype=intr.dtype, device=k.device).expand(b, 2)
        return CameraBatch(intr, size, cam_to_world.to(intr.dtype))

    def rows(self, start: int, stop: int) -> CameraBatch:
        """Cameras start to stop - 1."""
        return CameraBatch(self.intrinsics[start:stop], self.size[start:stop], self.cam_to_world[start:stop])

    def __len__(self) -> int:
        return int(self.intrinsics.shape[0])

    def expand(self, n: int) -> CameraBatch:
        """One camera repeated for n images."""
        if len(self) != 1:
            raise ValueError(f"expand takes one camera, got {len(self)}")
        return CameraBatch(self.intrinsics.expand(n, 4), self.size.expand(n, 2), self.cam_to_world.expand(n, 4, 4))


def check_sizes(cameras: CameraBatch, sizes: list[tuple[int, int]], names: list[str]) -> None:
    """One ValueError naming the first image (`names`) whose (width, height) in `sizes` is not its camera's
    image size or that size scaled (the image points are read in fractions of the image, so a uniformly
    resized image keeps its camera; a cropped or stretched one does not)."""
    for (w, h), (cw, ch), name in zip(sizes, cameras.size.tolist(), names):
        if abs(w / cw - h / ch) > 0.005 * max(w / cw, h / ch):
            raise ValueError(
                f"{name} is {w} x {h} pixels but its camera is for {cw:.0f} x {ch:.0f} images: give the camera of "
                "the image as it is (a resized copy keeps the camera only if both sides scale alike)"
            )


def plane_points(uv: Tensor, cameras: CameraBatch, height: float) -> Tensor:
    """(B, 2) image points in [-1, 1] (pixel-edge convention: -1 and 1 are the image's edges, whatever size
    the model read it at) seen by `cameras` -> (B, 3) world points where their rays meet the plane z = height,
    metres. Rays that point up stay finite (clamped), as for a camera above the table looking down."""
    intr, size, c2w = (t.to(uv.device, torch.float64) for t in (cameras.intrinsics, cameras.size, cameras.cam_to_world))
    u = (uv[:, 0].double() + 1) / 2 * size[:, 0] - 0.5
    v = (uv[:, 1].double() + 1) / 2 * size[:, 1] - 0.5
    ray_cam = torch.stack([(u - intr[:, 2]) / intr[:, 0], (v - intr[:, 3]) / intr[:, 1], torch.ones_like(u)], -1)
    ray = (c2w[:, :3, :3] @ ray_cam[..., None])[..., 0]
    eye = c2w[:, :3, 3]
    t = (height - eye[:, 2]) / ray[:, 2].clamp(max=-1e-3)
    return (eye + t[:, None] * ray).to(uv.dtype)
