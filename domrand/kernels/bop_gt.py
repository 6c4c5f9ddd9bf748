"""Compiled BOP visibility ground truth: the toolkit's per-pixel arithmetic of `io.bop_gt.gt_info` for one object.

The BOP toolkit's `depth_im_to_dist_im_fast` and `estimate_visib_mask_gt` (mode "bop19"; re-implemented from
https://github.com/thodan/bop_toolkit, MIT licence, Copyright (c) 2019 Tomas Hodan) in the same float64 and
float32 operations in the same order as the toolkit's numpy, fused into one pass over the model's box: no
per-object numpy calls (about 0.2 ms of Python an image). tests/io/test_bop_toolkit.py reads the written files
with the toolkit's own definitions; tests/io/test_bop_visibility.py holds this kernel to them pixel for pixel.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from domrand.kernels import cache

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)


@njit(cache=True, nogil=True)
def visibility(depth_mm, model, r0, r1, c0, c1, fx, fy, cx, cy, delta, mask, visib, out):
    """The masks and counts of one object within image rows r0..r1, columns c0..c1 (inclusive).

    Args:
        depth_mm: (H, W) float64 the scene's depth (mm, 0: no value), as the toolkit reads the depth PNG back.
        model: (H, W) float32 the model's depth alone (mm, 0: not covered), the image's part of its canvas.
        fx, fy, cx, cy: float64 intrinsics. delta: float the visibility tolerance (mm).
        mask, visib: (H, W) bool out: the silhouette (model distance > 0) and the visibility mask (model distance
            at most `delta` behind the scene's, or the scene has none), set within the box (left alone outside).
        out: (6,) int64 out: silhouette pixels with a scene depth (px_count_valid), visibility-mask pixels
            (px_count_visib), and the visibility mask's box x0, y0, x1, y1 (inclusive; -1 when empty).
    """
    valid, count = 0, 0
    bx0, by0, bx1, by1 = -1, -1, -1, -1
    for y in range(r0, r1 + 1):
        ys = (np.float64(y) - cy) / fy
        for x in range(c0, c1 + 1):
            xs = (np.float64(x) - cx) / fx
            dm = np.float64(model[y, x])
            a, b = xs * dm, ys * dm
            dist_gt = math.sqrt(a * a + b * b + dm * dm)
            di = depth_mm[y, x]
            a, b = xs * di, ys * di
            dist_im = math.sqrt(a * a + b * b + di * di)
            inside = dist_gt > 0
            mask[y, x] = inside
            seen = inside and (np.float32(dist_gt) - np.float32(dist_im) <= delta or dist_im == 0)
            visib[y, x] = seen
            if inside and dist_im > 0:
                valid += 1
            if seen:
                count += 1
                if bx0 < 0:
                    bx0, by0, bx1, by1 = x, y, x, y
                else:
                    bx0, bx1, by1 = min(bx0, x), max(bx1, x), y
    out[0], out[1], out[2], out[3], out[4], out[5] = valid, count, bx0, by0, bx1, by1


cache.leave()
