"""Pieces shared by the simulator adapters: drawn parameters as named arrays, and procedural texture pixels
at any size (the same texture kinds as the dataset randomizer)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from domrand.dist import Dist
from domrand.randomizers.texture import PROCEDURAL_KINDS, TextureRandomizer, synthesize
from domrand.rng import derive_seed

DEFAULT_KINDS = PROCEDURAL_KINDS  # every procedural kind, those of the `tabletop` preset included


@dataclass
class SimParams:
    """What an adapter drew: named arrays (per texture, material, light, camera, body, ...), JSON-able.

    `apply(params)` on the adapter replays them exactly.
    """

    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.values[key]

    def __contains__(self, key: str) -> bool:
        return key in self.values

    def to_json(self) -> dict[str, Any]:
        return {
            k: {"dtype": str(v.dtype), "shape": list(v.shape), "data": v.reshape(-1).tolist()}
            for k, v in sorted(self.values.items())
        }

    @staticmethod
    def from_json(obj: dict[str, Any]) -> SimParams:
        return SimParams({k: np.asarray(v["data"], dtype=v["dtype"]).reshape(v["shape"]) for k, v in obj.items()})

    def equal(self, other: SimParams) -> bool:
        """Same names, shapes, dtypes and values (bit-exact)."""
        a, b = self.values, other.values
        return a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


class SimRandomizer:
    """Base of the simulator adapters: a seeded stream of its own, `randomize` = `sample` then `apply`.

    Subclasses save what they may touch when they attach, draw in `sample` (nothing else is random),
    set the simulator in `apply` (pure: the same params give the same state) and undo it in `restore`.
    """

    rng: torch.Generator

    def reseed(self, seed: int, *more: int) -> None:
        """Restart the randomizer's stream from (seed, *more)."""
        self.rng = torch.Generator().manual_seed(derive_seed(seed, *more))

    def sample(self) -> SimParams:
        raise NotImplementedError

    def apply(self, params: SimParams) -> None:
        raise NotImplementedError

    def restore(self) -> None:
        raise NotImplementedError

    def randomize(self) -> SimParams:
        """Draw parameters, apply them, and return them."""
        params = self.sample()
        self.apply(params)
        return params

    @contextlib.contextmanager
    def applied(self, params: SimParams) -> Iterator[None]:
        """Apply `params` for the duration of a `with` block, then restore (also on errors)."""
        self.apply(params)
        try:
            yield
        finally:
            self.restore()


def check_range(name: str, d: Dist, low: float | None = None, high: float | None = None) -> None:
    """Raise one ValueError naming `name` if the distribution's support leaves [low, high]."""
    lo, hi = d.bounds()
    if low is not None and not lo >= low:
        raise ValueError(f"{name} must stay >= {low}, got {d}")
    if high is not None and not hi <= high:
        raise ValueError(f"{name} must stay <= {high}, got {d}")


def sample(d: Dist, shape: tuple[int, ...], rng: torch.Generator) -> np.ndarray:
    return d.sample(shape, rng=rng).numpy().astype(np.float64)


def texture_spec_arrays(n: int, kinds: tuple[str, ...], rng: torch.Generator) -> dict[str, np.ndarray]:
    """Parameters of n procedural textures, as arrays named "texture.<field>"."""
    spec = TextureRandomizer(slots=1, kinds=kinds).sample_spec(n, rng=rng)
    return {f"texture.{k}": v.numpy() for k, v in spec.tensors().items()}


def texture_pixels(arrays: dict[str, np.ndarray], i: int, size: int) -> np.ndarray:
    """(size, size, 3) uint8 pixels of texture row i of `texture_spec_arrays` output."""
    from domrand.randomizers.texture import TextureSpec

    row = TextureSpec(
        **{
            k[8:]: torch.from_numpy(np.ascontiguousarray(v[i : i + 1]))
            for k, v in arrays.items()
            if k.startswith("texture.")
        }
    )
    return synthesize(row, size, torch.zeros(0, 1, 1, 3, dtype=torch.uint8))[0].numpy()


def check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in PROCEDURAL_KINDS]
    if bad or not kinds:
        raise ValueError(f"texture kinds must be a non-empty subset of {list(PROCEDURAL_KINDS)}, got {list(kinds)}")
    return kinds
