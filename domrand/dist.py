"""Distributions as values: frozen dataclasses that compare equal, print, serialise and take `rng` explicitly.

Example:
    >>> import torch
    >>> d = Uniform(-0.05, 0.05)
    >>> d == Uniform(-0.05, 0.05), dist_from_json(d.to_json()) == d
    (True, True)
    >>> tuple(d.sample((2, 3), rng=torch.Generator().manual_seed(0)).shape)
    (2, 3)
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor


class Dist:
    """A distribution of floats (or ints, for `IntUniform` and `Choice` of ints)."""

    kind: ClassVar[str] = ""

    def sample(self, shape: tuple[int, ...], *, rng: torch.Generator) -> Tensor:
        raise NotImplementedError

    def bounds(self) -> tuple[float, float]:
        """(lowest, highest) value the distribution can produce."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, **dataclasses.asdict(self)}  # type: ignore[call-overload]


def _finite(name: str, **kw: float) -> None:
    for k, v in kw.items():
        if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
            raise ValueError(f"{name} needs a finite number for {k}, got {v!r}")


@dataclass(frozen=True)
class Const(Dist):
    """Always `value`."""

    value: float
    kind: ClassVar[str] = "const"

    def __post_init__(self) -> None:
        _finite("Const", value=self.value)

    def sample(self, shape: tuple[int, ...], *, rng: torch.Generator) -> Tensor:
        return torch.full(shape, float(self.value))

    def bounds(self) -> tuple[float, float]:
        return float(self.value), float(self.value)


@dataclass(frozen=True)
class Uniform(Dist):
    """Uniform on [low, high]."""

    low: float
    high: float
    kind: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        _finite("Uniform", low=self.low, high=self.high)
        if not self.low <= self.high:
            raise ValueError(f"Uniform needs low <= high, got low={self.low}, high={self.high}")

    def sample(self, shape: tuple[int, ...], *, rng: torch.Generator) -> Tensor:
        return self.low + (self.high - self.low) * torch.rand(shape, generator=rng)

    def bounds(self) -> tuple[float, float]:
        return float(self.low), float(self.high)


@dataclass(frozen=True)
class LogUniform(Dist):
    """Uniform in log space on [low, high], both > 0."""

    low: float
    high: float
    kind: ClassVar[str] = "loguniform"

    def __post_init__(self) -> None:
        _finite("LogUniform", low=self.low, high=self.high)
        if not 0 < self.low <= self.high:
            raise ValueError(f"LogUniform needs 0 < low <= high, got low={self.low}, high={self.high}")

    def sample(self, shape: tuple[int, ...], *, rng: torch.Generator) -> Tensor:
        a, b = math.log(self.low), math.log(self.high)
        return torch.exp(a + (b - a) * torch.rand(shape, generator=rng, dtype=torch.float64)).to(torch.float32)

    def bounds(self) -> tuple[float, float]:
        return float(self.low), float(self.high)


@dataclass(frozen=True)
class Normal(Dist):
    """Normal(mean, std), optionally clipped to [clip_lo, clip_hi] (None: unbounded)."""

    mean: float
    std: float
    clip_lo: float | None = None
    clip_hi: float | None = None
    kind: ClassVar[str] = "normal"

    def __post_init__(self) -> None:
        _finite("Normal", mean=self.mean, std=self.std)
        if not self.std >= 0:
            raise ValueError(f"Normal needs std >= 0, got std={self.std}")
        lo, hi = self.bounds()
        if not lo <= hi:
            raise ValueError(f"Normal needs clip_lo <= clip_hi, got {self.clip_lo}, {self.clip_hi}")

    def sample(self, shape: tuple[int, ...], *, rng: torch.Generator) -> Tensor:
        return (self.mean + self.std * torch.randn(shape, generator=rng)).clamp(self.clip_lo, self.clip_hi)

    def bounds(self) -> tuple[float, float]:
        lo = -math.inf if self.clip_lo is None else float(self.clip_lo)
        hi = math.inf if self.clip_hi is None else float(self.clip_hi)
        return lo, hi


@dataclass(frozen=True)
class IntUniform(Dist):
    """Integers uniform on [low, high], inclusive; samples int64."""

    low: int
    high: int
    kind: ClassVar[str] = "intuniform"

    def __post_init__(self) -> None:
        if not (isinstance(self.low, int) and isinstance(self.high, int)) or isinstance(self.low, bool):
            raise ValueError(f"IntUniform needs integer bounds, got low={self.low!r}, high={self.high!r}")
        if not self.low <= self.high:
            raise ValueError(f"IntUniform needs low <= high, got low={self.low}, high={self.high}")

    def sample(self, shape: tuple[int, ...], *, rng: torch.Generator) -> Tensor:
        return torch.randint(self.low, self.high + 1, shape, generator=rng)

    def bounds(self) -> tuple[float, float]:
        return float(self.low), float(self.high)


@dataclass(frozen=True)
class Choice(Dist):
    """One of `values` (numbers), with optional probabilities `p` (normalised)."""

    values: tuple[float, ...]
    p: tuple[float, ...] | None = None
    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise ValueError("Choice needs at least one value")
        if self.p is not None:
            object.__setattr__(self, "p", tuple(float(x) for x in self.p))
            if len(self.p) != len(self.values):
                raise ValueError(f"Choice needs one probability per value, got {len(self.p)} for {len(self.values)}")
            if any(x < 0 for x in self.p) or sum(self.p) <= 0:
                raise ValueError(f"Choice probabilities must be >= 0 and not all 0, got {self.p}")

    def sample(self, shape: tuple[int, ...], *, rng: torch.Generator) -> Tensor:
        vals = torch.tensor(self.values)
        if self.p is None:
            idx = torch.randint(0, len(self.values), shape, generator=rng)
        else:
            probs = torch.tensor(self.p, dtype=torch.float64)
            n = math.prod(shape)
            idx = torch.multinomial(probs / probs.sum(), max(n, 1), replacement=True, generator=rng)[:n].reshape(shape)
        return vals[idx]

    def bounds(self) -> tuple[float, float]:
        return float(min(self.values)), float(max(self.values))


DISTS: dict[str, type[Dist]] = {c.kind: c for c in (Const, Uniform, LogUniform, Normal, IntUniform, Choice)}


def dist_from_json(obj: Any) -> Dist:
    """Rebuild a `Dist` from `to_json()` output; a bare number is `Const`, a [low, high] pair `Uniform`."""
    if isinstance(obj, Dist):
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return Const(float(obj))
    if (
        isinstance(obj, (list, tuple))
        and len(obj) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in obj)
    ):
        return Uniform(float(obj[0]), float(obj[1]))
    if not isinstance(obj, dict) or "kind" not in obj:
        raise ValueError(f"a distribution is a number, a [low, high] pair or a mapping with 'kind', got {obj!r}")
    fields = dict(obj)
    kind = fields.pop("kind")
    if kind not in DISTS:
        raise ValueError(f"unknown distribution kind {kind!r}; known: {sorted(DISTS)}")
    cls = DISTS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(fields) - names
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} for distribution {kind!r}; expected {sorted(names)}")
    try:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    except TypeError as e:
        raise ValueError(f"bad distribution {obj!r}: {e}") from None
