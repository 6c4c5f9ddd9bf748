"""Material randomizer: Blinn-Phong specular strength and shininess of every slot."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from domrand.dist import Dist, LogUniform, Uniform
from domrand.params import Params
from domrand.randomizers.base import Randomizer, check_n
from domrand.scene import SceneBatch


@dataclass(frozen=True, eq=False)
class MaterialParams(Params):
    """What `MaterialRandomizer` drew, per scene and slot."""

    specular: Tensor  # (B, K)
    shininess: Tensor  # (B, K)


@dataclass(frozen=True)
class MaterialRandomizer(Randomizer[MaterialParams]):
    """Random surface finish.

    Randomizes:
        specular strength `specular` (0 to 0.6) and Blinn-Phong exponent `shininess` (4 to 128,
        log-uniform) of every slot.
    """

    slots: int = 13
    specular: Dist = Uniform(0.0, 0.6)
    shininess: Dist = LogUniform(4.0, 128.0)
    params_type = MaterialParams

    def __post_init__(self) -> None:
        if not self.specular.bounds()[0] >= 0:
            raise ValueError(f"materials.specular must stay >= 0, got {self.specular.bounds()}")
        if not self.shininess.bounds()[0] > 0:
            raise ValueError(f"materials.shininess must stay > 0, got {self.shininess.bounds()}")

    def sample(self, n: int, *, rng: torch.Generator) -> MaterialParams:
        check_n(n)
        return MaterialParams(
            self.specular.sample((n, self.slots), rng=rng), self.shininess.sample((n, self.slots), rng=rng)
        )

    def apply(self, scene: SceneBatch, p: MaterialParams) -> SceneBatch:
        inst = scene.instances
        inst = type(inst)(**{**inst.__dict__, "specular": p.specular.clone(), "shininess": p.shininess.clone()})
        return scene.replace(instances=inst)
