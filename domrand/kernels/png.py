"""Compiled PNG encoding: every row filtered (Sub, or none), then one DEFLATE block of Huffman-coded symbols.

RGB images (`deflate_rgb`): what the interchange formats asked zlib for (level 1, Huffman only, Sub filter:
noisy renders have few repeats for LZ77 to find), written as one compiled pass over a batch without the GIL: a
histogram, a length-limited Huffman code, the bit stream, Adler-32. zlib spends about 0.5 ms on a 128 x 128
image; this pass about a fifth of that, and the files are as small (one block with one code for the whole
image, against zlib's block every 16k bytes).

Masks (`deflate_grey` with sub 0, uint8): runs of a repeated byte are sent as matches at distance 1 (zlib's RLE
strategy: masks are long flat runs), at zlib's speed and size, as one batch without the GIL.

Depth (`deflate_grey` with sub 2, uint16): the slopes of a depth image repeat at longer distances, which runs
alone miss (7.8 against zlib's 4.6 KB), so its Sub-filtered rows go through greedy LZ77 with hash chains, as zlib's
fastest level: on the tabletop's 128 px depth 0.10-0.11 ms an image on one core against OpenCV's 0.13-0.14 with its
call, and 5-7 % smaller (2.96 against 3.19 KB in millimetres, 4.38 against 4.60 KB in BOP's 0.1 mm), as one batch
without the GIL.

The streams are standard: zlib, libpng, Pillow and OpenCV read them (tested). Both kernels are
`kernels.threads.parallel` kernels; `io.images.encode_png_rgb`, `encode_png_masks` and `encode_png_depth` wrap
their output in the PNG chunks.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from domrand.kernels import cache
from domrand.kernels.cache import INTERNAL

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

#: The order in which DEFLATE sends the code-length code's lengths (RFC 1951, 3.2.7).
CLEN_ORDER = np.array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15], np.int64)
LITERALS = 257  # 0-255 and end-of-block: no length codes (no LZ77)
LITERALS_RLE = 286  # and the 29 length codes (RFC 1951, 3.2.5), for runs at distance 1
#: Each length code's shortest length and its number of extra bits (codes 257 to 285).
LENGTH_BASE = np.array([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
                        131, 163, 195, 227, 258], np.int64)  # fmt: skip
LENGTH_EXTRA = np.array([0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0], np.int64)
#: The length code (0 to 28) of every run length 3 to 258 (258 is code 28, not 27 with 31 extra).
LENGTH_CODE = np.zeros(259, np.int64)
for _k in range(29):
    LENGTH_CODE[LENGTH_BASE[_k] : LENGTH_BASE[_k] + (1 << LENGTH_EXTRA[_k])] = _k
LENGTH_CODE[258] = 28
DISTANCES = 30  # distance codes (RFC 1951, 3.2.5)
#: Each distance code's shortest distance and its number of extra bits.
DIST_BASE = np.array([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049,
                      3073, 4097, 6145, 8193, 12289, 16385, 24577], np.int64)  # fmt: skip
DIST_EXTRA = np.array([0, 0, 0, 0] + [k // 2 for k in range(2, 28)], np.int64)
WINDOW = 32768  # the farthest a match may look back
HASH_BITS = 13
TOO_FAR = 4096  # a match of 3 bytes farther back than this costs more bits than its 3 literals (zlib's rule)
# candidates tried a byte, a match long enough to stop at, the longest match whose positions join the chains (zlib's
# level 1: 4, 8, 4; a nice length of 16 made tabletop depth 7 % smaller at the same speed)
MAX_CHAIN, NICE, MAX_INSERT = 4, 16, 4


def capacity(height: int, width: int, bytes_per_pixel: int = 3) -> int:
    """Bytes that always hold the stream of one image (`deflate_rgb`: 3 bytes a pixel; `deflate_grey`: 1 for
    masks, 2 for depth): 2 bytes of zlib header, at most 15 bits a filtered byte (a match of 3 or more bytes: at
    most 15 + 5 + 15 + 13 = 48 bits), a DEFLATE header of at most 2 + 19 * 3 / 8 + 318 * 7 / 8 < 300 bytes, 4 of
    Adler-32."""
    return 2 * height * (bytes_per_pixel * width + 1) + 320


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
        # leaves by weight, ties by symbol: a Shell sort of the unique keys weight * 2**20 + symbol (numba compiles
        # np.sort and np.argsort's stable kind seconds longer; m <= 288)
        keys = np.empty(m, np.int64)
        for k in range(m):
            keys[k] = (f[leaves[k]] << 20) | leaves[k]
        gap = 1
        while gap < m // 3:
            gap = 3 * gap + 1
        while gap > 0:
            for k in range(gap, m):
                key = keys[k]
                j = k
                while j >= gap and keys[j - gap] > key:
                    keys[j] = keys[j - gap]
                    j -= gap
                keys[j] = key
            gap //= 3
        order = np.empty(m, np.int64)
        for k in range(m):
            order[k] = keys[k] & ((1 << 20) - 1)
            weight[k] = f[order[k]]
        # two queues: leaves [0, m) sorted by weight, internal nodes [m, 2m - 1) made in nondecreasing order
        li, ii, nxt = 0, m, m
        for _ in range(m - 1):
            p0, li, ii = _lightest(weight, li, ii, m, nxt)
            p1, li, ii = _lightest(weight, li, ii, m, nxt)
            weight[nxt] = weight[p0] + weight[p1]
            parent[p0] = nxt
            parent[p1] = nxt
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


@njit(cache=True, inline="always")
def _lightest(weight, li, ii, m, nxt):
    """The lighter head of the two queues (leaves [li, m), internal nodes [ii, nxt); a leaf on a tie), and the
    queues' new heads."""
    if li < m and (ii >= nxt or weight[li] <= weight[ii]):
        return li, li + 1, ii
    return ii, li, ii + 1


