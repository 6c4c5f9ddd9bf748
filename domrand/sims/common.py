"""Pieces shared by the simulator adapters: the `SimRandomizer` contract, draws as named `Params`, and procedural
texture pixels at any size (the same texture kinds as the dataset randomizer).

A *draw* is what an adapter's `sample(n, rng=...)` returns: a `dict[str, Params]` of batch-first tensors, one
entry per group it randomizes (absent where a group is switched off or the simulation lacks it), the same
shape of record that `Compose.sample` gives the dataset pipeline. Where domrand has a randomizer for the
quantity, the group holds that randomizer's own `Params` (`CameraParams`, `LightingParams`, `TextureSpec`);
the rest are the adapter's own small `Params` classes.

Example:
    >>> import torch
    >>> from domrand.randomizers.camera import CameraJitter
    >>> draw = {"camera": CameraJitter().sample(2, rng=torch.Generator().manual_seed(0))}
    >>> draws_equal(draw_from_json(draw_to_json(draw), {"camera": type(draw["camera"])}), draw)
    True
    >>> draw_row(draw, 1)["camera"].batch_size
    1
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from domrand.dist import Dist
from domrand.params import Params, params_equal
from domrand.randomizers.texture import PROCEDURAL_KINDS, TextureRandomizer, TextureSpec, synthesize

DEFAULT_KINDS = PROCEDURAL_KINDS  # every procedural kind, those of the `tabletop` preset included
Draw = dict[str, Params]


def draws_equal(a: Mapping[str, Params], b: Mapping[str, Params]) -> bool:
    """Same groups, and each group's tensors equal bit for bit."""
    return a.keys() == b.keys() and all(params_equal(a[k], b[k]) for k in a)


def draw_to_json(draw: Mapping[str, Params]) -> dict[str, Any]:
    """A draw as JSON values ({group: {field: nested lists}})."""
    return {name: p.to_json() for name, p in sorted(draw.items())}


def draw_from_json(obj: Mapping[str, Any], types: Mapping[str, type[Params]]) -> Draw:
    """Inverse of `draw_to_json`; `types` names each group's `Params` class (an adapter's `PARAMS`)."""
    unknown = sorted(set(obj) - set(types))
    if unknown:
        raise ValueError(f"unknown parameter group {unknown[0]!r}; expected some of {sorted(types)}")
    return {name: types[name].from_json(v) for name, v in obj.items()}


def draw_row(draw: Mapping[str, Params], i: int) -> Draw:
    """Draw i of a batch of draws, as a batch of one (what `apply` takes)."""
    return {name: p.index(i) for name, p in draw.items()}


def batch_of_one(draw: Mapping[str, Params]) -> None:
    """Raise one ValueError unless every group of `draw` holds exactly one draw."""
    sizes = {name: p.batch_size for name, p in draw.items()}
    bad = {k: v for k, v in sizes.items() if v != 1}
    if bad:
        raise ValueError(f"apply takes one draw (batch size 1), got {bad}; pick one with draw_row(draw, i)")


@dataclass(frozen=True, eq=False)
class ColorBlend(Params):
    """Each link's or geom's rgb moved towards `color` by `mix` (alpha kept)."""

    color: Tensor  # (B, N, 3) RGB in [0, 1]
    mix: Tensor  # (B, N) in [0, 1]


class SimRandomizer:
    """Base of the simulator adapters: `sample(n, rng=...)` draws, `apply(draw)` sets the simulation, `restore()`
    undoes it.

    Subclasses save what they may touch when they attach, draw only in `sample` (from the generator they are
    given: an adapter holds no random state), set the simulator in `apply` (pure: the same draw gives the same
    state) and undo it in `restore`.
    """

    def sample(self, n: int, *, rng: torch.Generator) -> Draw:
        raise NotImplementedError

    def apply(self, params: Draw) -> None:
        raise NotImplementedError

    def restore(self) -> None:
        raise NotImplementedError

    def randomize(self, *, rng: torch.Generator) -> Draw:
        """Draw one set of parameters from `rng`, apply it, and return it."""
        params = self.sample(1, rng=rng)
        self.apply(params)
        return params

    @contextlib.contextmanager
    def applied(self, params: Draw) -> Iterator[None]:
        """Apply `params` for the duration of a `with` block, then restore (also on errors)."""
        self.apply(params)
        try:
            yield
        finally:
            self.restore()


def refuse_seed(overrides: Mapping[str, Any]) -> None:
    """One clear error for code written against the adapters that kept their own stream (`seed=`)."""
    if "seed" in overrides:
        raise ValueError(
            "adapters no longer take seed=: they hold no random state; pass a generator to each draw, "
            f"e.g. r.randomize(rng=torch.Generator().manual_seed({overrides['seed']!r}))"
        )


def check_n(n: int) -> None:
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n must be a positive number of draws, got {n!r}")


def check_range(name: str, d: Dist, low: float | None = None, high: float | None = None) -> None:
    """Raise one ValueError naming `name` if the distribution's support leaves [low, high]."""
    lo, hi = d.bounds()
    if low is not None and not lo >= low:
        raise ValueError(f"{name} must stay >= {low}, got {d}")
    if high is not None and not hi <= high:
        raise ValueError(f"{name} must stay <= {high}, got {d}")


def texture_specs(n: int, kinds: tuple[str, ...], rng: torch.Generator) -> TextureSpec:
    """Parameters of n procedural textures of `kinds` (one `TextureSpec` row each)."""
    return TextureRandomizer(slots=1, kinds=kinds).sample_spec(n, rng=rng)


def texture_pixels(spec: TextureSpec, i: int, size: int) -> np.ndarray:
    """(size, size, 3) uint8 pixels of row i of `spec` ((N, ...) rows, as `texture_specs` gives)."""
    row = spec.select(torch.tensor([i])).map(lambda t: t.contiguous())
    return synthesize(row, size, torch.zeros(0, 1, 1, 3, dtype=torch.uint8))[0].numpy()


def check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in PROCEDURAL_KINDS]
    if bad or not kinds:
        raise ValueError(f"texture kinds must be a non-empty subset of {list(PROCEDURAL_KINDS)}, got {list(kinds)}")
    return kinds


def headless_gl() -> None:
    """Pick MuJoCo's EGL back end on a Linux machine without a display when the user chose none (`MUJOCO_GL`);
    call before `import mujoco`. Without it, mujoco.Renderer fails on servers with "an OpenGL platform library
    has not been loaded"."""
    if (
        sys.platform.startswith("linux")
        and "MUJOCO_GL" not in os.environ
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ["MUJOCO_GL"] = "egl"
