"""Compiled COCO run-length encoding of one object's mask in an instance image: the twin of `io.rle.encode`.

`instance_counts` finds the runs of `instance == id` in column-major order over the object's columns only
(outside them the mask is empty), and writes pycocotools' compressed counts string (`io.rle.counts_string`)
as ASCII bytes, without building the boolean mask or a Python list of runs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from domrand.kernels import cache

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)


@njit(cache=True, nogil=True)
def instance_counts(instance, oid, x0, x1, out):
    """pycocotools' counts string of the mask `instance == oid` (instance (H, W) int16) into out (uint8, at least
    7 * (H * (x1 - x0) + 2) bytes: at most 7 characters a count below 2**30); the mask is empty outside columns
    [x0, x1). Returns the string's length."""
    h, w = instance.shape
    runs = np.empty(h * (x1 - x0) + 2, np.int64)
    n = 0
    on = False
    start = 0
    for x in range(x0, x1):
        for y in range(h):
            v = instance[y, x] == oid
            if v != on:
                p = x * h + y
                runs[n] = p - start
                n += 1
                start = p
                on = v
    if on:  # the last column's run of the object ends where its columns do
        runs[n] = x1 * h - start
        n += 1
        start = x1 * h
    if start < h * w:
        runs[n] = h * w - start
        n += 1
    pos = 0
    for i in range(n):
        c = runs[i] - runs[i - 2] if i > 2 else runs[i]
        more = True
        while more:
            ch = c & 0x1F
            c >>= 5  # arithmetic shift: negative deltas end at -1
            more = (c != -1) if (ch & 0x10) else (c != 0)
            if more:
                ch |= 0x20
            out[pos] = ch + 48
            pos += 1
    return pos


cache.leave()
