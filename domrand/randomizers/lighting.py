"""Lighting randomizer: 1 to 4 point or directional lights on a hemisphere, colour temperature, ambient."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.dist import Dist, IntUniform, Uniform
from domrand.generators import lighting
from domrand.params import Params, bool_field, int_field
from domrand.randomizers.base import Randomizer, check_n
from domrand.scene import DIRECTIONAL, POINT, Lights, SceneBatch

MAX_LIGHTS = 4


@dataclass(frozen=True, eq=False)
class LightingParams(Params):
    """What `LightRandomizer` drew, per scene (always 4 light rows; `count` of them are on)."""

    count: Tensor = int_field()  # (B,)
    point: Tensor = bool_field()  # (B, 4) point light (else directional)
    azimuth: Tensor  # (B, 4) radians
    elevation: Tensor  # (B, 4) radians
    distance: Tensor  # (B, 4) metres from the centre (point lights)
    kelvin: Tensor  # (B, 4)
    intensity: Tensor  # (B, 4)
    ambient: Tensor  # (B,)


@dataclass(frozen=True)
class LightRandomizer(Randomizer[LightingParams]):
    """Random lights around `centre`.

    Randomizes:
        number of lights: `count` (1 to 4); each light point (probability `point_probability`, 0.5)
        or directional; direction on the upper hemisphere: azimuth `azimuth_deg` (0 to 360),
        elevation `elevation_deg` (20 to 85 deg); point-light distance `distance` (0.8 to 2.5 m);
        colour temperature `kelvin` (2,500 to 9,000 K); intensity `intensity` (0.2 to 0.8, shared
        among the lights: each is divided by sqrt(count)); ambient level `ambient` (0.05 to 0.4);
        the first light casts shadows when `shadows`.
    """

    count: Dist = IntUniform(1, 4)
    point_probability: float = 0.5
    azimuth_deg: Dist = Uniform(0.0, 360.0)
    elevation_deg: Dist = Uniform(20.0, 85.0)
    distance: Dist = Uniform(0.8, 2.5)
    kelvin: Dist = Uniform(2500.0, 9000.0)
    intensity: Dist = Uniform(0.2, 0.8)
    ambient: Dist = Uniform(0.05, 0.4)
    centre: tuple[float, float, float] = (0.0, 0.0, 0.0)
    shadows: bool = True
    params_type = LightingParams

    def __post_init__(self) -> None:
        lo, hi = self.count.bounds()
        if not (1 <= lo and hi <= MAX_LIGHTS):
            raise ValueError(f"lighting.count must stay in [1, {MAX_LIGHTS}], got [{lo}, {hi}]")
        if not 0 <= self.point_probability <= 1:
            raise ValueError(f"lighting.point_probability must be in [0, 1], got {self.point_probability}")
        lo, hi = self.elevation_deg.bounds()
        if not (0 < lo and hi <= 90):
            raise ValueError(f"lighting.elevation_deg must stay in (0, 90], got [{lo}, {hi}]")
        for name in ("distance", "intensity", "kelvin"):
            if not getattr(self, name).bounds()[0] > 0:
                raise ValueError(f"lighting.{name} must stay > 0, got {getattr(self, name).bounds()}")
        if not self.ambient.bounds()[0] >= 0:
            raise ValueError(f"lighting.ambient must stay >= 0, got {self.ambient.bounds()}")

    def sample(self, n: int, *, rng: torch.Generator) -> LightingParams:
        check_n(n)
        shape = (n, MAX_LIGHTS)
        return LightingParams(
            count=self.count.sample((n,), rng=rng).round().to(torch.int64),
            point=torch.rand(shape, generator=rng) < self.point_probability,
            azimuth=torch.deg2rad(self.azimuth_deg.sample(shape, rng=rng)),
            elevation=torch.deg2rad(self.elevation_deg.sample(shape, rng=rng)),
            distance=self.distance.sample(shape, rng=rng),
            kelvin=self.kelvin.sample(shape, rng=rng),
            intensity=self.intensity.sample(shape, rng=rng),
            ambient=self.ambient.sample((n,), rng=rng),
        )

    def apply(self, scene: SceneBatch, p: LightingParams) -> SceneBatch:
        n = p.count.shape[0]
        direction = lighting.hemisphere(p.azimuth, p.elevation)
        position = torch.where(
            p.point[..., None], torch.tensor(self.centre) + direction * p.distance[..., None], direction
        )
        enabled = torch.arange(MAX_LIGHTS)[None] < p.count[:, None]
        share = p.count.to(torch.float32).sqrt()[:, None]
        shadow = torch.zeros(n, MAX_LIGHTS, dtype=torch.bool)
        shadow[:, 0] = self.shadows
        lights = Lights(
            kind=torch.where(p.point, POINT, DIRECTIONAL).to(torch.int64),
            position=position.to(torch.float32),
            color=lighting.kelvin_to_rgb(p.kelvin).to(torch.float32),
            intensity=(p.intensity / share).to(torch.float32),
            enabled=enabled,
            ambient=p.ambient[:, None].expand(n, 3).to(torch.float32).clone(),
            shadow=shadow,
        )
        return scene.replace(lights=lights)
