"""The compiled PNG encoder against independent decoders (zlib, OpenCV, Pillow) and a reference Huffman code."""

from __future__ import annotations

import heapq
import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from domrand.io.images import encode_png, encode_png_depth, encode_png_masks, encode_png_rgb
from domrand.kernels.png import code_lengths


def sub_residuals_image(residuals: np.ndarray, height: int, width: int) -> np.ndarray:
    """The (height, width, 3) image whose Sub-filtered rows are `residuals` (row-major, 3 * width a row)."""
    r = residuals.reshape(height, width, 3).astype(np.int64)
    return (np.cumsum(r, axis=1) % 256).astype(np.uint8)


def png_parts(png: bytes) -> dict[bytes, bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    parts, pos = {}, 8
    while pos < len(png):
        (n,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + n]
        assert struct.unpack(">I", png[pos + 8 + n : pos + 12 + n])[0] == zlib.crc32(kind + data)
        parts[kind] = data
        pos += 12 + n
    return parts


def decoded(png: bytes) -> list[np.ndarray]:
    """The image as OpenCV and Pillow read it, and as zlib inflates and un-filters it."""
    parts = png_parts(png)
    w, h = struct.unpack(">II", parts[b"IHDR"][:8])
    rows = np.frombuffer(zlib.decompress(parts[b"IDAT"]), np.uint8).reshape(h, 3 * w + 1)
    assert (rows[:, 0] == 1).all()  # every row Sub-filtered
    by_zlib = sub_residuals_image(rows[:, 1:], h, w)
    by_cv2 = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)[..., ::-1]
    by_pil = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return [by_zlib, by_cv2, by_pil]


IMAGES = {
    "noise": lambda rng: rng.integers(0, 256, (128, 128, 3), dtype=np.uint8),
    "one_pixel": lambda rng: rng.integers(0, 256, (1, 1, 3), dtype=np.uint8),
    "flat": lambda rng: np.full((37, 53, 3), 200, np.uint8),
    "gradient": lambda rng: np.broadcast_to(np.arange(256, dtype=np.uint8)[None, :, None], (3, 256, 3)).copy(),
    "wide": lambda rng: rng.integers(0, 256, (480, 640, 3), dtype=np.uint8),
}


@pytest.mark.parametrize("name", list(IMAGES))
def test_png_encoder_round_trips_through_zlib_opencv_and_pillow(name: str) -> None:
    image = IMAGES[name](np.random.default_rng(0))
    png = encode_png(image)
    for got in decoded(png):
        np.testing.assert_array_equal(got, image)
    assert png == encode_png_rgb(image[None])[0]  # one image or a batch: the same bytes


def test_png_encoder_is_as_small_as_zlib_huffman_only() -> None:
    """Sizes within 1 % of zlib's Huffman-only stream of the same filtered rows on a render-like image."""
    rng = np.random.default_rng(1)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8), (0, 0), 3)
    image = np.clip(smooth.astype(int) + rng.integers(-6, 7, smooth.shape), 0, 255).astype(np.uint8)
    rows = np.concatenate(
        [np.ones((128, 1), np.uint8), (np.diff(image.astype(int), axis=1, prepend=0).reshape(128, -1) % 256)],
        axis=1,
    ).astype(np.uint8)
    c = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_HUFFMAN_ONLY)
    reference = len(c.compress(rows.tobytes()) + c.flush())
    ours = len(png_parts(encode_png(image))[b"IDAT"])
    assert ours <= 1.01 * reference, (ours, reference)


def test_png_encoder_limits_codes_to_15_bits_on_skewed_histograms() -> None:
    """Residual counts that grow like Fibonacci numbers make a Huffman code 25 bits deep; DEFLATE allows 15."""
    fib = [1, 1]
    while len(fib) < 26:
        fib.append(fib[-1] + fib[-2])
    residuals = np.concatenate([np.full(c, v, np.uint8) for v, c in enumerate(fib)])
    width = 200
    height = -(-len(residuals) // (3 * width))
    residuals = np.concatenate([residuals, np.zeros(height * 3 * width - len(residuals), np.uint8)])
    image = sub_residuals_image(residuals, height, width)
    for got in decoded(encode_png(image)):
        np.testing.assert_array_equal(got, image)


def reference_huffman_cost(freq: np.ndarray) -> int:
    """Total bits of an optimal (unlimited) Huffman code, by the textbook heap construction."""
    heap = [int(f) for f in freq if f > 0]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        cost += a + b
        heapq.heappush(heap, a + b)
    return cost


@pytest.mark.parametrize("seed", range(20))
def test_code_lengths_are_optimal_complete_and_limited(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 300))
    freq = (rng.pareto(1.0, n) * 10).astype(np.int64) * (rng.random(n) < 0.8)
    freq[rng.integers(n)] += 1
    freq[(rng.integers(n) + 1) % n] += 1
    lengths = np.empty(n, np.int64)
    code_lengths(freq, 15, lengths)
    used = freq > 0
    assert ((lengths > 0) == used).all() and lengths.max() <= 15
    assert sum(2.0 ** -int(ln) for ln in lengths[used]) == 1.0  # complete: decoders refuse anything else
    if lengths.max() < 15:  # the limit did not bind: the code is optimal
        assert int((freq * lengths).sum()) == reference_huffman_cost(freq)


