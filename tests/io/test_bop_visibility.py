"""The compiled BOP visibility pass against the toolkit's own numpy arithmetic, pixel for pixel."""

from __future__ import annotations

import numpy as np
from test_bop_toolkit import DELTA, calc_2d_bbox, depth_im_to_dist_im, estimate_visib_mask_gt

from domrand.kernels.bop_gt import visibility


def test_visibility_matches_the_toolkit_pixel_for_pixel():
    rng = np.random.default_rng(0)
    h, w = 48, 64
    k = np.array([[71.3, 0.0, 30.2], [0.0, 69.8, 25.7], [0.0, 0.0, 1.0]])
    checked = 0
    for trial in range(40):
        scene = np.round(rng.uniform(300, 900, (h, w)) / 0.1) * 0.1  # the depth PNG's 0.1 mm steps, read back
        scene[rng.random((h, w)) < 0.1] = 0  # no reading
        model = np.zeros((h, w), np.float32)
        y0, x0 = rng.integers(0, h - 8), rng.integers(0, w - 8)
        y1, x1 = y0 + rng.integers(3, 20), x0 + rng.integers(3, 24)
        near = scene[y0:y1, x0:x1]
        # the model in front of the scene, behind it by less and by more than the tolerance, and exactly at it
        offset = rng.choice([-40.0, -DELTA, 0.0, 7.5, DELTA, 15.0001, 60.0], near.shape)
        model[y0:y1, x0:x1] = np.where(near > 0, near + offset, rng.uniform(300, 900, near.shape)).astype(np.float32)
        model[y0:y1, x0:x1][rng.random(near.shape) < 0.2] = 0  # holes in the silhouette
        mask, visib, out = np.zeros((h, w), bool), np.zeros((h, w), bool), np.zeros(6, np.int64)
        visibility(scene, model, 0, h - 1, 0, w - 1, k[0, 0], k[1, 1], k[0, 2], k[1, 2], DELTA, mask, visib, out)
        d_model, d_test = depth_im_to_dist_im(model, k), depth_im_to_dist_im(scene, k)
        expected = estimate_visib_mask_gt(d_test, d_model, DELTA)
        assert np.array_equal(visib, expected), trial
        assert np.array_equal(mask, d_model > 0), trial
        assert out[0] == int(((d_test > 0) & (d_model > 0)).sum()) and out[1] == int(expected.sum())
        if expected.any():
            ys, xs = np.nonzero(expected)
            bx, by, bw, bh = calc_2d_bbox(xs, ys)
            assert list(out[2:]) == [bx, by, bx + bw, by + bh]
            checked += int(expected.sum())
    assert checked > 1000


def test_visibility_tolerance_is_inclusive_to_the_last_bit():
    """At the principal point a distance is the depth itself: a model exactly `DELTA` behind the scene is visible
    (the toolkit's d_diff <= delta), one float32 step further it is not."""
    k = np.array([[60.0, 0.0, 5.0], [0.0, 60.0, 4.0], [0.0, 0.0, 1.0]])
    scene = np.full((8, 10), 500.0)
    for behind, seen in ((DELTA, True), (float(np.nextafter(np.float32(500 + DELTA), np.float32(1e9))) - 500, False)):
        model = np.zeros((8, 10), np.float32)
        model[4, 5] = np.float32(500 + behind)
        mask, visib, out = np.zeros((8, 10), bool), np.zeros((8, 10), bool), np.zeros(6, np.int64)
        visibility(scene, model, 0, 7, 0, 9, k[0, 0], k[1, 1], k[0, 2], k[1, 2], DELTA, mask, visib, out)
        expected = estimate_visib_mask_gt(depth_im_to_dist_im(scene, k), depth_im_to_dist_im(model, k), DELTA)
        assert bool(visib[4, 5]) is seen and bool(expected[4, 5]) is seen and mask[4, 5]
