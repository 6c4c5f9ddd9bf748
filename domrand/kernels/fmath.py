"""Inline `math.floor` and `math.ceil` for the kernels' loops.

numba lowers `math.floor` / `math.ceil` of a float, in some kernels, to a call into its helper library
(`numba_floorf`: 3% of a `domrand generate` run's CPU time, profiled with `perf`). `ifloor` and `iceil` give
the same int by truncation and one comparison, inline: equal for every finite float |x| < 2**63 (tested).

Example:
    >>> import numpy as np
    >>> from domrand.kernels.fmath import iceil, ifloor
    >>> ifloor(np.float32(-2.5)), iceil(np.float32(-2.5)), ifloor(2.0)
    (-3, -2, 2)
"""

from __future__ import annotations

from numba import njit

from domrand.kernels import cache

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)


@njit(cache=True, inline="always")
def ifloor(x):  # type: ignore[no-untyped-def]
    """math.floor of a float x (float32 or float64): truncation, then one down where it went up."""
    i = int(x)
    return i - 1 if i > x else i


@njit(cache=True, inline="always")
def iceil(x):  # type: ignore[no-untyped-def]
    """math.ceil of a float x (float32 or float64): truncation, then one up where it went down."""
    i = int(x)
    return i + 1 if i < x else i


cache.leave()
