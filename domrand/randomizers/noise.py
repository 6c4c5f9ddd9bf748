"""Post-processing randomizers on rendered images: colour jitter, blur, Gaussian and salt-and-pepper
noise for RGB, and noise and dropout for depth. Noise fields come from a per-image seed, so a stored
parameter row replays its image exactly whatever batch it is in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from domrand.dist import Dist, Uniform
from domrand.params import Params, int_field
from domrand.randomizers.base import ImageRandomizer, check_n


@dataclass(frozen=True, eq=False)
class NoiseParams(Params):
    """What `ImageNoise` drew, per image."""

    brightness: Tensor  # (B,) multiplier
    contrast: Tensor  # (B,) multiplier about the image mean
    saturation: Tensor  # (B,) 0 grey .. 1 unchanged .. >1 boosted
    blur_sigma: Tensor  # (B,) pixels
    gaussian_std: Tensor  # (B,) in [0, 1] units
    salt_pepper: Tensor  # (B,) fraction of pixels
    seed: Tensor = int_field()  # (B,)


_NO_U8 = np.zeros((1, 1, 1, 3), dtype=np.uint8)  # degrade's uint8 output, unused here


@dataclass(frozen=True)
class ImageNoise(ImageRandomizer[NoiseParams]):
    """Camera-like degradation of rendered RGB.

    Randomizes:
        brightness `brightness` (0.8 to 1.2), contrast `contrast` (0.8 to 1.2), saturation
        `saturation` (0.7 to 1.3), Gaussian blur sigma `blur_sigma` (0 to 1 px), additive Gaussian
        noise std `gaussian_std` (0 to 0.03), salt-and-pepper fraction `salt_pepper` (0 to 0.002).
    """

    brightness: Dist = Uniform(0.8, 1.2)
    contrast: Dist = Uniform(0.8, 1.2)
    saturation: Dist = Uniform(0.7, 1.3)
    blur_sigma: Dist = Uniform(0.0, 1.0)
    gaussian_std: Dist = Uniform(0.0, 0.03)
    salt_pepper: Dist = Uniform(0.0, 0.002)
    params_type = NoiseParams
    image = "rgb"  # perturbs the rendered colours

    def __post_init__(self) -> None:
        for name in ("brightness", "contrast", "saturation", "blur_sigma", "gaussian_std", "salt_pepper"):
            if not getattr(self, name).bounds()[0] >= 0:
                raise ValueError(f"noise.{name} must stay >= 0, got {getattr(self, name).bounds()}")
        if self.blur_sigma.bounds()[1] > 5:
            raise ValueError(f"noise.blur_sigma must stay <= 5 pixels (5-tap kernel), got {self.blur_sigma.bounds()}")
        if self.salt_pepper.bounds()[1] > 1:
            raise ValueError(
                f"noise.salt_pepper is a fraction of pixels and must stay <= 1, got {self.salt_pepper.bounds()}"
            )

    def sample(self, n: int, *, rng: torch.Generator) -> NoiseParams:
        check_n(n)
        return NoiseParams(
            self.brightness.sample((n,), rng=rng), self.contrast.sample((n,), rng=rng), self.saturation.sample((n,), rng=rng),
            self.blur_sigma.sample((n,), rng=rng), self.gaussian_std.sample((n,), rng=rng), self.salt_pepper.sample((n,), rng=rng),
            torch.randint(0, 2**62, (n,), generator=rng),
        )  # fmt: skip

    def apply(self, images: Tensor, p: NoiseParams) -> Tensor:
        """(B, H, W, 3) float32 in [0, 1] on the CPU -> the same, degraded (a compiled kernel)."""
        from domrand.kernels.noise import degrade
        from domrand.kernels.threads import parallel

        x = images.detach().to("cpu", torch.float32).contiguous()
        out = torch.empty_like(x)
        n = lambda t: t.detach().cpu().contiguous().numpy()  # noqa: E731
        parallel(
            degrade,
            x.shape[0],
            x.numpy(),
            n(p.brightness),
            n(p.contrast),
            n(p.saturation),
            n(p.blur_sigma),
            n(p.gaussian_std),
            n(p.salt_pepper),
            n(p.seed),
            out.numpy(),
            _NO_U8,
            False,
        )
        return out.to(images.device)


@dataclass(frozen=True, eq=False)
class DepthNoiseParams(Params):
    """What `DepthNoise` drew, per image."""

    std: Tensor  # (B,) metres per metre of depth
    dropout: Tensor  # (B,) fraction of pixels set to 0 (no reading)
    seed: Tensor = int_field()  # (B,)


@dataclass(frozen=True)
class DepthNoise(ImageRandomizer[DepthNoiseParams]):
    """Depth-sensor-like noise.

    Randomizes:
        depth-proportional Gaussian noise `std` (0 to 0.005 per metre) and missing readings
        `dropout` (0 to 0.01 of pixels, set to 0).
    """

    std: Dist = Uniform(0.0, 0.005)
    dropout: Dist = Uniform(0.0, 0.01)
    params_type = DepthNoiseParams
    image = "depth"  # perturbs the rendered depth

    def __post_init__(self) -> None:
        if not (self.std.bounds()[0] >= 0 and self.dropout.bounds()[0] >= 0 and self.dropout.bounds()[1] <= 1):
            raise ValueError(
                f"depth_noise.std must stay >= 0 and dropout in [0, 1], got {self.std.bounds()}, {self.dropout.bounds()}"
            )

    def sample(self, n: int, *, rng: torch.Generator) -> DepthNoiseParams:
        check_n(n)
        return DepthNoiseParams(
            self.std.sample((n,), rng=rng),
            self.dropout.sample((n,), rng=rng),
            torch.randint(0, 2**62, (n,), generator=rng),
        )

    def apply(self, depth: Tensor, p: DepthNoiseParams) -> Tensor:
        """(B, H, W) metres (0 = no reading) -> the same, noisy."""
        out = depth.clone()
        for i in range(depth.shape[0]):
            g = torch.Generator().manual_seed(int(p.seed[i]))
            noisy = out[i] * (1 + float(p.std[i]) * torch.randn(out.shape[1:], generator=g))
            drop = torch.rand(out.shape[1:], generator=g) < float(p.dropout[i])
            out[i] = torch.where(drop | (out[i] <= 0), torch.zeros_like(noisy), noisy)
        return out