@njit(cache=True, nogil=True, **INTERNAL)
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


@njit(cache=True, nogil=True, **INTERNAL)
def _tokens(raw, n, sym, extra):
    """Literal/length symbols of raw[:n] for `_write_zlib`: a run of 3 to 258 bytes equal to the byte
    before it is one length symbol (257 + k, `extra` its extra bits' value) at distance 1, any other byte a
    literal. Returns the number of symbols."""
    t = 0
    i = 0
    while i < n:
        if i > 0:
            prev = raw[i - 1]
            run = 0
            while i + run < n and run < 258 and raw[i + run] == prev:
                run += 1
            if run >= 3:
                k = LENGTH_CODE[run]
                sym[t] = 257 + k
                extra[t] = run - LENGTH_BASE[k]
                t += 1
                i += run
                continue
        sym[t] = raw[i]
        extra[t] = 0
        t += 1
        i += 1
    return t


@njit(cache=True, inline="always")
def _flush32(acc, out, pos):
    """The bit buffer's low 32 bits to out[pos:pos + 4] (first bits first); returns the buffer less them and the
    next position."""
    out[pos] = np.uint8(acc & np.uint64(0xFF))
    out[pos + 1] = np.uint8((acc >> np.uint64(8)) & np.uint64(0xFF))
    out[pos + 2] = np.uint8((acc >> np.uint64(16)) & np.uint64(0xFF))
    out[pos + 3] = np.uint8((acc >> np.uint64(24)) & np.uint64(0xFF))
    return acc >> np.uint64(32), pos + 4


