"""`PoseNet`: a compact CNN that maps one RGB image to the target's 3D position on the table.

A small ResNet keeps a quarter of the input resolution and predicts a heatmap of where the target's
centre is in the image; features pooled to a sixteenth of the resolution (what surrounds each place: the
table, shadows, other objects) are upsampled into that heatmap, so a patch of texture that merely looks
like the target can be told from the target. The heatmap is read out at its highest peak (a soft-argmax
over the 7 x 7 cells around it, so that an unsure heatmap does not average two places into a point
between them) and the 2D point is back-projected through the nominal camera onto the plane where the
target's centre rests. The real camera is only roughly known, and two geometries account for that:

- "correction" (the default): the point is back-projected through the nominal camera, and an MLP on
  features pooled over the whole image (table edges and the like) adds a correction, zero at
  initialisation, learnt through the position loss.
- "homography": a camera head looks at the whole image (its context features kept on their grid, so
  that where the table's edges are is not averaged away) and predicts where four fixed points of the
  plane, the corners of the target's workspace, appear in the image, supervised by each image's camera.
  Those four points fix the plane-to-image homography exactly, and the heatmap's point mapped back
  through it is the position.

Training supervises the heatmap with the target's projected centre (a label every synthetic image has)
and the position with the paper's L2 loss.

Example:
    >>> import torch
    >>> net = PoseNet(PoseNetConfig(image_size=64, geometry="homography"))
    >>> position, heatmap, plane_uv = net.forward_train(torch.zeros(2, 3, 64, 64))
    >>> tuple(position.shape), tuple(heatmap.shape), tuple(plane_uv.shape)
    ((2, 3), (2, 16, 16), (2, 4, 2))
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from domrand.render.project import intrinsics_parts, pinhole
from domrand.tasks.pose.camera import CameraBatch, plane_points


@dataclass(frozen=True)
class PoseNetConfig:
    """Architecture and output scaling (stored in every checkpoint).

    Attributes:
        image_size: square input, pixels (a multiple of 16).
        widths: channels of the stem, the two stride-4 stages and the two context stages.
        hidden: MLP width.
        position_mean, position_scale: the position head predicts (position - mean) / scale, metres.
        camera_eye, camera_look_at, camera_fov_deg: the nominal camera the training images perturb.
        target_height: height of the target's centre above the table, metres.
        readout: "peak" (soft-argmax over the cells within `peak_radius` of the heatmap's highest cell) or
            "soft" (soft-argmax over the whole heatmap; checkpoints from before `readout` existed).
        peak_radius: half-width of the peak read-out's window, heatmap cells.
        context_heat: add the upsampled stride-16 context features to the heatmap's input (False in
            checkpoints from before it existed).
        geometry: "correction" (the nominal camera plus a correction an MLP learns from pooled features,
            through the position loss alone) or "homography" (a camera head predicts the image points of
            `plane_points`, supervised by each image's camera, which fix the plane-to-image map). On the
            randomized test set the homography halves the median error (2.2 -> 1.35 cm, 20k images,
            3,000 steps); on the reality-gap set its camera inference does not transfer (2.4 px median
            error on photographs) and its loss took capacity from the heatmap (misdetections 4% -> 15%),
            so "correction" is the default (experiments/localization/README.md).
        plane_points: (x, y) of the four points on the plane z = target_height whose image positions the
            camera head predicts, metres (the task's target workspace corners).
        mirror_average: predict from the image and from its mirror image (left and right swapped, the
            prediction's x negated back) and average the two. Valid where the world, the nominal camera
            and the randomization are symmetric about x = 0, as in the task: the mirror image is then as
            likely a view as the image itself, and the average halves the read-out's independent noise.
            None (the default): on exactly when the nominal camera and `position_mean` are symmetric.
        mirror_fusion: how the two views are combined. "heatmap" (the default): the two heatmaps' logits
            are averaged (the mirror's flipped back) and read out once, so a place both views agree on
            wins; each view then maps that one point to a position and the two are averaged. "position":
            each view reads out its own peak and the positions are averaged (checkpoints from before this
            field), which puts the prediction between two places when the views pick different objects.
    """

    image_size: int = 64
    widths: tuple[int, int, int, int, int] = (24, 32, 64, 64, 128)
    hidden: int = 256
    position_mean: tuple[float, float, float] = (0.0, 0.0, 0.025)
    position_scale: tuple[float, float, float] = (0.3, 0.2, 0.05)
    camera_eye: tuple[float, float, float] = (0.0, -0.70, 0.60)
    camera_look_at: tuple[float, float, float] = (0.0, 0.0, 0.0)
    camera_fov_deg: float = 45.0
    target_height: float = 0.025
    readout: str = "peak"
    peak_radius: int = 3
    context_heat: bool = True
    geometry: str = "correction"
    plane_points: tuple[tuple[float, float], ...] = ((-0.3, -0.2), (0.3, -0.2), (0.3, 0.2), (-0.3, 0.2))
    mirror_average: bool | None = None
    mirror_fusion: str = "heatmap"

    def __post_init__(self) -> None:
        if not (isinstance(self.image_size, int) and self.image_size >= 32 and self.image_size % 16 == 0):
            raise ValueError(f"image_size must be a multiple of 16, >= 32, got {self.image_size!r}")
        if len(self.widths) != 5 or any(w < 1 for w in self.widths):
            raise ValueError(f"widths must be five positive channel counts, got {self.widths}")
        if any(s <= 0 for s in self.position_scale):
            raise ValueError(f"position_scale must be positive, got {self.position_scale}")
        if self.readout not in ("peak", "soft"):
            raise ValueError(f"readout must be 'peak' or 'soft', got {self.readout!r}")
        symmetric = self.camera_eye[0] == 0 and self.camera_look_at[0] == 0 and self.position_mean[0] == 0
        if self.mirror_average is None:
            object.__setattr__(self, "mirror_average", symmetric)
        elif self.mirror_average and not symmetric:
            raise ValueError(
                "mirror_average needs a nominal camera and position_mean symmetric about x = 0, got eye "
                f"{self.camera_eye}, look-at {self.camera_look_at}, mean {self.position_mean}"
            )
        if self.mirror_fusion not in ("heatmap", "position"):
            raise ValueError(f"mirror_fusion must be 'heatmap' or 'position', got {self.mirror_fusion!r}")
        if self.geometry not in ("homography", "correction"):
            raise ValueError(f"geometry must be 'homography' or 'correction', got {self.geometry!r}")
        if len(self.plane_points) != 4 or any(len(q) != 2 for q in self.plane_points):
            raise ValueError(f"plane_points must be four (x, y) points, got {self.plane_points}")
        if not (isinstance(self.peak_radius, int) and self.peak_radius >= 1):
            raise ValueError(f"peak_radius must be a positive int of heatmap cells, got {self.peak_radius!r}")

    def to_json(self) -> dict:
        return json.loads(json.dumps(asdict(self)))  # tuples become lists

    @staticmethod
    def from_json(d: dict) -> PoseNetConfig:
        """The configuration a checkpoint stored; fields it predates take the behaviour it was trained with."""
        d = {**LEGACY, **d}
        tup = lambda v: tuple(tup(x) for x in v) if isinstance(v, list) else v  # noqa: E731
        return PoseNetConfig(**{k: tup(v) for k, v in d.items()})


# What checkpoints written before these fields used.
LEGACY = {
    "readout": "soft",
    "context_heat": False,
    "geometry": "correction",
    "mirror_average": False,
    "mirror_fusion": "position",
}
DERIVED = ("plane", "plane_nominal")  # buffers some checkpoints stored though the configuration gives them
CAMERA_CHANNELS = 16  # context channels the camera head keeps per cell of its grid
PLANE_UV_SCALE = 0.1  # the camera head's outputs are offsets from the nominal image points in these units


def project(points: Tensor, k: Tensor, cam_to_world: Tensor, width: int, height: int) -> Tensor:
    """World points (P, 3) or (B, P, 3) seen by cameras k (B, 3, 3), camera-to-world (B, 4, 4) (OpenCV
    axes) -> (B, P, 2) image positions in [-1, 1] (pixel-edge convention: -1 and 1 are the image's edges)."""
    pts = points.expand(k.shape[0], *points.shape[-2:]) if points.ndim == 2 else points
    r, t = cam_to_world[:, :3, :3], cam_to_world[:, :3, 3]
    pc = (pts - t[:, None, :]) @ r  # world -> camera: R^T (p - t), as row vectors
    u, v = pinhole(pc[..., 0], pc[..., 1], pc[..., 2], *intrinsics_parts(k[:, None]))
    return torch.stack([(u + 0.5) / width * 2 - 1, (v + 0.5) / height * 2 - 1], -1)


def homography(src: Tensor, dst: Tensor) -> Tensor:
    """(B, 3, 3) homographies H with dst ~ H src, from four point pairs src, dst (B, 4, 2) (H[2, 2] = 1)."""
    b = src.shape[0]
    x, y, u, v = src[..., 0], src[..., 1], dst[..., 0], dst[..., 1]
    one, zero = torch.ones_like(x), torch.zeros_like(x)
    rows_u = torch.stack([x, y, one, zero, zero, zero, -u * x, -u * y], -1)
    rows_v = torch.stack([zero, zero, zero, x, y, one, -v * x, -v * y], -1)
    a = torch.cat([rows_u, rows_v], 1)  # (B, 8, 8)
    h = torch.linalg.solve(a, torch.cat([u, v], 1))
    return torch.cat([h, torch.ones(b, 1, dtype=h.dtype, device=h.device)], 1).reshape(b, 3, 3)


def apply_homography(h: Tensor, pts: Tensor) -> Tensor:
    """(B, 3, 3) homographies applied to (B, 2) points -> (B, 2)."""
    q = h @ torch.cat([pts, torch.ones_like(pts[:, :1])], 1)[..., None]
    return q[:, :2, 0] / q[:, 2:, 0]


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.skip = (
            None
            if stride == 1 and cin == cout
            else nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        )

    def forward(self, x: Tensor) -> Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (x if self.skip is None else self.skip(x)))


def soft_argmax(logits: Tensor) -> Tensor:
    """(B, H, W) logits -> (B, 2) expected (x, y) in [-1, 1] (pixel-edge convention) under their softmax."""
    b, h, w = logits.shape
    p = F.softmax(logits.reshape(b, -1), -1).reshape(b, h, w)
    xs = (torch.arange(w, device=logits.device) + 0.5) / w * 2 - 1
    ys = (torch.arange(h, device=logits.device) + 0.5) / h * 2 - 1
    return torch.stack([(p.sum(1) * xs).sum(-1), (p.sum(2) * ys).sum(-1)], -1)


def peak_soft_argmax(logits: Tensor, radius: int) -> Tensor:
    """(B, H, W) logits -> (B, 2) in [-1, 1]: the soft-argmax over the (2 radius + 1)^2 cells around the
    highest cell (the window's choice carries no gradient; the point inside it does)."""
    b, h, w = logits.shape
    idx = logits.detach().reshape(b, -1).argmax(1)
    ys = torch.arange(h, device=logits.device)[None, :, None]
    xs = torch.arange(w, device=logits.device)[None, None, :]
    near = ((ys - (idx // w)[:, None, None]).abs() <= radius) & ((xs - (idx % w)[:, None, None]).abs() <= radius)
    return soft_argmax(logits.masked_fill(~near, float("-inf")))


class PoseNet(nn.Module):
    """RGB (B, 3, S, S) in [0, 1] -> target position (B, 3), metres, world frame."""

    def __init__(self, config: PoseNetConfig) -> None:
        super().__init__()
        self.config = config
        w = config.widths
        self.stem = nn.Sequential(nn.Conv2d(3, w[0], 3, 2, 1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU())
        self.fine = nn.Sequential(
            BasicBlock(w[0], w[1], 1), BasicBlock(w[1], w[2], 2), BasicBlock(w[2], w[2], 1)
        )  # stride 4
        self.heat = nn.Sequential(nn.Conv2d(w[2], w[2], 3, 1, 1), nn.ReLU(), nn.Conv2d(w[2], 1, 1))
        self.context = nn.Sequential(BasicBlock(w[2], w[3], 2), BasicBlock(w[3], w[4], 2))  # stride 16, pooled
        self.lift = nn.Conv2d(w[4], w[2], 1) if config.context_heat else None  # context -> heatmap input
        if config.geometry == "homography":  # the image points of `plane_points`, from the context grid
            cells = (config.image_size // 16) ** 2
            self.camera = nn.Sequential(
                nn.Conv2d(w[4], CAMERA_CHANNELS, 1),
                nn.ReLU(),
                nn.Flatten(),
                nn.Linear(CAMERA_CHANNELS * cells, config.hidden),
                nn.ReLU(),
                nn.Linear(config.hidden, config.hidden),
                nn.ReLU(),
                nn.Linear(config.hidden, 8),
            )
            last = self.camera[-1]
        else:
            self.head = nn.Sequential(
                nn.Linear(2 + w[4], config.hidden),
                nn.ReLU(),
                nn.Linear(config.hidden, config.hidden),
                nn.ReLU(),
                nn.Linear(config.hidden, 3),
            )
            last = self.head[-1]
        nn.init.zeros_(last.weight)  # both start at the nominal camera
        nn.init.zeros_(last.bias)
        self.register_buffer("mean", torch.tensor(config.position_mean))
        self.register_buffer("scale", torch.tensor(config.position_scale))
        from domrand.generators.transforms import intrinsics_from_fov, look_at

        s = config.image_size
        k = intrinsics_from_fov(torch.tensor([math.radians(config.camera_fov_deg)]), s, s)[0]
        c2w = look_at(torch.tensor([config.camera_eye]), torch.tensor([config.camera_look_at]))[0]
        self.register_buffer("k", k)
        self.register_buffer("c2w", c2w)
        plane = torch.tensor([[x, y, config.target_height] for x, y in config.plane_points])
        # Derived from the configuration, so not part of the state (checkpoints from before them load as they are).
        self.register_buffer("plane", plane, persistent=False)  # (4, 3) metres
        self.register_buffer("plane_nominal", project(plane, k[None], c2w[None], s, s)[0], persistent=False)  # (4, 2)
        self.register_buffer("mirror", torch.tensor([-1.0, 1.0, 1.0]), persistent=False)

    def back_project(self, uv: Tensor) -> Tensor:
        """(B, 2) image points in [-1, 1] -> (B, 3) points at `target_height` seen by the nominal camera."""
        s = self.config.image_size
        u, v = (uv[:, 0] + 1) / 2 * s - 0.5, (uv[:, 1] + 1) / 2 * s - 0.5
        ray = (
            torch.stack([(u - self.k[0, 2]) / self.k[0, 0], (v - self.k[1, 2]) / self.k[1, 1], torch.ones_like(u)], -1)
            @ self.c2w[:3, :3].T
        )
        eye = self.c2w[:3, 3]
        t = (self.config.target_height - eye[2]) / ray[:, 2].clamp(max=-1e-3)  # rays that miss the table stay finite
        return eye + t[:, None] * ray

    def features(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """(B, S/4, S/4) float32 heatmap logits and (B, C, S/16, S/16) context features of RGB images in [0, 1]."""
        f = self.fine(self.stem((images - 0.5) / 0.25))
        c = self.context(f)
        if self.lift is not None:
            f = f + F.interpolate(self.lift(c), size=f.shape[2:], mode="bilinear", align_corners=False)
        return self.heat(f)[:, 0].float(), c

    def read_out(self, heat: Tensor) -> Tensor:
        """(B, h, w) heatmap logits -> (B, 2) image point in [-1, 1] (`config.readout`)."""
        if self.config.readout == "peak":
            return peak_soft_argmax(heat, self.config.peak_radius)
        return soft_argmax(heat)

    def locate(self, uv: Tensor, context: Tensor) -> tuple[Tensor, Tensor | None]:
        """(B, 3) normalised position ((position - mean) / scale) of image point uv (B, 2) given the view's
        context features, and the camera head's (B, 4, 2) plane points (None for geometry "correction")."""
        with torch.autocast(uv.device.type, enabled=False):
            if self.config.geometry == "homography":
                plane_uv = self.plane_nominal + PLANE_UV_SCALE * self.camera(context.float()).reshape(-1, 4, 2)
                # The camera head learns from its own labels; the position's gradient goes to the heatmap only
                # (through a homography of an untrained head it would be erratic).
                h = homography(plane_uv.detach(), self.plane[None, :, :2].expand(plane_uv.shape[0], 4, 2))
                xy = apply_homography(h, uv)
                pos = torch.cat([xy, torch.full_like(xy[:, :1], self.config.target_height)], 1)
                return (pos - self.mean) / self.scale, plane_uv
            nominal = (self.back_project(uv) - self.mean) / self.scale
            ctx = context.float().mean((2, 3))
            return nominal + self.head(torch.cat([uv, ctx], 1)), None

    def forward_train(self, images: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """(B, 3) normalised position ((position - mean) / scale), (B, S/4, S/4) heatmap logits, and the
        camera head's (B, 4, 2) image points of `plane_points` in [-1, 1] (None for geometry "correction").

        The convolutions may run under autocast (bf16); the read-out, the geometry and the heads run in float32.
        """
        heat, c = self.features(images)
        with torch.autocast(images.device.type, enabled=False):
            pos, plane_uv = self.locate(self.read_out(heat), c)
        return pos, heat, plane_uv

    def image_points(self, images: Tensor, mirror: bool | None = None) -> list[Tensor]:
        """The read-out image points (B, 2) in [-1, 1] of RGB images (B, 3, S, S) in [0, 1], in the image's own
        frame: one (the image alone, or the two views' fused heatmap) or two (the image's and its mirror's,
        flipped back, for `mirror_fusion` "position"), whose positions `forward` averages."""
        if not (self.config.mirror_average if mirror is None else mirror):
            return [self.read_out(self.features(images)[0])]
        heat, heat_m = self.features(images)[0], self.features(images.flip(-1))[0].flip(-1)
        if self.config.mirror_fusion == "position":
            return [self.read_out(heat), self.read_out(heat_m)]
        return [self.read_out((heat + heat_m) / 2)]

    def nominal_camera(self, n: int) -> CameraBatch:
        """The nominal camera (the one the training images perturb) for n images."""
        s = self.config.image_size
        return CameraBatch.from_matrices(self.k[None], self.c2w[None], s, s).expand(n)

    def forward(self, images: Tensor, mirror: bool | None = None, camera: CameraBatch | None = None) -> Tensor:
        """(B, 3) positions, metres; `mirror` overrides `config.mirror_average` for this call (how the two views
        are combined: `config.mirror_fusion`). With `camera` (one per image), each read-out image point is
        back-projected through that known camera onto the plane z = `target_height`, without the learnt
        correction (or homography) that stands in for an unknown one; `nominal_camera` gives the nominal."""
        if camera is not None:
            height = self.config.target_height
            return torch.stack([plane_points(uv, camera, height) for uv in self.image_points(images, mirror)]).mean(0)
        if not (self.config.mirror_average if mirror is None else mirror):
            return self.forward_train(images)[0] * self.scale + self.mean
        if self.config.mirror_fusion == "position":
            position = self.forward_train(images)[0] * self.scale + self.mean
            mirrored = self.forward_train(images.flip(-1))[0] * self.scale + self.mean
            return (position + mirrored * self.mirror) / 2
        heat, c = self.features(images)
        heat_m, c_m = self.features(images.flip(-1))
        uv = self.read_out((heat + heat_m.flip(-1)) / 2)  # one point, where both views' evidence is
        position = self.locate(uv, c)[0] * self.scale + self.mean
        mirrored = self.locate(uv * self.mirror[:2], c_m)[0] * self.scale + self.mean
        return (position + mirrored * self.mirror) / 2
