"""`Params`: frozen dataclasses of batch-first tensors that record what a randomizer drew.

Example:
    >>> import torch
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True, eq=False)
    ... class Jitter(Params):
    ...     offset: torch.Tensor  # (B, 3) metres
    ...     count: torch.Tensor = int_field()  # (B,)
    >>> p = Jitter(torch.zeros(2, 3), torch.tensor([1, 2]))
    >>> q = Jitter.from_rows([p.row_json(0), p.row_json(1)])
    >>> params_equal(p, q), p.batch_size
    (True, 2)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import torch
from torch import Tensor

P = TypeVar("P", bound="Params")


def int_field(**kw: Any) -> Any:
    """A dataclass field holding an int64 tensor."""
    return field(metadata={"dtype": torch.int64}, **kw)


def bool_field(**kw: Any) -> Any:
    """A dataclass field holding a bool tensor."""
    return field(metadata={"dtype": torch.bool}, **kw)


@dataclass(frozen=True, eq=False)
class Params:
    """Base of every randomizer's parameters; every field is a (B, ...) tensor."""

    @classmethod
    def dtype_of(cls, name: str) -> torch.dtype:
        for f in fields(cls):
            if f.name == name:
                return f.metadata.get("dtype", torch.float32)
        raise KeyError(name)

    @property
    def batch_size(self) -> int:
        return int(getattr(self, fields(self)[0].name).shape[0])

    def tensors(self) -> dict[str, Tensor]:
        """Field name -> tensor."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def map(self: P, fn) -> P:
        """A copy with `fn` applied to every field."""
        return dataclasses.replace(self, **{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def index(self: P, i: int) -> P:
        """Row `i` as a batch of one."""
        return self.map(lambda t: t[i : i + 1])

    def select(self: P, idx: Tensor) -> P:
        """Rows `idx` (int64 indices or a bool mask)."""
        return self.map(lambda t: t[idx])

    def expand(self: P, n: int) -> P:
        """A batch of one repeated `n` times."""
        if self.batch_size != 1:
            raise ValueError(f"expand needs a batch of one, got {self.batch_size}")
        return self.map(lambda t: t.expand(n, *t.shape[1:]).clone())

    def to(self: P, device: torch.device | str) -> P:
        return self.map(lambda t: t.to(device))

    def row_json(self, i: int) -> dict[str, Any]:
        """Row `i` as plain JSON values (no batch axis); `from_rows` rebuilds the batch exactly."""
        return {f.name: getattr(self, f.name)[i].tolist() for f in fields(self)}

    def to_json(self) -> dict[str, Any]:
        """The whole batch as JSON values (leading batch axis kept)."""
        return {f.name: getattr(self, f.name).tolist() for f in fields(self)}

    @classmethod
    def from_json(cls: type[P], obj: dict[str, Any]) -> P:
        """Inverse of `to_json`."""
        names = {f.name for f in fields(cls)}
        if set(obj) != names:
            raise ValueError(f"{cls.__name__} needs keys {sorted(names)}, got {sorted(obj)}")
        return cls(**{k: torch.tensor(v, dtype=cls.dtype_of(k)) for k, v in obj.items()})

    @classmethod
    def from_rows(cls: type[P], rows: list[dict[str, Any]]) -> P:
        """Inverse of `row_json` over several rows."""
        if not rows:
            raise ValueError(f"{cls.__name__}.from_rows needs at least one row")
        return cls.from_json({k: [r[k] for r in rows] for k in rows[0]})

    @classmethod
    def cat(cls: type[P], parts: list[P]) -> P:
        """Concatenate batches."""
        return cls(**{f.name: torch.cat([getattr(p, f.name) for p in parts]) for f in fields(cls)})


def params_equal(a: Params, b: Params) -> bool:
    """Same type, same field shapes, dtypes and values (bit-exact)."""
    if type(a) is not type(b):
        return False
    return all(
        getattr(a, f.name).dtype == getattr(b, f.name).dtype and torch.equal(getattr(a, f.name), getattr(b, f.name))
        for f in fields(a)
    )
