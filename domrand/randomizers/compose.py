"""`Compose`: named randomizers sampled from independent streams and applied in order."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.params import Params
from domrand.randomizers.base import ImageRandomizer, Randomizer
from domrand.rng import generator
from domrand.scene import SceneBatch


@dataclass(frozen=True)
class Compose:
    """Scene randomizers applied in order, then image randomizers on the rendered output.

    Each randomizer draws from its own stream, derived from one number drawn from `rng` and the
    randomizer's name, so switching one off or narrowing it leaves every other draw unchanged
    (paired ablations).

    Example:
        >>> import torch
        >>> from domrand.randomizers.camera import CameraJitter
        >>> c = Compose(scene=(("camera", CameraJitter()),))
        >>> sorted(c.sample(3, rng=torch.Generator().manual_seed(0)))
        ['camera']
    """

    scene: tuple[tuple[str, Randomizer], ...] = ()
    image: tuple[tuple[str, ImageRandomizer], ...] = ()

    def __post_init__(self) -> None:
        names = [n for n, _ in self.scene + self.image]
        if len(set(names)) != len(names):
            raise ValueError(f"randomizer names must be unique, got {names}")

    @property
    def names(self) -> list[str]:
        return [n for n, _ in self.scene + self.image]

    def sample(self, n: int, *, rng: torch.Generator) -> dict[str, Params]:
        base = int(torch.randint(0, 2**62, (1,), generator=rng))
        return {
            name: r.sample(n, rng=generator(base, zlib.crc32(name.encode()))) for name, r in self.scene + self.image
        }

    def apply(self, scene: SceneBatch, params: dict[str, Params]) -> SceneBatch:
        for name, r in self.scene:
            scene = r.apply(scene, params[name])
        return scene

    def apply_images(self, images: dict[str, Tensor], params: dict[str, Params]) -> dict[str, Tensor]:
        """Apply each image randomizer, in order, to the output it names (`ImageRandomizer.image`)."""
        out = dict(images)
        for name, r in self.image:
            out[r.image] = r.apply(out[r.image], params[name])
        return out