@njit(cache=True, nogil=True, **INTERNAL)
def _write_zlib(raw, n, sym, extra, dsym, dextra, t, tokens, freq, dfreq, adler, out):
    """The zlib stream of the filtered bytes raw[:n] as one dynamic-Huffman DEFLATE block into out; returns its
    length in bytes. Without `tokens` every byte is a literal (`sym`, `extra`, `dsym`, `dextra` and `t` unused);
    with them the block sends the symbols sym[:t] of `_tokens` or `_lz77`: a literal, or a length symbol (257 +
    k, `extra` the value of its extra bits) followed by distance code dsym[j] (`dextra` its extra bits' value).
    `freq` (LITERALS or LITERALS_RLE,) and `dfreq` (DISTANCES,) count the symbols and distance codes sent (the
    end-of-block entry is set here) and `adler` is the Adler-32 of raw[:n], all from the caller's pass over the
    bytes. (One function for every kind: each compiled function costs a first run about a second.)"""
    nsym = LITERALS_RLE if tokens else LITERALS
    freq[256] = 1  # end of block
    lit_len = np.empty(nsym, np.int64)
    code_lengths(freq, np.int64(15), lit_len)  # int64s, not literals: one compilation for every caller
    lit_code = np.empty(nsym, np.int64)
    _canonical(lit_len, lit_code)
    # the distance codes: a Huffman code of those used; with none or one used (literals, runs at distance 1) two
    # codes of 1 bit (distance 1 is then the single bit 0, as zlib sends it; a complete code, which decoders ask)
    dist_len = np.empty(DISTANCES, np.int64)
    code_lengths(dfreq, np.int64(15), dist_len)
    ndist = 0
    for c in range(DISTANCES):  # (loops, not array methods: each of those is compiled apart on a first run)
        if dist_len[c] > 0:
            ndist = c + 1
    if ndist == 0:
        dist_len[0] = 1
        dist_len[1] = 1
    ndist = max(ndist, 2)
    dist_code = np.empty(DISTANCES, np.int64)
    _canonical(dist_len, dist_code)
    # every code length to send: the literal/length ones, then the distance ones
    seq = np.empty(nsym + ndist, np.int64)
    seq[:nsym] = lit_len
    seq[nsym:] = dist_len[:ndist]
    cfreq = np.zeros(19, np.int64)
    for v in seq:
        cfreq[v] += 1
    clen = np.empty(19, np.int64)
    code_lengths(cfreq, np.int64(7), clen)
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
    # header: BFINAL 1, BTYPE 2 (dynamic Huffman), HLIT (nsym - 257 more codes), HDIST (ndist - 1), HCLEN
    head = 1 | (2 << 1) | ((nsym - 257) << 3) | ((ndist - 1) << 8) | ((hclen - 4) << 13)
    acc |= np.uint64(head)
    nb += 17
    for k in range(hclen):
        acc |= np.uint64(clen[CLEN_ORDER[k]]) << np.uint64(nb)
        nb += 3
        if nb >= 32:
            acc, pos = _flush32(acc, out, pos)
            nb -= 32
    for v in seq:
        acc |= np.uint64(ccode[v]) << np.uint64(nb)
        nb += clen[v]
        if nb >= 32:
            acc, pos = _flush32(acc, out, pos)
            nb -= 32
    if tokens:
        for j in range(t):  # at most 15 + 5 bits, then 15 + 13, each on top of fewer than 32: fits the 64-bit buffer
            s = sym[j]
            acc |= np.uint64(lit_code[s]) << np.uint64(nb)
            nb += lit_len[s]
            if s > 256:  # a match: the length's extra bits, then the distance's code and extra bits
                acc |= np.uint64(extra[j]) << np.uint64(nb)
                nb += LENGTH_EXTRA[s - 257]
                if nb >= 32:
                    acc, pos = _flush32(acc, out, pos)
                    nb -= 32
                d = dsym[j]
                acc |= np.uint64(dist_code[d]) << np.uint64(nb)
                nb += dist_len[d]
                acc |= np.uint64(dextra[j]) << np.uint64(nb)
                nb += DIST_EXTRA[d]
            if nb >= 32:
                acc, pos = _flush32(acc, out, pos)
                nb -= 32
    else:  # every byte a literal
        # a byte's code with its length above bit 32 (one load a byte), two bytes a flush test: at most 2 x 15
        # bits on top of fewer than 32 fits the 64-bit buffer (the same bits as a byte at a time, 0.075 ->
        # 0.049 ms a 128 x 128 image)
        entry = np.empty(LITERALS, np.uint64)
        for s in range(LITERALS):
            entry[s] = np.uint64(lit_code[s]) | (np.uint64(lit_len[s]) << np.uint64(32))
        low, thirty_two = np.uint64(0xFFFFFFFF), np.uint64(32)
        nbu = np.uint64(nb)
        j = 0
        while j < n:
            e0 = entry[raw[j]]
            acc |= (e0 & low) << nbu
            nbu += e0 >> thirty_two
            if j + 1 < n:
                e1 = entry[raw[j + 1]]
                acc |= (e1 & low) << nbu
                nbu += e1 >> thirty_two
            if nbu >= thirty_two:
                acc, pos = _flush32(acc, out, pos)
                nbu -= thirty_two
            j += 2
        nb = np.int64(nbu)
    acc |= np.uint64(lit_code[256]) << np.uint64(nb)  # end of block
    nb += lit_len[256]
    while nb > 0:
        out[pos] = np.uint8(acc & np.uint64(0xFF))
        acc >>= np.uint64(8)
        pos += 1
        nb -= 8
    for k in range(4):  # Adler-32, big-endian
        out[pos + k] = np.uint8((adler >> (24 - 8 * k)) & 0xFF)
    return pos + 4