def test_code_lengths_of_one_symbol_make_a_complete_code() -> None:
    lengths = np.empty(19, np.int64)
    code_lengths(np.array([0] * 8 + [5] + [0] * 10, np.int64), 7, lengths)
    assert lengths[8] == 1 and lengths[9] == 1 and lengths.sum() == 2


def decoded_mask(png: bytes) -> list[np.ndarray]:
    """The 8-bit greyscale mask as zlib inflates it (rows unfiltered), OpenCV and Pillow read it."""
    parts = png_parts(png)
    w, h = struct.unpack(">II", parts[b"IHDR"][:8])
    assert parts[b"IHDR"][8:10] == b"\x08\x00"  # 8 bits, greyscale
    rows = np.frombuffer(zlib.decompress(parts[b"IDAT"]), np.uint8).reshape(h, w + 1)
    assert (rows[:, 0] == 0).all()  # filter None
    by_cv2 = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    return [rows[:, 1:], by_cv2, np.asarray(Image.open(io.BytesIO(png)))]


MASKS = {
    "box": lambda rng: np.pad(np.full((30, 40), 255, np.uint8), ((50, 48), (20, 68))),
    "empty": lambda rng: np.zeros((64, 64), np.uint8),
    "ids": lambda rng: np.repeat(rng.integers(0, 12, (96, 32), dtype=np.uint8), 4, axis=1),  # runs of 4
    "noise": lambda rng: rng.integers(0, 256, (33, 47), dtype=np.uint8),  # no runs at all
    "one_pixel": lambda rng: np.full((1, 1), 255, np.uint8),
    "long_runs": lambda rng: np.pad(np.full((100, 890), 255, np.uint8), ((100, 100), (10, 100))),  # runs > 258
}


@pytest.mark.parametrize("name", list(MASKS))
def test_mask_encoder_round_trips_through_zlib_opencv_and_pillow(name: str) -> None:
    assert_round_trip(MASKS[name](np.random.default_rng(0)), decoded_mask, encode_png_masks, 255)


def assert_round_trip(image: np.ndarray, decode, encode_batch, full: int) -> None:
    """`encode_png(image)` decodes to the image (every decoder of `decode`), and a batch of it, its complement
    (`full - image`) and it again gives the same bytes per image as encoding each alone."""
    png = encode_png(image)
    for got in decode(png):
        np.testing.assert_array_equal(got, image)
    batch = np.stack([image, full - image, image])
    assert encode_batch(batch) == [png, encode_png(full - image), png]


