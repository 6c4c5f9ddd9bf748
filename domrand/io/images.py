"""Image encoding for the interchange formats (PNG through OpenCV, which is several times faster
than Pillow); the native format stores raw arrays and never encodes."""

from __future__ import annotations

import cv2
import numpy as np

PNG_COMPRESSION = 1  # zlib level: fast, and deterministic for the same pixels
# Measured on the tabletop's 128 px images (2-core CPU): every row filtered with Sub, then for colour Huffman
# coding alone (noisy renders have few repeats for LZ77 to find): 0.52 ms and 30 KB an image against 1.42 ms and
# 32 KB with zlib's default strategy and adaptive filters; depth and masks keep LZ77 (long flat runs): 0.17 and
# 0.05 ms. The same pixels always give the same bytes.
# (OpenCV before 4.10 has no choice of filter: its adaptive filters then, the same bytes for the same pixels.)
_SUB = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB] if hasattr(cv2, "IMWRITE_PNG_FILTER") else []
PNG_COLOUR = [
    cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_HUFFMAN_ONLY, *_SUB,
]  # fmt: skip
PNG_FLAT = [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION, *_SUB]


def encode_png(image: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB, (H, W) uint8 or (H, W) uint16 -> PNG bytes."""
    arr = image[..., ::-1] if image.ndim == 3 else image  # OpenCV writes BGR
    params = PNG_COLOUR if image.ndim == 3 else PNG_FLAT
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(arr), params)
    if not ok:
        raise ValueError(f"could not encode an image of shape {image.shape} and dtype {image.dtype} as PNG")
    return buf.tobytes()


def read_image(path: str) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a PNG or JPEG file; one ValueError naming a missing or bad file."""
    data = np.fromfile(path, dtype=np.uint8) if _exists(path) else None
    if data is None:
        raise ValueError(f"image {path!r} does not exist")
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"image {path!r} is not a readable PNG or JPEG")
    return img[..., ::-1].copy()


def read_png_any(path: str) -> np.ndarray:
    """A PNG as stored (uint8 or uint16, any channels), RGB order for colour."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"image {path!r} does not exist or is not readable")
    return img[..., ::-1].copy() if img.ndim == 3 else img


def _exists(path: str) -> bool:
    import os

    return os.path.isfile(path)
