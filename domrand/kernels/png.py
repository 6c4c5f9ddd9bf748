"""Compiled PNG encoding of RGB images: every row Sub-filtered, then one DEFLATE block of Huffman-coded literals.

This is what the interchange formats asked zlib for (level 1, Huffman only, Sub filter: noisy renders have
few repeats for LZ77 to find), written as one compiled pass over a batch without the GIL: a histogram, a
length-limited Huffman code, the bit stream, Adler-32. zlib spends about 0.5 ms on a 128 x 128 image; this
pass about a fifth of that, and the files are as small (one block with one code for the whole image, against
zlib's block every 16k bytes). The stream is standard: zlib, libpng, Pillow and OpenCV read it (tested).

`deflate_rgb(lo, hi, images, out, sizes)` is a `kernels.threads.parallel` kernel; `io.images.encode_png_rgb`
wraps its output in the PNG chunks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from domrand.kernels import cache

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

#: The order in which DEFLATE sends the code-length code's lengths (RFC 1951, 3.2.7).
CLEN_ORDER = np.array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15], np.int64)
LITERALS = 257  # 0-255 and end-of-block; no length codes (no LZ77)


def capacity(height: int, width: int) -> int:
    """Bytes that always hold `deflate_rgb`'s stream of one (height, width, 3) image: 2 bytes of zlib header,
    at most 15 bits a filtered byte, a DEFLATE header of at most 2 + 19 * 3 / 8 + 259 * 7 / 8 < 300 bytes, 4 of
    Adler-32."""
    return 2 * height * (3 * width + 1) + 320


@njit(cache=True, nogil=True)
def code_lengths(freq, limit, lengths):
    """Huffman code lengths of the symbols with freq > 0 (0 for the others), none longer than `limit`.

    Ties go to the lower symbol, so the code depends on the frequencies only. Where the longest code would
    exceed `limit`, the frequencies are halved (rounding up, so no used symbol drops out) and the code built
    again. A single used symbol gets length 1, with the next symbol as a second one of length 1: decoders
    (zlib) refuse an incomplete code.

    Args:
        freq: (n,) int64 counts. limit: longest code in bits. lengths: (n,) int64, written.
    """
    n = freq.shape[0]
    f = freq.copy()
    lengths[:] = 0
    used = 0
    for s in range(n):
        if f[s] > 0:
            used += 1
    if used == 0:
        return
    if used == 1:
        for s in range(n):
            if f[s] > 0:
                lengths[s] = 1
                lengths[(s + 1) % n] = 1
        return
    weight = np.empty(2 * n, np.int64)
    parent = np.empty(2 * n, np.int64)
    depth = np.empty(2 * n, np.int64)
    while True:
        leaves = np.empty(used, np.int64)
        m = 0
        for s in range(n):
            if f[s] > 0:
                leaves[m] = s
                m += 1
        order = np.empty(m, np.int64)  # leaves by weight, ties by symbol (insertion sort: numba compiles np.sort
        for k in range(m):  # and np.argsort's stable kind seconds longer, and m <= 257)
            s = leaves[k]
            j = k
            while j > 0 and f[order[j - 1]] > f[s]:
                order[j] = order[j - 1]
                j -= 1
            order[j] = s
        for k in range(m):
            weight[k] = f[order[k]]
        # two queues: leaves [0, m) sorted by weight, internal nodes [m, 2m - 1) made in nondecreasing order
        li, ii, nxt = 0, m, m
        for _ in range(m - 1):
            pick = np.empty(2, np.int64)
            for t in range(2):
                if li < m and (ii >= nxt or weight[li] <= weight[ii]):
                    pick[t] = li
                    li += 1
                else:
                    pick[t] = ii
                    ii += 1
            weight[nxt] = weight[pick[0]] + weight[pick[1]]
            parent[pick[0]] = nxt
            parent[pick[1]] = nxt
            nxt += 1
        root = nxt - 1
        depth[root] = 0
        for node in range(root - 1, -1, -1):  # parents are made after their children
            depth[node] = depth[parent[node]] + 1
        longest = 0
        for k in range(m):
            lengths[order[k]] = depth[k]
            longest = max(longest, depth[k])
        if longest <= limit:
            return
        for s in range(n):
            if f[s] > 0:
                f[s] = (f[s] + 1) // 2


@njit(cache=True, nogil=True)
def _canonical(lengths, codes):
    """Canonical Huffman codes of `lengths` (RFC 1951, 3.2.2), bit-reversed: DEFLATE sends a code's first bit
    first into a stream filled from the least significant bit."""
    count = np.zeros(16, np.int64)
    for s in range(lengths.shape[0]):
        count[lengths[s]] += 1
    count[0] = 0
    nxt = np.zeros(16, np.int64)
    code = 0
    for b in range(1, 16):
        code = (code + count[b - 1]) << 1
        nxt[b] = code
    for s in range(lengths.shape[0]):
        ln = lengths[s]
        if ln:
            c = nxt[ln]
            nxt[ln] += 1
            r = 0
            for _ in range(ln):
                r = (r << 1) | (c & 1)
                c >>= 1
            codes[s] = r
        else:
            codes[s] = 0


@njit(cache=True, nogil=True)
def _deflate_one(img, raw, out):
    """zlib stream of Sub-filtered rows of img (H, W, 3) uint8 into out; returns its length in bytes."""
    h, w, _ = img.shape
    stride = 3 * w + 1
    freq = np.zeros(LITERALS, np.int64)
    for y in range(h):
        base = y * stride
        raw[base] = 1  # Sub
        freq[1] += 1
        prev0 = np.uint8(0)
        prev1 = np.uint8(0)
        prev2 = np.uint8(0)
        for x in range(w):
            r, g, b = img[y, x, 0], img[y, x, 1], img[y, x, 2]
            d0, d1, d2 = np.uint8(r - prev0), np.uint8(g - prev1), np.uint8(b - prev2)
            p = base + 1 + 3 * x
            raw[p], raw[p + 1], raw[p + 2] = d0, d1, d2
            freq[d0] += 1
            freq[d1] += 1
            freq[d2] += 1
            prev0, prev1, prev2 = r, g, b
    freq[256] = 1  # end of block
    n = h * stride
    lit_len = np.empty(LITERALS, np.int64)
    code_lengths(freq, 15, lit_len)
    lit_code = np.empty(LITERALS, np.int64)
    _canonical(lit_len, lit_code)
    # every code length to send: 257 literal ones, then two distance codes of 1 bit (unused; zlib sends the same)
    seq = np.empty(LITERALS + 2, np.int64)
    seq[:LITERALS] = lit_len
    seq[LITERALS] = 1
    seq[LITERALS + 1] = 1
    cfreq = np.zeros(19, np.int64)
    for v in seq:
        cfreq[v] += 1
    clen = np.empty(19, np.int64)
    code_lengths(cfreq, 7, clen)
    ccode = np.empty(19, np.int64)
    _canonical(clen, ccode)
    hclen = 19
    while hclen > 4 and clen[CLEN_ORDER[hclen - 1]] == 0:
        hclen -= 1

    out[0] = 0x78  # zlib: deflate, 32k window
    out[1] = 0x01  # no dictionary, "fastest" level; (0x78 * 256 + 0x01) % 31 == 0
    pos = 2
    acc = np.uint64(0)
    nb = 0
    # header: BFINAL 1, BTYPE 2 (dynamic Huffman), HLIT 0 (257 codes), HDIST 1 (2 codes), HCLEN
    head = 1 | (2 << 1) | (0 << 3) | (1 << 8) | ((hclen - 4) << 13)
    acc |= np.uint64(head)
    nb += 17
    for k in range(hclen):
        acc |= np.uint64(clen[CLEN_ORDER[k]]) << np.uint64(nb)
        nb += 3
        if nb >= 32:
            for _ in range(4):
                out[pos] = np.uint8(acc & np.uint64(0xFF))
                acc >>= np.uint64(8)
                pos += 1
            nb -= 32
    for v in seq:
        acc |= np.uint64(ccode[v]) << np.uint64(nb)
        nb += clen[v]
        if nb >= 32:
            for _ in range(4):
                out[pos] = np.uint8(acc & np.uint64(0xFF))
                acc >>= np.uint64(8)
                pos += 1
            nb -= 32
    for i in range(n):
        s = raw[i]
        acc |= np.uint64(lit_code[s]) << np.uint64(nb)
        nb += lit_len[s]
        if nb >= 32:
            for _ in range(4):
                out[pos] = np.uint8(acc & np.uint64(0xFF))
                acc >>= np.uint64(8)
                pos += 1
            nb -= 32
    acc |= np.uint64(lit_code[256]) << np.uint64(nb)  # end of block
    nb += lit_len[256]
    while nb > 0:
        out[pos] = np.uint8(acc & np.uint64(0xFF))
        acc >>= np.uint64(8)
        pos += 1
        nb -= 8
    # Adler-32 of the filtered bytes, big-endian
    a, b = 1, 0
    i = 0
    while i < n:
        end = min(n, i + 5552)  # the most bytes before the sums can overflow 32 bits
        for j in range(i, end):
            a += raw[j]
            b += a
        a %= 65521
        b %= 65521
        i = end
    adler = (b << 16) | a
    for k in range(4):
        out[pos + k] = np.uint8((adler >> (24 - 8 * k)) & 0xFF)
    return pos + 4


@njit(cache=True, nogil=True)
def deflate_rgb(lo, hi, images, out, sizes):
    """zlib streams of images[lo:hi] (n, H, W, 3) uint8 into out[i] (n, capacity) uint8, lengths into sizes[i]."""
    h, w = images.shape[1], images.shape[2]
    raw = np.empty(h * (3 * w + 1), np.uint8)
    for i in range(lo, hi):
        sizes[i] = _deflate_one(images[i], raw, out[i])


cache.leave()
