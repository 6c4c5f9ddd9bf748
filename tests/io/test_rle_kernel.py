"""The compiled COCO RLE of an object in an instance image against `io.rle.encode` and pycocotools."""

from __future__ import annotations

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from domrand.io import rle


def instances(seed: int) -> np.ndarray:
    """(H, W) int16 slots: blobs, pixels touching every edge, a slot that covers a whole column, -1 elsewhere."""
    rng = np.random.default_rng(seed)
    h, w = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    inst = np.full((h, w), -1, np.int16)
    for slot in range(4):
        y0, x0 = int(rng.integers(0, h)), int(rng.integers(0, w))
        y1, x1 = int(rng.integers(y0, h)) + 1, int(rng.integers(x0, w)) + 1
        inst[y0:y1, x0:x1] = np.where(rng.random((y1 - y0, x1 - x0)) < 0.7, slot, inst[y0:y1, x0:x1])
    inst[:, int(rng.integers(0, w))] = 2
    return inst


def box(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)


@pytest.mark.parametrize("seed", range(25))
def test_compiled_rle_equals_the_reference_and_decodes_in_pycocotools(seed: int) -> None:
    inst = instances(seed)
    for slot in np.unique(inst[inst >= 0]):
        mask = inst == slot
        got = rle.encode_instance(inst, int(slot), box(mask))
        assert got == rle.encode(mask)
        decoded = mask_utils.decode({"size": got["size"], "counts": got["counts"].encode()})
        np.testing.assert_array_equal(decoded.astype(bool), mask)


def test_compiled_rle_of_a_mask_filling_the_image() -> None:
    inst = np.zeros((5, 7), np.int16)
    assert rle.encode_instance(inst, 0, (0.0, 0.0, 7.0, 5.0)) == rle.encode(inst == 0)
