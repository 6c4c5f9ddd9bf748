"""Inline math for the kernels' loops: `math.floor` and `math.ceil`, and a power that vectorizes.

numba lowers `math.floor` / `math.ceil` of a float, in some kernels, to a call into its helper library
(`numba_floorf`: 3% of a `domrand generate` run's CPU time, profiled with `perf`). `ifloor` and `iceil` give
the same int by truncation and one comparison, inline: equal for every finite float |x| < 2**63 (tested).

`ffma(a, b, c)` is float32 a * b + c with one rounding (torch's vector kernels use it, `kernels.placement` matches
them). `fpow(x, y)` is float32 x ** y for x >= 0 and y > 0 with no call and no branch (log2 by an atanh series and exp2
by a Taylor series, in float64, on the bits of x), so a loop of them compiles to vector code where `powf` is one
call a value: within 3 float32 steps (2.2e-7 relative) of `x ** y` (tested against float64 numpy).

Example:
    >>> import numpy as np
    >>> from domrand.kernels.fmath import iceil, ifloor
    >>> ifloor(np.float32(-2.5)), iceil(np.float32(-2.5)), ifloor(2.0)
    (-3, -2, 2)
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

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


@intrinsic
def _bits(typingctx, x):  # type: ignore[no-untyped-def]
    """The IEEE bits of a float64 as an int64 (a bit cast)."""

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _from_bits(typingctx, i):  # type: ignore[no-untyped-def]
    """The float64 whose IEEE bits are the int64 i (a bit cast)."""

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def ffma(typingctx, a, b, c):  # type: ignore[no-untyped-def]
    """float32 a * b + c rounded once (LLVM's fma: the CPU's fused multiply-add where it has one), as torch's
    vectorized CPU kernels compute it (`torch.linalg.vector_norm` of a pair: sqrt(fma(y, y, x * x)))."""
    if not all(t == types.float32 for t in (a, b, c)):
        return None

    def codegen(context, builder, sig, args):  # type: ignore[no-untyped-def]
        return builder.fma(*args)

    return types.float32(types.float32, types.float32, types.float32), codegen


@njit(cache=True, inline="always")
def fpow(x, y):  # type: ignore[no-untyped-def]
    """float32 x ** y for float32 x >= 0 (0 for x <= 0) and 0 < y <= 1000: log2 x from the exponent bits and an
    atanh series of the mantissa, 2 ** (y log2 x) from the integer part's bits and a Taylor series, in float64."""
    bits = _bits(np.float64(max(x, np.float32(1e-45))))  # x = 0: any positive value, the result is 0 below
    e = ((bits >> 52) & 0x7FF) - 1023
    m = _from_bits((bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000)  # x = m 2**e, m in [1, 2)
    up = m > 1.4142135623730951  # m in [sqrt(1/2), sqrt(2)): |s| < 0.172 below
    m = m * 0.5 if up else m
    e = e + 1 if up else e
    s = (m - 1.0) / (m + 1.0)
    s2 = s * s
    ln_m = 2.0 * s * (1.0 + s2 * (1 / 3 + s2 * (1 / 5 + s2 * (1 / 7 + s2 * (1 / 9)))))
    t = np.float64(y) * (np.float64(e) + ln_m * 1.4426950408889634)
    t = min(max(t, -160.0), 127.0)  # beyond float32 either way
    k = np.int64(t + 200.5) - 200  # t rounded to the nearest integer
    z = (t - np.float64(k)) * 0.6931471805599453  # |z| <= ln(2) / 2
    p = 1.0 + z * (1.0 + z * (0.5 + z * (1 / 6 + z * (1 / 24 + z * (1 / 120 + z * (1 / 720 + z * (1 / 5040)))))))
    r = np.float32(p * _from_bits((k + 1023) << 52))
    return r if x > 0 else np.float32(0.0)


cache.leave()