def test_mask_encoder_is_about_as_small_as_zlib_rle() -> None:
    """Within 25 % of zlib's RLE strategy (level 1, no filter) on a chunk's worth of silhouettes."""
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:128, :128]
    masks = []
    for _ in range(16):
        cy, cx, r = [*rng.integers(20, 108, 2).tolist(), int(rng.integers(4, 30))]
        masks.append((((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8) * 255)
    ours = sum(len(png_parts(p)[b"IDAT"]) for p in encode_png_masks(np.stack(masks)))
    ref = 0
    for m in masks:
        c = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
        ref += len(c.compress(np.pad(m, ((0, 0), (1, 0))).tobytes()) + c.flush())
    assert ours <= 1.25 * ref, (ours, ref)


def decoded_depth(png: bytes) -> list[np.ndarray]:
    """The 16-bit greyscale image as zlib inflates and un-filters it (Sub, two bytes back), OpenCV and Pillow
    read it."""
    parts = png_parts(png)
    w, h = struct.unpack(">II", parts[b"IHDR"][:8])
    assert parts[b"IHDR"][8:10] == b"\x10\x00"  # 16 bits, greyscale
    rows = np.frombuffer(zlib.decompress(parts[b"IDAT"]), np.uint8).reshape(h, 2 * w + 1)
    assert (rows[:, 0] == 1).all()  # every row Sub-filtered
    pairs = rows[:, 1:].reshape(h, w, 2).astype(np.int64)
    by_zlib = (np.cumsum(pairs, axis=1) % 256).astype(np.uint16)
    by_zlib = (by_zlib[..., 0] << 8) | by_zlib[..., 1]
    by_cv2 = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    by_pil = np.asarray(Image.open(io.BytesIO(png))).astype(np.uint16)
    return [by_zlib, by_cv2, by_pil]


def depth_like(rng: np.random.Generator, height: int = 128, width: int = 128, scale: float = 1.0) -> np.ndarray:
    """A tabletop's depth in millimetres (times `scale`): a tilted plane, boxes on it, a band of no surface."""
    yy, xx = np.mgrid[:height, :width]
    depth = 600.0 + 2.5 * yy + 0.3 * xx
    for _ in range(6):
        y, x = rng.integers(0, height - 20), rng.integers(0, width - 20)
        depth[y : y + int(rng.integers(5, 20)), x : x + int(rng.integers(5, 20))] -= rng.uniform(20, 80)
    depth[: height // 8] = 0
    return np.round(depth * scale).astype(np.uint16)


DEPTHS = {
    "tabletop": lambda rng: depth_like(rng),
    "tabletop_bop": lambda rng: depth_like(rng, scale=10.0),  # BOP's 0.1 mm
    "noise": lambda rng: rng.integers(0, 65536, (37, 45), dtype=np.uint16),  # nothing to match
    "zeros": lambda rng: np.zeros((64, 64), np.uint16),  # one long run: matches of 258
    "one_pixel": lambda rng: np.full((1, 1), 65535, np.uint16),
    "two_values": lambda rng: rng.choice(np.array([3, 9000], np.uint16), (40, 40)),  # short matches everywhere
    # a block of noise repeated 12k bytes later: matches from far back (distance codes with many extra bits)
    "far_repeat": lambda rng: np.tile(rng.integers(0, 65536, (48, 128), dtype=np.uint16), (2, 1)),
    "wide": lambda rng: depth_like(rng, 480, 640),
}


@pytest.mark.parametrize("name", list(DEPTHS))
def test_depth_encoder_round_trips_through_zlib_opencv_and_pillow(name: str) -> None:
    assert_round_trip(DEPTHS[name](np.random.default_rng(0)), decoded_depth, encode_png_depth, 65535)


@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_depth_encoder_is_about_as_small_as_zlib_level_1(scale: float) -> None:
    """Within 15 % of zlib's fastest level on the same Sub-filtered rows (what OpenCV wrote before), over
    several tabletop depths in millimetres and in BOP's 0.1 mm."""
    rng = np.random.default_rng(3)
    depths = np.stack([depth_like(rng, scale=scale) for _ in range(8)])
    ours = sum(len(png_parts(p)[b"IDAT"]) for p in encode_png_depth(depths))
    ref = 0
    for d in depths:
        be = d.astype(">u2").view(np.uint8).reshape(d.shape[0], -1).astype(np.int64)
        sub = np.concatenate([be[:, :2], be[:, 2:] - be[:, :-2]], axis=1) % 256
        rows = np.concatenate([np.ones((d.shape[0], 1), np.int64), sub], axis=1).astype(np.uint8)
        ref += len(zlib.compress(rows.tobytes(), 1))
    assert ours <= 1.15 * ref, (ours, ref)


def test_regression_rgb_and_mask_bytes_did_not_change_when_the_stream_writer_learnt_distances() -> None:
    """The depth encoder's LZ77 made `_write_zlib` send Huffman-coded distances; the RGB and mask streams must
    stay the bytes they were (datasets written before must not change): the digest of both encoders' output as
    the previous writer gave it."""
    import hashlib

    rng = np.random.default_rng(7)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8), (0, 0), 3)
    rgb = np.clip(smooth.astype(int) + rng.integers(-6, 7, smooth.shape), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:64, :96]
    mask = np.where((yy - 30) ** 2 + (xx - 40) ** 2 < 400, 3, 255).astype(np.uint8)
    mask[50:, 70:] = 7
    digest = hashlib.sha256(b"".join(encode_png_rgb(rgb[None]) + encode_png_masks(mask[None]))).hexdigest()
    assert digest == "0dc16300eb52e8069226a328d2ddc84532af644c5df103cb6bc6947c9f01e4c6"


def test_depth_encoder_refuses_other_arrays() -> None:
    with pytest.raises(ValueError, match="uint16"):
        encode_png_depth(np.zeros((1, 4, 4), np.uint8))
