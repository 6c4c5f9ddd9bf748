"""`kernels.silhouettes.covered`: a depth canvas's drawn pixels and their box, against numpy."""

from __future__ import annotations

import numpy as np
import pytest

from domrand.kernels.silhouettes import covered


def numpy_covered(depth: np.ndarray) -> tuple[int, int, int, int, int]:
    drawn = depth > 0
    if not drawn.any():
        return 0, 0, -1, 0, -1
    ys, xs = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    return int(drawn.sum()), int(ys[0]), int(ys[-1]), int(xs[0]), int(xs[-1])


@pytest.mark.parametrize("seed", range(10))
def test_covered_matches_numpy_on_blobs(seed: int) -> None:
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 200, 2))
    depth = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(0, 4))):  # a few rectangles, possibly none: the empty canvas too
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        depth[y0 : y0 + int(rng.integers(1, 30)), x0 : x0 + int(rng.integers(1, 30))] = rng.uniform(100, 900)
    assert covered(depth) == numpy_covered(depth)


def test_covered_of_single_pixels_in_the_corners() -> None:
    depth = np.zeros((384, 384), np.float32)
    depth[383, 0] = depth[0, 383] = 5.0
    assert covered(depth) == (2, 0, 383, 0, 383)
    assert covered(np.zeros((3, 3), np.float32)) == (0, 0, -1, 0, -1)
