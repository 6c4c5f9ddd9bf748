"""Compiled per-image post-processing for `ImageNoise`: colour jitter, blur and noise in one pass.

Noise comes from a counter-based generator (splitmix64 of the image's seed and the sample index), so
an image's noise depends only on its own seed: batch size, order and thread count change nothing.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def _mix(x):
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


@njit(cache=True, inline="always")
def uniform(seed, counter):
    """A float64 in [0, 1) from (seed, counter): splitmix64."""
    return float(_mix(np.uint64(seed) + (np.uint64(counter) + np.uint64(1)) * _GOLDEN) >> np.uint64(11)) * _TO_UNIT


@njit(cache=True, parallel=True)
def degrade(img, brightness, contrast, saturation, sigma, gauss, salt, seeds, out):
    """out (B, H, W, 3) float32 from img (B, H, W, 3): jitter, 5-tap Gaussian blur, noise, clamp."""
    b_n, h, w, _ = img.shape
    for b in prange(b_n):
        x = img[b] * np.float32(brightness[b])
        mean = x.mean()
        x = (x - mean) * np.float32(contrast[b]) + mean
        grey = x[:, :, 0] * np.float32(0.299) + x[:, :, 1] * np.float32(0.587) + x[:, :, 2] * np.float32(0.114)
        for c in range(3):
            x[:, :, c] = grey + (x[:, :, c] - grey) * np.float32(saturation[b])
        if sigma[b] > 0:
            k = np.empty(5, dtype=np.float32)
            for j in range(5):
                k[j] = math.exp(-0.5 * ((j - 2) / max(sigma[b], 1e-3)) ** 2)
            k /= k.sum()
            tmp = np.empty_like(x)
            for i in range(h):
                for jj in range(w):
                    for c in range(3):
                        acc = np.float32(0.0)
                        for t in range(5):
                            acc += k[t] * x[min(max(i + t - 2, 0), h - 1), jj, c]
                        tmp[i, jj, c] = acc
            for i in range(h):
                for jj in range(w):
                    for c in range(3):
                        acc = np.float32(0.0)
                        for t in range(5):
                            acc += k[t] * tmp[i, min(max(jj + t - 2, 0), w - 1), c]
                        x[i, jj, c] = acc
        s, g, sp = seeds[b], np.float32(gauss[b]), salt[b]
        for i in range(h):
            for jj in range(w):
                n = (i * w + jj) * 5
                u = uniform(s, n)
                if g > 0:  # Box-Muller: two pairs of normals, three used
                    r1 = np.float32(math.sqrt(-2.0 * math.log(max(uniform(s, n + 1), 1e-300))))
                    t1 = np.float32(2.0 * math.pi * uniform(s, n + 2))
                    r2 = np.float32(math.sqrt(-2.0 * math.log(max(uniform(s, n + 3), 1e-300))))
                    t2 = np.float32(2.0 * math.pi * uniform(s, n + 4))
                    x[i, jj, 0] += g * r1 * np.float32(math.cos(t1))
                    x[i, jj, 1] += g * r1 * np.float32(math.sin(t1))
                    x[i, jj, 2] += g * r2 * np.float32(math.cos(t2))
                for c in range(3):
                    v = x[i, jj, c]
                    if u < sp / 2:
                        v = 0.0
                    elif u < sp:
                        v = 1.0
                    out[b, i, jj, c] = min(max(v, 0.0), 1.0)
