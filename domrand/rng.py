"""Seeds: (root seed, chunk index) -> torch.Generator, the same on any machine, worker count or device."""

from __future__ import annotations

import numpy as np
import torch


def derive_seed(*keys: int) -> int:
    """A 63-bit seed mixed from integer keys (SeedSequence), e.g. (root seed, chunk index, stream)."""
    if any(not isinstance(k, (int, np.integer)) or k < 0 for k in keys):
        raise ValueError(f"seed keys must be non-negative ints, got {keys}")
    return int(
        np.random.SeedSequence([int(k) for k in keys]).generate_state(2, dtype=np.uint32).astype(np.uint64)
        @ np.array([1 << 31, 1], dtype=np.uint64)
    ) & ((1 << 63) - 1)


def generator(*keys: int) -> torch.Generator:
    """A CPU torch.Generator seeded from `keys` (see `derive_seed`).

    Example:
        >>> a = torch.rand(2, generator=generator(7, 0))
        >>> b = torch.rand(2, generator=generator(7, 0))
        >>> bool(torch.equal(a, b))
        True
    """
    return torch.Generator(device="cpu").manual_seed(derive_seed(*keys))


def chunk_rng(root_seed: int, chunk: int) -> torch.Generator:
    """The RNG for dataset chunk `chunk`: independent of worker count, backend and device."""
    return generator(root_seed, chunk)
