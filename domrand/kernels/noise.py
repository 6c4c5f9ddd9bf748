"""Compiled per-image post-processing for `ImageNoise`: colour jitter, blur and noise in one pass.

Noise comes from a counter-based generator (splitmix64 of the image's seed and the pixel index), so an
image's noise depends only on its own seed: batch size, order and thread count change nothing.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
from numba import njit

from domrand.kernels import cache
from domrand.kernels.cache import INTERNAL

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True, inline="always")
def _mix(x):
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


NORMAL_BITS = 12
#: N(0, 1) at the centres of 4096 equal-probability bins (the inverse normal CDF at (i + 0.5) / 4096): a pixel's
#: Gaussian noise reads three entries chosen by its hash, so noise costs one hash a pixel instead of a
#: Box-Muller transform (two logarithms, two square roots and four sines) for every pair of values.
NORMAL = np.array(
    [statistics.NormalDist().inv_cdf((i + 0.5) / (1 << NORMAL_BITS)) for i in range(1 << NORMAL_BITS)], np.float32
)
_U24 = np.float32(1.0 / (1 << 24))


_TINY, _BIG = np.float32(2.0**-13), np.float32(2.0**17)
_EXACT = 2.0**17  # float64 sums below this of values in {0} U [TINY, BIG) are exact (`_sum`)


@njit(cache=True, inline="always")
def _sum(x, plain):
    """The float64 sum of x (N,) float32 in index order, as `acc += x[q]` one after another gives it.

    With `plain` (every value 0 or in [2^-13, 2^17)): every value is a multiple of 2^-36 (a float32 of exponent
    -13 or more), so a sum below 2^17 is a multiple of 2^-36 below 2^53 of them, exact in float64, and so is every
    partial sum on the way: the order does not matter. Eight running sums then (no chain of dependent additions);
    where their total reaches 2^17, or some value is not plain, the sum is taken again one value after another."""
    n = x.shape[0]
    if plain:
        a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = 0.0
        m = n - n % 8
        for q in range(0, m, 8):
            a0 += x[q]
            a1 += x[q + 1]
            a2 += x[q + 2]
            a3 += x[q + 3]
            a4 += x[q + 4]
            a5 += x[q + 5]
            a6 += x[q + 6]
            a7 += x[q + 7]
        total = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))
        for q in range(m, n):
            total += x[q]
        if total < _EXACT:
            return total
    acc = 0.0
    for q in range(n):
        acc += x[q]
    return acc


@njit(cache=True, inline="always")
def _jitter(src, brightness, contrast, saturation, x):
    """x (H, W, 3) = src with brightness, contrast (about the image mean) and saturation applied."""
    h, w, _ = src.shape
    n = h * w * 3
    sf, xf = src.reshape(n), x.reshape(n)
    odd = 0  # values outside {0} U [TINY, BIG) (NaN included)
    for q in range(n):  # vector code
        v = sf[q] * brightness
        xf[q] = v
        odd += not ((v == 0) | ((v >= _TINY) & (v < _BIG)))
    mean = np.float32(_sum(xf, odd == 0) / n)
    for i in range(h):
        for j in range(w):
            r = (x[i, j, 0] - mean) * contrast + mean
            g = (x[i, j, 1] - mean) * contrast + mean
            b = (x[i, j, 2] - mean) * contrast + mean
            grey = r * np.float32(0.299) + g * np.float32(0.587) + b * np.float32(0.114)
            x[i, j, 0] = grey + (r - grey) * saturation
            x[i, j, 1] = grey + (g - grey) * saturation
            x[i, j, 2] = grey + (b - grey) * saturation


@njit(cache=True, inline="always")
def _blur(x, tmp, sigma):
    """x (H, W, 3) blurred in place by a separable 5-tap Gaussian of `sigma` pixels (edges clamped).

    Both passes run over rows as flat (W * 3,) runs, so the compiler vectorizes them; the columns within two
    pixels of an edge, where the taps clamp, are done one by one. Every value is the same sum of the same five
    products in the same order either way."""
    h, w, _ = x.shape
    k = np.empty(5, dtype=np.float32)
    for j in range(5):
        k[j] = math.exp(-0.5 * ((j - 2) / max(sigma, 1e-3)) ** 2)
    total = k[0] + k[1] + k[2] + k[3] + k[4]  # as k.sum() adds them (without compiling numpy's sum: 0.16 s cold)
    k /= total
    k0, k1, k2, k3, k4 = k[0], k[1], k[2], k[3], k[4]
    xf, tf = x.reshape((h, w * 3)), tmp.reshape((h, w * 3))
    for i in range(h):
        r0, r1, r3, r4 = xf[max(i - 2, 0)], xf[max(i - 1, 0)], xf[min(i + 1, h - 1)], xf[min(i + 2, h - 1)]
        r2, t = xf[i], tf[i]
        for q in range(w * 3):
            t[q] = k0 * r0[q] + k1 * r1[q] + k2 * r2[q] + k3 * r3[q] + k4 * r4[q]
    for i in range(h):
        t, o = tf[i], xf[i]
        for q in range(6, w * 3 - 6):  # columns 2 .. W - 3: no tap clamps
            o[q] = k0 * t[q - 6] + k1 * t[q - 3] + k2 * t[q] + k3 * t[q + 3] + k4 * t[q + 6]
        for j in range(w):
            if 2 <= j < w - 2:
                continue
            c0, c1, c3, c4 = max(j - 2, 0), max(j - 1, 0), min(j + 1, w - 1), min(j + 2, w - 1)
            for c in range(3):
                o[3 * j + c] = (
                    k0 * t[3 * c0 + c] + k1 * t[3 * c1 + c] + k2 * t[3 * j + c] + k3 * t[3 * c3 + c]
                    + k4 * t[3 * c4 + c]
                )  # fmt: skip


@njit(cache=True, nogil=True)
def degrade(lo, hi, img, brightness, contrast, saturation, sigma, gauss, salt, seeds, out, out_u8, quantize):
    """Colour jitter, 5-tap Gaussian blur, Gaussian and salt-and-pepper noise, clamp, of images [lo, hi)
    (one call per thread, `threads.parallel`) of img (B, H, W, 3) float32
    in [0, 1]: into out (B, H, W, 3) float32, and with `quantize` also into out_u8 (B, H, W, 3) uint8 as
    `frame.quantize` does ((x * 255 + 0.5) clipped, truncated).

    Noise: one splitmix64 hash of (the image's seed, the pixel index) per pixel; its bits 0-35 pick the three
    channels' normals from `NORMAL` (12 bits each) and bits 40-63 a uniform in [0, 1) for salt (below salt / 2
    black, below salt white)."""
    h, w = img.shape[1], img.shape[2]
    table = NORMAL
    mask = np.uint64((1 << NORMAL_BITS) - 1)
    x = np.empty((h, w, 3), dtype=np.float32)
    tmp = np.empty_like(x)
    uni = np.empty(w, dtype=np.float32)  # a row's uniforms
    pick = np.empty((3, w), dtype=np.int64)  # a row's three normals' entries in `table`
    for b in range(lo, hi):
        _jitter(img[b], np.float32(brightness[b]), np.float32(contrast[b]), np.float32(saturation[b]), x)
        if sigma[b] > 0:
            _blur(x, tmp, sigma[b])
        s, g, sp = np.uint64(seeds[b]), np.float32(gauss[b]), np.float32(salt[b])
        for i in range(h):
            # A row in passes (the hashes and the salt as vector code, the table's reads alone scalar: numba's
            # compiler makes no gathers): the same values as one pixel at a time.
            _hash_row(s, i, w, mask, uni, pick)
            xi = x[i]
            if g > 0:
                for jj in range(w):
                    xi[jj, 0] += g * table[pick[0, jj]]
                    xi[jj, 1] += g * table[pick[1, jj]]
                    xi[jj, 2] += g * table[pick[2, jj]]
            if quantize:
                _salt_row(xi, uni, sp, out[b, i], out_u8[b, i])
            else:
                _salt_row(xi, uni, sp, out[b, i], out_u8[0, 0, :0])  # not quantized: an empty row


@njit(cache=True, error_model="numpy", **INTERNAL)
def _hash_row(s, i, w, mask, uni, pick):
    """Row i's per-pixel hashes (`degrade`): uni (W,) the uniforms (bits 40-63), pick (3, W) the three channels'
    entries of `NORMAL` (bits 0-35, 12 each)."""
    for jj in range(w):
        hsh = _mix(s + np.uint64(i * w + jj + 1) * _GOLDEN)
        uni[jj] = np.float32(hsh >> np.uint64(40)) * _U24
        pick[0, jj] = hsh & mask
        pick[1, jj] = (hsh >> np.uint64(NORMAL_BITS)) & mask
        pick[2, jj] = (hsh >> np.uint64(2 * NORMAL_BITS)) & mask


@njit(cache=True, error_model="numpy", **INTERNAL)
def _salt_row(xi, uni, sp, out, out_u8):
    """out (W, 3) = a row xi (W, 3) with salt and pepper (uniform below sp / 2: black, below sp: white) clamped to
    [0, 1]; and, unless out_u8 is empty, quantized into out_u8 (W, 3) uint8 as `frame.quantize`."""
    half = sp / np.float32(2.0)
    zero, one = np.float32(0.0), np.float32(1.0)
    for jj in range(xi.shape[0]):  # the channels written out: a loop over them would keep this one scalar
        u = uni[jj]
        r = zero if u < half else (one if u < sp else xi[jj, 0])
        g = zero if u < half else (one if u < sp else xi[jj, 1])
        b = zero if u < half else (one if u < sp else xi[jj, 2])
        out[jj, 0], out[jj, 1], out[jj, 2] = min(max(r, zero), one), min(max(g, zero), one), min(max(b, zero), one)
    if out_u8.shape[0] > 0:
        _quantize_flat(out.reshape(out.size), out_u8.reshape(out_u8.size))


@njit(cache=True, nogil=True)
def quantize(lo, hi, x, out):
    """out (B, H, W, C) uint8 = `frame.quantize` of x (B, H, W, C) float32 for images [lo, hi): (x * 255 + 0.5)
    clipped to [0, 255] and truncated, the same float32 arithmetic as the torch formula."""
    for b in range(lo, hi):
        _quantize_flat(x[b].reshape(x[b].size), out[b].reshape(out[b].size))


@njit(cache=True, error_model="numpy", **INTERNAL)
def _quantize_flat(x, out):
    """out (N,) uint8 = `quantize` of x (N,) float32, one loop over the image's values (vector code)."""
    for q in range(x.shape[0]):
        v = x[q] * np.float32(255.0) + np.float32(0.5)
        out[q] = np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)))


cache.leave()
