"""COCO RLE strings against pycocotools' own encoder."""

import numpy as np
import pytest

from domrand.io import rle

mask_utils = pytest.importorskip("pycocotools.mask")


@pytest.mark.parametrize("seed", range(10))
def test_rle_matches_pycocotools(seed):
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 70, size=2)
    m = rng.random((h, w)) < rng.random()
    if seed == 0:
        m[:] = False
    if seed == 1:
        m[:] = True
    ours = rle.encode(m)
    ref = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
    assert ours["counts"] == ref["counts"].decode() and ours["size"] == list(ref["size"])
    assert np.array_equal(mask_utils.decode({"size": ours["size"], "counts": ours["counts"].encode()}).astype(bool), m)