@njit(cache=True, nogil=True, **INTERNAL)
def _adler32(raw, n):
    """Adler-32 of raw[:n] (RFC 1950)."""
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
    return (b << 16) | a


@njit(cache=True, nogil=True, **INTERNAL)
def _deflate_one(img, raw, out):
    """zlib stream of Sub-filtered rows of img (H, W, 3) uint8 into out; returns its length in bytes. The one
    pass that filters the rows also counts the bytes for the Huffman code and sums Adler-32."""
    h, w, _ = img.shape
    stride = 3 * w + 1
    freq = np.zeros(LITERALS, np.int64)
    a, b = 1, 0
    for y in range(h):
        base = y * stride
        raw[base] = 1  # Sub
        freq[1] += 1
        a += 1
        b += a
        prev0 = np.uint8(0)
        prev1 = np.uint8(0)
        prev2 = np.uint8(0)
        for x in range(w):
            r, g, bl = img[y, x, 0], img[y, x, 1], img[y, x, 2]
            p = base + 1 + 3 * x
            f0, f1, f2 = np.uint8(r - prev0), np.uint8(g - prev1), np.uint8(bl - prev2)
            raw[p], raw[p + 1], raw[p + 2] = f0, f1, f2
            freq[f0] += 1
            freq[f1] += 1
            freq[f2] += 1
            a += f0
            b += a
            a += f1
            b += a
            a += f2
            b += a
            prev0, prev1, prev2 = r, g, bl
        # reduced once a row: within a row of n bytes b grows by under n * (65521 + 255 n), far below 2**63 for
        # any image width
        a %= 65521
        b %= 65521
    none = np.empty(0, np.int64)
    # int64 and bool values, not literals: one compilation of `_write_zlib` for every caller
    return _write_zlib(
        raw, h * stride, none, none, none, none, np.int64(0), np.bool_(False), freq, np.zeros(DISTANCES, np.int64),
        (b << 16) | a, out,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def deflate_rgb(lo, hi, images, out, sizes):
    """zlib streams of images[lo:hi] (n, H, W, 3) uint8 into out[i] (n, capacity) uint8, lengths into sizes[i]."""
    h, w = images.shape[1], images.shape[2]
    raw = np.empty(h * (3 * w + 1), np.uint8)
    for i in range(lo, hi):
        sizes[i] = _deflate_one(images[i], raw, out[i])


@njit(cache=True, inline="always")
def _match(raw, i, c, limit):
    """How many bytes from raw[i] on (at most `limit`) equal those from raw[c] on (c < i)."""
    m = 0
    while m < limit and raw[c + m] == raw[i + m]:
        m += 1
    return m


@njit(cache=True, inline="always")
def _insert(raw, j, head, prev):
    """Position j as the newest of the positions whose next 3 bytes hash alike (`_lz77`'s chains)."""
    h = ((np.int64(raw[j]) << 10) ^ (np.int64(raw[j + 1]) << 5) ^ np.int64(raw[j + 2])) & ((1 << HASH_BITS) - 1)
    prev[j & (WINDOW - 1)] = head[h]
    head[h] = j


@njit(cache=True, nogil=True, **INTERNAL)
def _lz77(raw, n, head, prev, sym, extra, dsym, dextra, freq, dfreq):
    """Greedy LZ77 symbols of raw[:n], as zlib's fastest level finds them: at each byte the longest match among
    the last `MAX_CHAIN` positions whose next 3 bytes hashed alike (`head`, (2**HASH_BITS,) int32, and `prev`,
    (WINDOW,) int32, both overwritten), stopping at `NICE` bytes, taken from 3 bytes on (4 beyond `TOO_FAR`); a
    literal otherwise. The positions inside a match of at most `MAX_INSERT` bytes join the chains, of a longer one
    only its last (zlib skips them all: time). Fills sym / extra / dsym / dextra as `_write_zlib` reads them and
    counts `freq` and `dfreq`; returns the number of symbols."""
    for h in range(head.shape[0]):
        head[h] = -1
    t = 0
    i = 0
    while i < n:
        best, dist = 0, 0
        if i + 2 < n:
            limit = min(258, n - i)
            _insert(raw, i, head, prev)
            c = prev[i & (WINDOW - 1)]
            chain = MAX_CHAIN
            while c >= 0 and i - c <= WINDOW and chain > 0:
                if raw[c + best] == raw[i + best]:  # (a longer match must pass where the best so far ends)
                    m = _match(raw, i, c, limit)
                    if m > best and (m > 3 or i - c <= TOO_FAR):
                        best, dist = m, i - c
                        if best >= NICE or best == limit:
                            break
                c = prev[c & (WINDOW - 1)]
                chain -= 1
        if best >= 3:
            k = LENGTH_CODE[best]
            sym[t] = 257 + k
            extra[t] = best - LENGTH_BASE[k]
            if dist <= 4:
                d = dist - 1
            else:  # codes 4 and up come in pairs, one pair per power of two of (distance - 1)
                x = dist - 1
                b = 0
                while (x >> (b + 1)) > 0:
                    b += 1
                d = 2 * b + ((x >> (b - 1)) & 1)
            dsym[t] = d
            dextra[t] = dist - DIST_BASE[d]
            freq[257 + k] += 1
            dfreq[d] += 1
            first = i + 1 if best <= MAX_INSERT else i + best - 1
            for j in range(first, min(i + best, n - 2)):
                _insert(raw, j, head, prev)
            i += best
        else:  # a literal (its `extra` is never read)
            sym[t] = raw[i]
            freq[raw[i]] += 1
            i += 1
        t += 1
    return t


@njit(cache=True, nogil=True)
def deflate_grey(lo, hi, rows, sub, out, sizes):
    """zlib streams of greyscale images rows[lo:hi] (n, H, B) uint8, each row's bytes as the PNG stores them, into
    out[i] (n, capacity) uint8, lengths into sizes[i]. Two kinds, one kernel (they share the token stream and its
    writer):

    - sub 0 (masks, 8 bits): rows unfiltered, runs of a repeated byte as matches at distance 1, the rest
      Huffman-coded literals (zlib's RLE strategy: masks are long flat runs).
    - sub 2 (depth, 16 bits, B = 2W big-endian): rows Sub-filtered two bytes back, then greedy LZ77 (`_lz77`).
    """
    h, b = rows.shape[1], rows.shape[2]
    stride = b + 1
    n = h * stride
    raw = np.empty(n, np.uint8)
    sym = np.empty(n, np.int64)
    extra = np.empty(n, np.int64)
    dsym = np.zeros(n, np.int64)  # runs alone: distance code 0 and no extra bits (distance 1) for every match
    dextra = np.zeros(n, np.int64)
    head = np.empty(1 << HASH_BITS, np.int32)
    prev = np.empty(WINDOW, np.int32)
    for i in range(lo, hi):
        for y in range(h):
            base = y * stride
            if sub == 0:
                raw[base] = 0  # filter None
                raw[base + 1 : base + stride] = rows[i, y]
            else:
                raw[base] = 1  # Sub
                for x in range(b):
                    raw[base + 1 + x] = rows[i, y, x] - rows[i, y, x - sub] if x >= sub else rows[i, y, x]
        freq = np.zeros(LITERALS_RLE, np.int64)
        dfreq = np.zeros(DISTANCES, np.int64)
        if sub == 0:
            t = _tokens(raw, n, sym, extra)
            for j in range(t):
                freq[sym[j]] += 1
            for k in range(257, LITERALS_RLE):  # every run at distance 1 (code 0, no extra bits)
                dfreq[0] += freq[k]
        else:
            t = _lz77(raw, n, head, prev, sym, extra, dsym, dextra, freq, dfreq)
        sizes[i] = _write_zlib(
            raw, n, sym, extra, dsym, dextra, t, np.bool_(True), freq, dfreq, _adler32(raw, n), out[i]
        )


cache.leave()
