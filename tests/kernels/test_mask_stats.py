"""`kernels.silhouettes.mask_stats` (each slot's pixel count and tight box, a run of one slot at a time) against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from domrand.kernels.silhouettes import mask_stats


def numpy_stats(instance: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    b_n = instance.shape[0]
    bbox, pixels = np.full((b_n, k, 4), -1, np.int64), np.zeros((b_n, k), np.int64)
    for b in range(b_n):
        for s in range(k):
            ys, xs = np.nonzero(instance[b] == s)
            pixels[b, s] = len(ys)
            if len(ys):
                bbox[b, s] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    return bbox, pixels


@pytest.mark.parametrize("seed", range(16))
def test_mask_stats_match_numpy_on_noisy_and_blocky_masks(seed: int) -> None:
    rng = np.random.default_rng(seed)
    b_n, h, w, k = 3, int(rng.integers(1, 48)), int(rng.integers(1, 48)), int(rng.integers(1, 9))
    if seed % 2:  # every pixel its own run, ids out of range too (background -1, slots past k)
        instance = rng.integers(-2, k + 2, (b_n, h, w))
    else:  # flat regions, the runs a render's mask is made of
        cells = rng.integers(-1, k + 1, (b_n, h // 4 + 1, w // 3 + 1))
        instance = np.repeat(np.repeat(cells, 4, 1), 3, 2)[:, :h, :w]
    instance = np.ascontiguousarray(instance, dtype=np.int32)
    bbox, pixels = np.zeros((b_n, k, 4), np.int64), np.zeros((b_n, k), np.int64)
    mask_stats(0, b_n, instance, k, bbox, pixels)
    want_bbox, want_pixels = numpy_stats(instance, k)
    np.testing.assert_array_equal(pixels, want_pixels)
    np.testing.assert_array_equal(bbox, want_bbox)
