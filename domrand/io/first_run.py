"""The interchange formats' kernels, compiled on a machine's first run by the warm-up child (`generate.warm`):
the PNG encoders, COCO's RLE and BOP's visibility pass, each called once on a small image. No torch."""

from __future__ import annotations

import numpy as np


def compile_formats() -> None:
    """Compile the kernels that formats other than native run."""
    from domrand.io.bop_gt import gt_info
    from domrand.io.images import encode_png_depth, encode_png_masks, encode_png_rgb
    from domrand.io.rle import encode_instance

    encode_png_rgb(np.zeros((1, 2, 2, 3), np.uint8))
    encode_png_masks(np.zeros((1, 2, 2), np.uint8))
    encode_png_depth(np.zeros((1, 2, 2), np.uint16))
    encode_instance(np.zeros((2, 2), np.int16), 0, (0.0, 0.0, 2.0, 2.0))
    gt_info(np.ones((2, 2)), np.ones((6, 6), np.float32), (4, 2, 3, 2, 3), np.eye(3))
