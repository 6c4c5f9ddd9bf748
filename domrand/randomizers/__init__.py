"""Randomizers: `sample(n, rng=...)` draws `Params`; `apply(scene, params)` is pure and replays them.

| randomizer | randomizes |
| --- | --- |
| `CameraJitter`, `TopDownCamera` | camera position, look-at, roll, field of view |
| `LightRandomizer` | number, kind, direction, colour temperature, intensity of lights; ambient |
| `TextureRandomizer` | procedural or photo textures on every surface; unique-texture pools |
| `MaterialRandomizer` | specular strength and shininess |
| `TabletopPlacement`, `RestingObject` | target and distractor meshes, sizes, poses on the table |
| `ImageNoise`, `DepthNoise` | colour jitter, blur, Gaussian and salt-and-pepper noise; depth noise |
"""

from domrand.randomizers.base import ImageRandomizer, Randomizer
from domrand.randomizers.camera import CameraJitter, CameraParams, Intrinsics, TopDownCamera, TopDownParams
from domrand.randomizers.compose import Compose
from domrand.randomizers.lighting import LightingParams, LightRandomizer
from domrand.randomizers.material import MaterialParams, MaterialRandomizer
from domrand.randomizers.noise import DepthNoise, DepthNoiseParams, ImageNoise, NoiseParams
from domrand.randomizers.placement import PlacementParams, RestingObject, RestingParams, TabletopPlacement
from domrand.randomizers.texture import TextureParams, TextureRandomizer

__all__ = [
    "CameraJitter",
    "CameraParams",
    "Compose",
    "DepthNoise",
    "DepthNoiseParams",
    "ImageNoise",
    "ImageRandomizer",
    "Intrinsics",
    "LightRandomizer",
    "LightingParams",
    "MaterialParams",
    "MaterialRandomizer",
    "NoiseParams",
    "PlacementParams",
    "Randomizer",
    "RestingObject",
    "RestingParams",
    "TabletopPlacement",
    "TextureParams",
    "TextureRandomizer",
    "TopDownCamera",
    "TopDownParams",
]  # fmt: skip
