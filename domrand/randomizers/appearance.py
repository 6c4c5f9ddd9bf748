"""`OriginalLook`: user objects in their own material (`appearance: original | mixed` of a class in
`world.objects`): the mesh's texture image through its UVs, or its vertex or face colours. Acts after the
texture and material randomizers, on the object slots it draws."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np
import torch
from torch import Tensor

from domrand.params import Params, bool_field
from domrand.randomizers.base import Randomizer, check_n
from domrand.scene import SceneBatch
from domrand.world import TARGET, TableWorld


@dataclass(frozen=True, eq=False)
class LookParams(Params):
    """What `OriginalLook` drew, per scene (O object slots)."""

    original: Tensor = bool_field()  # (B, O) the slot shows its class's own material


@dataclass(frozen=True)
class OriginalLook(Randomizer[LookParams]):
    """Per object instance: its class's own look with the class's probability (1 for `original`, `original_p`
    for `mixed`, 0 for `random`), else the randomized texture.

    Randomizes:
        which instances show their own material. The own texture is resampled to the texture bank's texel
        size (at least `min_size`, `textures.size` otherwise), shown once across the UVs (no repeats), white
        albedo; lighting, shadows, specular and image noise still act on it.
    """

    world: TableWorld = field(default_factory=TableWorld)
    min_size: int = 128
    params_type = LookParams

    def probabilities(self) -> Tensor:
        """(O,) the chance of the own look of every object slot."""
        p = [{"random": 0.0, "original": 1.0}.get(c.appearance, c.original_p) for c in self.world.objects]
        return torch.tensor([p[c] for c in self.world.object_slot_classes()] if self.world.objects else [0.0])

    def sample(self, n: int, *, rng: torch.Generator) -> LookParams:
        check_n(n)
        p = self.probabilities()
        return LookParams(torch.rand(n, p.shape[0], generator=rng) < p)

    def apply(self, scene: SceneBatch, p: LookParams) -> SceneBatch:
        if not bool(p.original.any()):
            return scene
        bank = scene.textures
        size = max(int(bank.shape[1]), self.min_size)
        if bank.shape[1] != size:  # nearest upsampling keeps every texel's colour (the lookups stay the same)
            idx = (torch.arange(size) * bank.shape[1]) // size
            bank = bank[:, idx][:, :, idx]
        own = torch.from_numpy(_own_textures(self.world, size))
        first = bank.shape[0]
        o = p.original.shape[1]
        inst = scene.instances
        slots = slice(TARGET, TARGET + o)
        cls = torch.tensor(self.world.object_slot_classes())
        texture, uv_scale, color = inst.texture.clone(), inst.uv_scale.clone(), inst.color.clone()
        texture[:, slots] = torch.where(p.original, first + cls, texture[:, slots])
        uv_scale[:, slots] = torch.where(p.original, torch.ones_like(uv_scale[:, slots]), uv_scale[:, slots])
        color[:, slots] = torch.where(p.original[..., None], torch.ones_like(color[:, slots]), color[:, slots])
        inst = type(inst)(**{**inst.__dict__, "texture": texture, "uv_scale": uv_scale, "color": color})
        return scene.replace(instances=inst, textures=torch.cat([bank, own]))


@functools.lru_cache(maxsize=8)
def _own_textures(world: TableWorld, size: int) -> np.ndarray:
    """(C, size, size, 3) uint8: every class's own texture resampled (grey for a class without one)."""
    out = np.full((len(world.objects), size, size, 3), 128, dtype=np.uint8)
    for i, c in enumerate(world.objects):
        tex = c.read().texture
        if tex is None:
            continue
        shrink = tex.shape[0] > size or tex.shape[1] > size
        out[i] = cv2.resize(tex, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_NEAREST)
    return out
