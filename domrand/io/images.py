"""Image encoding for the interchange formats: RGB and masks through compiled encoders (`kernels.png`), depth
through OpenCV; the native format stores raw arrays and never encodes."""

from __future__ import annotations

import struct
import zlib
from typing import Any

import cv2
import numpy as np

# Measured on the tabletop's 128 px images (2-core CPU). Colour: every row filtered with Sub, then Huffman coding
# alone (noisy renders have few repeats for LZ77 to find): 0.25 ms an image in the compiled encoder against 0.70 ms
# for OpenCV/zlib with the same filter and strategy (1.42 ms with zlib's defaults), 30.5 KB either way. Masks:
# runs at distance 1 and Huffman coding in the same compiled pass, what OpenCV/zlib's RLE strategy at level 1 does
# (0.024 ms, 0.2 KB either way), a chunk's masks in one call without the GIL. Depth (uint16): OpenCV/zlib at level
# 1 with the Sub filter (0.19 ms, 4.6 KB; runs alone made 7.8 KB). The same pixels always give the same bytes.
PNG_COMPRESSION = 1
_SUB = [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB] if hasattr(cv2, "IMWRITE_PNG_FILTER") else []
PNG_DEPTH = [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION, *_SUB]


def encode_png(image: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB (`encode_png_rgb`), (H, W) uint8 (`encode_png_masks`) or (H, W) uint16 (OpenCV: zlib
    level 1, Sub filter) -> PNG bytes."""
    if image.ndim == 3 and image.shape[2] == 3 and image.dtype == np.uint8:
        return encode_png_rgb(image[None])[0]
    if image.ndim == 2 and image.dtype == np.uint8:
        return encode_png_masks(image[None])[0]
    if image.ndim != 2 or image.dtype != np.uint16:
        raise ValueError(
            f"cannot encode an image of shape {image.shape} and dtype {image.dtype} as PNG: give (H, W, 3) uint8 RGB"
            " or (H, W) uint8 / uint16"
        )
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(image), PNG_DEPTH)
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


def encode_png_rgb(images: np.ndarray) -> list[bytes]:
    """(n, H, W, 3) uint8 RGB -> n PNG files' bytes, encoded by the compiled kernel (`kernels.png`) on the kernel
    threads: the same pixels as `encode_png` gives, in about a fifth of the time. The same pixels always give the
    same bytes."""
    from domrand.kernels.png import deflate_rgb

    images = np.ascontiguousarray(images, dtype=np.uint8)
    if images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(f"encode_png_rgb takes (n, H, W, 3) uint8 images, got shape {images.shape}")
    return _encode(deflate_rgb, images, channels=3, colour_type=2)


def encode_png_masks(masks: np.ndarray) -> list[bytes]:
    """(n, H, W) uint8 masks -> n 8-bit greyscale PNG files' bytes, encoded by the compiled kernel on the kernel
    threads (rows unfiltered, runs of equal bytes as matches). The same pixels always give the same bytes.

    Example:
        >>> import cv2, numpy as np
        >>> m = np.zeros((2, 4, 6), np.uint8); m[1, 1:3, 2:5] = 255
        >>> png = encode_png_masks(m)[1]
        >>> bool((cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED) == m[1]).all())
        True
    """
    from domrand.kernels.png import deflate_masks

    if masks.ndim != 3 or masks.dtype != np.uint8:
        raise ValueError(f"encode_png_masks takes (n, H, W) uint8 masks, got shape {masks.shape} {masks.dtype}")
    return _encode(deflate_masks, np.ascontiguousarray(masks), channels=1, colour_type=0)


def _encode(kernel: Any, images: np.ndarray, channels: int, colour_type: int) -> list[bytes]:
    """PNG files of the 8-bit images (n, H, W[, channels]) from compiled `kernel`'s zlib streams (run on the kernel
    threads), with the IHDR of `colour_type` (2: RGB, 0: greyscale)."""
    from domrand.kernels.png import capacity
    from domrand.kernels.threads import parallel

    n, h, w = images.shape[:3]
    streams = np.empty((n, capacity(h, w, channels)), np.uint8)
    sizes = np.empty(n, np.int64)
    if n:
        parallel(kernel, n, images, streams, sizes)
    header = _PNG_SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, colour_type, 0, 0, 0))
    return [header + _chunk(b"IDAT", streams[i, : sizes[i]].tobytes()) + _IEND for i in range(n)]


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


_IEND = _chunk(b"IEND", b"")
