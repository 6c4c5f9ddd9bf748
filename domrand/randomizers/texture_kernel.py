"""Compiled CPU texture synthesis for `TextureRandomizer`: the formulas of `domrand.generators.textures`,
one thread per texture, no per-texel allocation. The torch functions in `generators/` are the reference;
tests hold this kernel to them within one uint8 step."""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

MASK = 0xFFFFFFFF
FLAT, LINEAR, RADIAL, CHECKER, STRIPES, NOISE, BLEND, IMAGE = range(8)


@njit(cache=True, inline="always")
def _hash(seed, ix, iy):
    h = ((seed & MASK) * 0x27D4EB2D + (ix & MASK) * 0x165667B1 + (iy & MASK) * 0x61C88647) & MASK
    h = ((h ^ (h >> 15)) * 0x2C1B3C6D) & MASK
    h = ((h ^ (h >> 12)) * 0x297A2D39) & MASK
    h = h ^ (h >> 15)
    return np.float32(h & 0xFFFFFF) / np.float32(1 << 24)


@njit(cache=True)
def _value_noise(seed, cells, size, octaves, out):
    """out (S, S) float32: `generators.textures.value_noise` with persistence 0.5."""
    out[:] = 0
    amp, norm = np.float32(1.0), np.float32(0.0)
    for o in range(octaves):
        n = cells * (1 << o)
        s = seed * 1013 + o
        lat = np.empty((n, n), dtype=np.float32)
        for iy in range(n):
            for ix in range(n):
                lat[iy, ix] = _hash(s, ix, iy)
        # The lattice cell and smoothstep weight of a column (row) are the same for every row (column).
        i0 = np.empty(size, dtype=np.int64)
        i1 = np.empty(size, dtype=np.int64)
        f = np.empty(size, dtype=np.float32)
        nf = np.float32(n)
        for j in range(size):
            x = (np.float32(j) + np.float32(0.5)) / np.float32(size) * nf
            x0f = np.float32(math.floor(x))
            fx = x - x0f
            f[j] = fx * fx * (np.float32(3) - np.float32(2) * fx)
            i0[j] = int(x0f) % n
            i1[j] = (i0[j] + 1) % n
        for i in range(size):
            iy0, iy1, fy = i0[i], i1[i], f[i]
            for j in range(size):
                fx = f[j]
                top = lat[iy0, i0[j]] * (1 - fx) + lat[iy0, i1[j]] * fx
                bot = lat[iy1, i0[j]] * (1 - fx) + lat[iy1, i1[j]] * fx
                out[i, j] += amp * (top * (1 - fy) + bot * fy)
        norm += amp
        amp *= np.float32(0.5)
    out /= norm


@njit(cache=True, inline="always")
def _u8(x):
    return np.uint8(min(max(x * np.float32(255.0) + np.float32(0.5), np.float32(0.0)), np.float32(255.0)))


@njit(cache=True, parallel=True)
def synthesize(kind, c0, c1, c2, angle, cells, duty, seed, centre, radius, image, crop, tint, images, size, out):
    """out (N, S, S, 3) uint8 from N texture rows (see `TextureSpec`)."""
    n_img, ih, iw = images.shape[0], images.shape[1], images.shape[2]
    short = min(ih, iw)
    for t in prange(kind.shape[0]):
        k = kind[t]
        ca, sa = np.float32(math.cos(angle[t])), np.float32(math.sin(angle[t]))
        noise = np.zeros((size, size), dtype=np.float32)
        if k == NOISE:
            _value_noise(seed[t], int(cells[t]), size, 4, noise)
        elif k == BLEND:
            _value_noise(seed[t], 2, size, 3, noise)
        rs2 = np.float32(1.0 / math.sqrt(2.0))
        half = np.float32(0.5)
        for i in range(size):
            v = (np.float32(i) + half) / np.float32(size)
            for j in range(size):
                u = (np.float32(j) + half) / np.float32(size)
                ru = (u - half) * ca + (v - half) * sa
                if k == IMAGE:  # nearest texel of a square crop, tinted
                    side = crop[t, 2] * short
                    sx = min(max(math.floor(crop[t, 0] * short + u * side), 0), iw - 1)
                    sy = min(max(math.floor(crop[t, 1] * short + v * side), 0), ih - 1)
                    idx = min(max(image[t], 0), n_img - 1)
                    for c in range(3):
                        out[t, i, j, c] = _u8(
                            min(np.float32(images[idx, sy, sx, c]) / np.float32(255.0) * tint[t, c], np.float32(1.0))
                        )
                    continue
                # One mixing weight w between c0 and c1 per texel; blends add (g, m) below.
                if k == FLAT:
                    w = np.float32(0.0)
                elif k == LINEAR:
                    w = min(max(ru * rs2 + half, np.float32(0)), np.float32(1))
                elif k == RADIAL:
                    d = np.float32(math.sqrt((u - centre[t, 0]) ** 2 + (v - centre[t, 1]) ** 2))
                    w = min(max(d / radius[t], np.float32(0)), np.float32(1))
                elif k == CHECKER or k == BLEND:
                    rp = -(u - half) * sa + (v - half) * ca
                    w = np.float32((math.floor(ru * cells[t]) + math.floor(rp * cells[t])) % 2)
                elif k == STRIPES:
                    w = np.float32(1.0) if (ru * cells[t]) % np.float32(1.0) < duty[t] else np.float32(0.0)
                else:  # NOISE
                    w = min(max(noise[i, j], np.float32(0)), np.float32(1))
                if k == BLEND:  # the checker blended with a gradient from c2 to c1 at right angles, by noise
                    ru2 = (u - half) * -sa + (v - half) * ca
                    g = min(max(ru2 * rs2 + half, np.float32(0)), np.float32(1))
                    m = min(max(noise[i, j], np.float32(0)), np.float32(1))
                    for c in range(3):
                        val = c0[t, c] * (1 - w) + c1[t, c] * w
                        grad = c2[t, c] * (1 - g) + c1[t, c] * g
                        out[t, i, j, c] = _u8(val * (1 - m) + grad * m)
                else:
                    for c in range(3):
                        out[t, i, j, c] = _u8(c0[t, c] * (1 - w) + c1[t, c] * w)
