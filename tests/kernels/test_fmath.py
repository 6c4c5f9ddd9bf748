"""`kernels.fmath`: the inline floor and ceil give math.floor's and math.ceil's ints (numpy as the reference)."""

from __future__ import annotations

import numpy as np
from numba import njit

from domrand.kernels.fmath import fpow, iceil, ifloor


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


@njit(cache=False)
def _powers(x, y, out):
    for i in range(x.shape[0]):
        out[i] = fpow(x[i], y[i])


def test_fpow_within_three_float32_steps_of_float64_power():
    rng = np.random.default_rng(2)
    n = 200_000
    x = rng.random(n, dtype=np.float32)
    x[:2000] = (rng.random(2000) ** 40).astype(np.float32)  # tiny bases, down to float32 subnormals
    x[2000:2100] = 0
    x[2100:2200] = 1
    y = np.exp(rng.uniform(np.log(0.05), np.log(1000), n)).astype(np.float32)
    out = np.empty(n, np.float32)
    _powers(x, y, out)
    ref = np.power(x.astype(np.float64), y.astype(np.float64))
    normal = ref.astype(np.float32) > np.finfo(np.float32).tiny
    steps = np.abs(out.view(np.int32).astype(np.int64) - ref.astype(np.float32).view(np.int32))
    assert steps[normal].max() <= 3
    assert np.abs(out - ref)[~normal].max() < np.finfo(np.float32).tiny  # below the normal range: absolute
    assert (out[2000:2100] == 0).all() and (out[2100:2200] == 1).all()
