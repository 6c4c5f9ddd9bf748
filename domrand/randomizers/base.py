"""`Randomizer`: sample parameters in one step, apply them in another, so stored parameters replay exactly."""

from __future__ import annotations

from typing import ClassVar, Generic, TypeVar

import torch
from torch import Tensor

from domrand.params import Params
from domrand.scene import SceneBatch

P = TypeVar("P", bound=Params)


class Randomizer(Generic[P]):
    """Samples `Params` (the only place randomness happens) and applies them to a `SceneBatch` (pure).

    Subclasses are frozen dataclasses whose fields are their configuration, and document what they
    randomize in a *Randomizes:* section.
    """

    params_type: type[Params] = Params

    def sample(self, n: int, *, rng: torch.Generator) -> P:
        raise NotImplementedError

    def apply(self, scene: SceneBatch, params: P) -> SceneBatch:
        raise NotImplementedError


class ImageRandomizer(Generic[P]):
    """Like `Randomizer`, but applied to rendered images (post-processing) instead of the scene.

    `image` names the rendered output it perturbs: "rgb" ((B, H, W, 3) in [0, 1]) or "depth" ((B, H, W) metres).
    """

    params_type: type[Params] = Params
    image: ClassVar[str] = "rgb"

    def sample(self, n: int, *, rng: torch.Generator) -> P:
        raise NotImplementedError

    def apply(self, images: Tensor, params: P) -> Tensor:
        raise NotImplementedError


def check_n(n: int) -> None:
    if not (isinstance(n, int) and n >= 0):
        raise ValueError(f"n must be a non-negative int, got {n!r}")
