"""`kernels.fmath`: the inline floor and ceil give math.floor's and math.ceil's ints (numpy as the reference)."""

from __future__ import annotations

import numpy as np
from numba import njit

from domrand.kernels.fmath import iceil, ifloor


@njit(cache=False)
def _both(x, lo, hi):
    for i in range(x.shape[0]):
        lo[i] = ifloor(x[i])
        hi[i] = iceil(x[i])


EDGES = [0.0, -0.0, 1e-30, -1e-30, 0.5, -0.5, 1.0, -1.0, 2.5, -2.5, 16777217.0, -16777217.0, 2.0**40, -(2.0**40)]


def _check(x):
    lo, hi = np.empty(x.shape[0], np.int64), np.empty(x.shape[0], np.int64)
    _both(x, lo, hi)
    np.testing.assert_array_equal(lo, np.floor(x.astype(np.float64)).astype(np.int64))
    np.testing.assert_array_equal(hi, np.ceil(x.astype(np.float64)).astype(np.int64))


def test_ifloor_iceil_match_numpy_float32():
    rng = np.random.default_rng(0)
    x = np.concatenate([EDGES, rng.normal(0, 100, 100_000), rng.normal(0, 1e6, 10_000)]).astype(np.float32)
    x = np.concatenate([x, np.nextafter(np.round(x[:2000]), np.float32(np.inf)).astype(np.float32)])
    _check(x)


def test_ifloor_iceil_match_numpy_float64():
    rng = np.random.default_rng(1)
    x = np.concatenate([EDGES, rng.normal(0, 100, 100_000), rng.normal(0, 1e12, 10_000)])
    x = np.concatenate([x, np.nextafter(np.round(x[:2000]), -np.inf)])
    _check(x)
