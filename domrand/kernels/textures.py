"""Compiled CPU twin of `domrand.generators.textures` for `TextureRandomizer`: the same formulas,
textures shared among the threads, no per-texel allocation. The torch functions in `generators/` are the reference;
tests hold this kernel to them within one uint8 step.

The small helpers (`_hash`, `_seed_field`, `_u8`, `_mix2`, ...) are ordinary internal kernels that LLVM inlines,
not numba-level inlines (`inline="always"`, which types each helper again at every call site): the same machine
code speed (texture synthesis 0.997-1.013 of the inlined version, alternated in one process) and 0.8 s less
compiling for a machine's first run, whose longer half this is (the warm-up child's)."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from domrand.generators.texture_kinds import KINDS, LEAVES, SALT, STROKES
from domrand.kernels import cache
from domrand.kernels.cache import INTERNAL
from domrand.kernels.fmath import iceil, ifloor

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

MASK = 0xFFFFFFFF
# Kind ids from the one table both twins read (compile-time constants to numba).
FLAT, LINEAR, RADIAL, CHECKER, STRIPES, NOISE, BLEND, IMAGE, DEAD_LEAVES, STONES, STROKE = (
    KINDS.index(k)
    for k in (
        "flat", "linear_gradient", "radial_gradient", "checker", "stripes", "noise", "blend", "image",
        "dead_leaves", "stones", "strokes",
    )
)  # fmt: skip
F = np.float32


@njit(cache=True, **INTERNAL)
def _hash(seed, ix, iy):
    h = ((seed & MASK) * 0x27D4EB2D + (ix & MASK) * 0x165667B1 + (iy & MASK) * 0x61C88647) & MASK
    h = ((h ^ (h >> 15)) * 0x2C1B3C6D) & MASK
    h = ((h ^ (h >> 12)) * 0x297A2D39) & MASK
    h = h ^ (h >> 15)
    return np.float32(h & 0xFFFFFF) / np.float32(1 << 24)


@njit(cache=True, **INTERNAL)
def _value_noise(seed, cells, size, octaves, out):
    """out (S, S) float32: `generators.textures.value_noise` with persistence 0.5."""
    out[:] = 0
    amp, norm = np.float32(1.0), np.float32(0.0)
    for o in range(octaves):
        n = cells * (1 << o)
        s = seed * 1013 + o
        lat = np.empty((n, n), dtype=np.float32)
        for iy in range(n):
            for ix in range(n):
                lat[iy, ix] = _hash(s, ix, iy)
        # The lattice cell and smoothstep weight of a column (row) are the same for every row (column).
        i0 = np.empty(size, dtype=np.int64)
        i1 = np.empty(size, dtype=np.int64)
        f = np.empty(size, dtype=np.float32)
        nf = np.float32(n)
        for j in range(size):
            x = (np.float32(j) + np.float32(0.5)) / np.float32(size) * nf
            x0f = np.float32(ifloor(x))
            fx = x - x0f
            f[j] = fx * fx * (np.float32(3) - np.float32(2) * fx)
            i0[j] = int(x0f) % n
            i1[j] = (i0[j] + 1) % n
        # Rows in one lattice row share their interpolations along x (float64, as the expression computes them).
        top = np.empty(size, dtype=np.float64)
        bot = np.empty(size, dtype=np.float64)
        last = -1
        for i in range(size):
            iy0, iy1, fy = i0[i], i1[i], f[i]
            if iy0 != last:
                for j in range(size):
                    fx = f[j]
                    top[j] = lat[iy0, i0[j]] * (1 - fx) + lat[iy0, i1[j]] * fx
                    bot[j] = lat[iy1, i0[j]] * (1 - fx) + lat[iy1, i1[j]] * fx
                last = iy0
            for j in range(size):
                out[i, j] += amp * (top[j] * (1 - fy) + bot[j] * fy)
        norm += amp
        amp *= np.float32(0.5)
    out /= norm


@njit(cache=True, **INTERNAL)
def _seed_field(seed, f, a, b):
    return _hash(seed * 1013 + (SALT + f), a, b)


@njit(cache=True, **INTERNAL)
def _torus_wrap(d):
    return d - F(ifloor(d + F(0.5)))


@njit(cache=True, **INTERNAL)
def _palette(c0, c1, c2, h0, h1, h2, out, k):
    """out[k] (3,): `generators.textures._palette` for shape k (out indexed here: a view out[k] a shape cost two
    atomic reference-count updates)."""
    for c in range(3):
        base = c0[c] + (c1[c] - c0[c]) * h0
        col = base + (c2[c] - base) * (h1 * h1)
        out[k, c] = col * (F(0.55) + F(0.45) * h2)


TILES = 16  # shapes are binned into TILES x TILES tiles of the texture, so a texel tests only its tile's


@njit(cache=True, **INTERNAL)
def _bin(cx, cy, ex, ey):
    """Per tile, the shapes (in index order) whose box of half-sizes (ex, ey) around (cx, cy), on the unit
    torus, reaches into it, as one flat list: tile c's are shapes[start[c] : start[c + 1]] (start (T * T + 1,)).
    A texel's first hit among its tile's shapes is its first hit among all shapes, since every shape that can
    contain it is listed. Counted first, then filled (no (T * T, K) table: half a megabyte of fresh pages a
    texture, a fifth of a dead-leaves texture's time)."""
    k_all = cx.shape[0]
    start = np.zeros(TILES * TILES + 1, np.int64)
    boxes = np.empty((k_all, 4), np.int64)
    for k in range(k_all):
        hx = ex[k] * F(1.01) + F(1e-4)  # conservative: an extent never rounds short of a texel it covers
        hy = ey[k] * F(1.01) + F(1e-4)
        x0, x1 = ifloor((cx[k] - hx) * TILES), ifloor((cx[k] + hx) * TILES)
        y0, y1 = ifloor((cy[k] - hy) * TILES), ifloor((cy[k] + hy) * TILES)
        x1, y1 = min(x1, x0 + TILES - 1), min(y1, y0 + TILES - 1)
        boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3] = x0, x1, y0, y1
        for ty in range(y0, y1 + 1):
            for tx in range(x0, x1 + 1):
                start[(ty % TILES) * TILES + tx % TILES + 1] += 1
    for c in range(TILES * TILES):
        start[c + 1] += start[c]
    shapes = np.empty(start[TILES * TILES], np.int64)
    fill = np.empty(TILES * TILES, np.int64)
    for c in range(TILES * TILES):
        fill[c] = start[c]
    for k in range(k_all):
        x0, x1, y0, y1 = boxes[k, 0], boxes[k, 1], boxes[k, 2], boxes[k, 3]
        for ty in range(y0, y1 + 1):
            for tx in range(x0, x1 + 1):
                cell = (ty % TILES) * TILES + tx % TILES
                shapes[fill[cell]] = k
                fill[cell] += 1
    return start, shapes


@njit(cache=True, **INTERNAL)
def _dead_leaves(c0, c1, c2, seed, cells, duty, size, out):
    """out (S, S, 3) uint8: `generators.textures.dead_leaves` for one texture."""
    r_max = min(F(1.5) / cells, F(0.5))
    r_min = r_max / F(6.0)
    inv_max, inv_min = F(1.0) / (r_max * r_max), F(1.0) / (r_min * r_min)
    cx, cy = np.empty(LEAVES, np.float32), np.empty(LEAVES, np.float32)
    rr, dome = np.empty(LEAVES, np.float32), np.empty(LEAVES, np.float32)
    ca, sa = np.empty(LEAVES, np.float32), np.empty(LEAVES, np.float32)
    square = np.empty(LEAVES, np.bool_)
    col = np.empty((LEAVES, 3), np.float32)
    for k in range(LEAVES):
        r = F(1.0) / F(math.sqrt(inv_max + _seed_field(seed, 2, k, 0) * (inv_min - inv_max)))
        rr[k] = r * r
        cx[k], cy[k] = _seed_field(seed, 0, k, 0), _seed_field(seed, 1, k, 0)
        square[k] = _seed_field(seed, 3, k, 0) < duty
        rot = _seed_field(seed, 4, k, 0) * F(math.pi / 2)
        ca[k], sa[k] = F(math.cos(rot)), F(math.sin(rot))
        _palette(c0, c1, c2, _seed_field(seed, 5, k, 0), _seed_field(seed, 6, k, 0), _seed_field(seed, 7, k, 0), col, k)
        dome[k] = F(0.6) * _seed_field(seed, 8, k, 0)
    # Half-sizes of each shape's bounding box: r for a disc; a square of half-side 0.8862 r turned by `rot`.
    ext = np.empty(LEAVES, np.float32)
    for k in range(LEAVES):  # a loop, not np.where over array expressions (1.5 s of compiling, the same values)
        r = np.sqrt(rr[k])
        ext[k] = F(0.8863) * r * (abs(ca[k]) + abs(sa[k])) if square[k] else r
    start_of, shapes = _bin(cx, cy, ext, ext)
    # A tile at a time: its texels (a block of rows and columns: the tile of a texel is its row's tile and its
    # column's) against the tile's shapes in index order, all texels at once (vector code), until every texel has
    # its first hit. Each (texel, shape) test is the same float32 arithmetic as testing texel by texel.
    centre = np.empty(size, np.float32)
    start = np.zeros(TILES + 1, np.int64)  # texels of tile row (column) t: [start[t], start[t + 1])
    for j in range(size):
        centre[j] = (F(j) + F(0.5)) / F(size)
        start[min(ifloor(centre[j] * F(TILES)), TILES - 1) + 1] = j + 1
    for t in range(1, TILES + 1):
        start[t] = max(start[t], start[t - 1])
    most = (size // TILES + 2) ** 2
    tu, tv = np.empty(most, np.float32), np.empty(most, np.float32)
    ti, tj = np.empty(most, np.int64), np.empty(most, np.int64)
    hit, qh = np.empty(most, np.int64), np.empty(most, np.float32)
    for ty in range(TILES):
        for tx in range(TILES):
            m = np.int64(0)  # not the literal 0: `_first_hits` compiled once, for int64 (not also for Literal[int](0))
            for i in range(start[ty], start[ty + 1]):
                for j in range(start[tx], start[tx + 1]):
                    tu[m], tv[m], ti[m], tj[m] = centre[j], centre[i], i, j
                    m += 1
            if m == 0:
                continue
            cell = ty * TILES + tx
            _first_hits(shapes[start_of[cell] : start_of[cell + 1]], m, tu, tv, cx, cy, ca, sa, rr, square, hit, qh)
            for e in range(m):
                h, i, j = hit[e], ti[e], tj[e]
                for c in range(3):
                    if h < 0:
                        out[i, j, c] = _u8(c0[c] * F(0.5))
                    else:
                        out[i, j, c] = _u8(col[h, c] * (F(1.0) - dome[h] * qh[e]))


@njit(cache=True, error_model="numpy", **INTERNAL)
def _first_hits(shapes, m, tu, tv, cx, cy, ca, sa, rr, square, hit, qh):
    """hit (M,) the first of `shapes` (in order) containing each of the m texels at (tu, tv), -1 for none, and qh
    its q (`_dead_leaves`: < 1 inside); stops once every texel has one."""
    for e in range(m):
        hit[e], qh[e] = -1, F(0.0)
    left = m
    for n in range(shapes.shape[0]):
        k = shapes[n]
        kx, ky, ck, sk, rk = cx[k], cy[k], ca[k], sa[k], rr[k]
        found = 0
        if square[k]:
            for e in range(m):
                dx, dy = _torus_wrap(tu[e] - kx), _torus_wrap(tv[e] - ky)
                x, y = dx * ck + dy * sk, dy * ck - dx * sk
                mm = max(abs(x), abs(y)) * F(1.1284)
                q = mm * mm / rk
                new = (hit[e] < 0) & (q < F(1.0))
                hit[e] = k if new else hit[e]
                qh[e] = q if new else qh[e]
                found += new
        else:
            for e in range(m):
                dx, dy = _torus_wrap(tu[e] - kx), _torus_wrap(tv[e] - ky)
                q = (dx * dx + dy * dy) / rk
                new = (hit[e] < 0) & (q < F(1.0))
                hit[e] = k if new else hit[e]
                qh[e] = q if new else qh[e]
                found += new
        left -= found
        if left == 0:
            break


@njit(cache=True, **INTERNAL)
def _stones(c0, c1, c2, seed, cells, duty, size, out):
    """out (S, S, 3) uint8: `generators.textures.stones` for one texture. The jitter and shade of each of the
    n x n sites is hashed once into a table (a texel reads its 9 neighbours' from it), so the arithmetic per
    texel is the reference's without its 18 hashes."""
    n = ifloor(cells)
    nf = F(n)
    mortar = F(0.03) + F(0.12) * duty
    jx, jy = np.empty((n, n), np.float32), np.empty((n, n), np.float32)
    g0, g1 = np.empty((n, n), np.float32), np.empty((n, n), np.float32)
    for wy in range(n):
        for wx in range(n):
            jx[wx, wy], jy[wx, wy] = _seed_field(seed, 0, wx, wy), _seed_field(seed, 1, wx, wy)
            g0[wx, wy], g1[wx, wy] = _seed_field(seed, 2, wx, wy), _seed_field(seed, 3, wx, wy)
    wrap = np.empty(n + 3, np.int64)  # cell c in [-1, n + 1] -> c mod n, at wrap[c + 1]
    for c in range(-1, n + 2):
        wrap[c + 1] = c % n
    # A row at a time, every texel at once (vector code): the nearest and second nearest of the 9 sites around
    # its cell, the same comparisons in the same order as texel by texel (`_nearest_two`). The sites' places per
    # texel (sites (18, S): x of the 9, then y) change only with the cell row, so they are gathered once for the
    # rows of a cell row. Then each texel's colour.
    xs = np.empty(size, np.float32)
    kxs = np.empty(size, np.int64)  # each column's cell
    for j in range(size):
        xs[j] = (F(j) + F(0.5)) / F(size) * nf
        kxs[j] = ifloor(xs[j])
    sites = np.empty((18, size), np.float32)
    edge, shade = np.empty(size, np.float32), np.empty(size, np.float32)
    nearest = np.empty(size, np.int64)
    h0s, h1s = np.empty(size, np.float32), np.empty(size, np.float32)
    ky_sites = -1
    for i in range(size):
        v = (F(i) + F(0.5)) / F(size)
        y = v * nf
        iy = F(ifloor(y))
        ky = int(iy)
        if ky != ky_sites:
            for j in range(size):
                kx = kxs[j]
                ix = F(kx)
                m = 0
                for dj in range(-1, 2):
                    wy = wrap[ky + dj + 1]
                    for di in range(-1, 2):
                        wx = wrap[kx + di + 1]
                        sites[m, j], sites[9 + m, j] = ix + F(di) + jx[wx, wy], iy + F(dj) + jy[wx, wy]
                        m += 1
            ky_sites = ky
        _nearest_two(xs, y, sites, edge, shade, nearest)
        for j in range(size):  # the nearest site's shades (reads alone: scalar)
            m = nearest[j]
            bx, by = wrap[kxs[j] + m % 3], wrap[ky + m // 3]  # site m is (di, dj) = (m % 3 - 1, m // 3 - 1)
            h0s[j], h1s[j] = g0[bx, by], g1[bx, by]
        _stone_row(c0, c1, c2, mortar, edge, shade, h0s, h1s, out[i].reshape(size * 3))


@njit(cache=True, error_model="numpy", **INTERNAL)
def _stone_row(c0, c1, c2, mortar, edge, shade, h0, h1, out):
    """out (S * 3,) uint8: a row of a stones texture, mortar where edge < mortar, else the stone's colour (shades h0,
    h1 of its site) domed by shade; the channels written out (vector code)."""
    m0, m1, m2 = _u8(c2[0] * F(0.8)), _u8(c2[1] * F(0.8)), _u8(c2[2] * F(0.8))
    a0, a1, a2 = c0[0], c0[1], c0[2]
    d0, d1, d2 = c1[0] - c0[0], c1[1] - c0[1], c1[2] - c0[2]
    for j in range(edge.shape[0]):
        stone = edge[j] >= mortar
        k, sh = F(0.6) + F(0.4) * h1[j], shade[j]
        x, y, z = _u8((a0 + d0 * h0[j]) * k * sh), _u8((a1 + d1 * h0[j]) * k * sh), _u8((a2 + d2 * h0[j]) * k * sh)
        out[3 * j] = x if stone else m0
        out[3 * j + 1] = y if stone else m1
        out[3 * j + 2] = z if stone else m2


@njit(cache=True, **INTERNAL)
def _closer(d, m, b, s, n):
    """One site at squared distance d (index m) against the nearest so far (b, index n) and the second (s)."""
    c = d < b
    return (d if c else b), (b if c else min(s, d)), (m if c else n)


@njit(cache=True, error_model="numpy", **INTERNAL)
def _nearest_two(xs, y, sites, edge, shade, nearest):
    """For the texels of a row (x = xs[j], y; cell units) (S,), from the 9 sites around each one's cell (sites
    (18, S): x of the 9, then y, `_stones`): edge (S,), the distance to the second nearest less that to the
    nearest; shade (S,), the dome's brightness; and nearest (S,), the nearest's index. The sites are taken in
    order, each as a texel's loop over them would (`_closer`), written out so the loop over the texels is vector
    code."""
    for j in range(xs.shape[0]):
        x = xs[j]
        b, s, n = F(1e9), F(1e9), 0
        for m in range(9):
            dx, dy = x - sites[m, j], y - sites[9 + m, j]
            b, s, n = _closer(dx * dx + dy * dy, m, b, s, n)
        e = F(math.sqrt(s)) - F(math.sqrt(b))
        edge[j], shade[j], nearest[j] = e, F(0.55) + F(0.45) * F(math.sqrt(min(e * F(2.0), F(1.0)))), n


@njit(cache=True, error_model="numpy", **INTERNAL)  # no zero-divisor check per division (none divides by 0)
def _strokes(c0, c1, c2, seed, cells, angle, duty, size, out):
    """out (S, S, 3) uint8: `generators.textures.strokes` for one texture.

    A texel takes the first stroke (in index order) that contains it. The strokes are painted last to first,
    each over the texels of its own rectangle only (row by row, the span where the rectangle crosses the row,
    widened by 0.01 texel, then the reference's exact test), so the first stroke is painted last and wins; the cost
    is the strokes' area instead of every texel testing every stroke near it."""
    cx, cy = np.empty(STROKES, np.float32), np.empty(STROKES, np.float32)
    ca, sa = np.empty(STROKES, np.float32), np.empty(STROKES, np.float32)
    half_len, half_w = np.empty(STROKES, np.float32), np.empty(STROKES, np.float32)
    col = np.empty((STROKES, 3), np.float32)
    spread = F(math.pi) * duty
    for k in range(STROKES):
        cx[k], cy[k] = _seed_field(seed, 0, k, 1), _seed_field(seed, 1, k, 1)
        theta = angle + (_seed_field(seed, 2, k, 1) - F(0.5)) * spread
        ca[k], sa[k] = F(math.cos(theta)), F(math.sin(theta))
        half_len[k] = (F(0.25) + F(0.75) * _seed_field(seed, 3, k, 1)) * (F(1.5) / cells)
        half_w[k] = F(0.004) + F(0.012) * _seed_field(seed, 4, k, 1)
        _palette(c1, c2, c0, _seed_field(seed, 5, k, 1), _seed_field(seed, 6, k, 1), _seed_field(seed, 7, k, 1), col, k)
    for c in range(3):  # the ground: one value a channel
        out[:, :, c] = _u8(c0[c] * F(0.7))
    centres = np.empty(size, np.float32)  # texel centres, texture units
    for j in range(size):
        centres[j] = (F(j) + F(0.5)) / F(size)
    dys, firsts, counts = np.empty(size, np.float32), np.empty(size, np.int64), np.empty(size, np.int64)
    for k in range(STROKES - 1, -1, -1):
        ey = abs(half_len[k] * sa[k]) + abs(half_w[k] * ca[k])  # the segment's half-height
        r0, r1 = _span(cy[k], -ey, ey, size)
        _row_spans(r0, r1 - r0 + 1, size, cx[k], cy[k], ca[k], sa[k], half_len[k], half_w[k], dys, firsts, counts)
        for r in range(r1 - r0 + 1):
            if counts[r] <= 0:
                continue
            a = _mod(firsts[r], size)  # the span's texels: a, a + 1, ..., its end modulo size
            end = a + counts[r]
            i = _mod(r0 + r, size)
            _paint(out, i, centres, a, min(end, size), cx[k], dys[r], ca[k], sa[k], half_len[k], half_w[k], col[k])
            if end > size:  # the piece past the edge, from 0
                _paint(out, i, centres, 0, end - size, cx[k], dys[r], ca[k], sa[k], half_len[k], half_w[k], col[k])


@njit(cache=True, error_model="numpy", **INTERNAL)
def _row_spans(r0, n, size, cx, cy, ca, sa, half_len, half_w, dys, firsts, counts):
    """For unwrapped texel rows r0 .. r0 + n - 1, where a row crosses one stroke's rectangle (`_strokes`): dys (n,)
    the row's offset from the stroke's centre; firsts (n,) the first texel (unwrapped) of the row's span, where
    |along| < half_len and |across| < half_w at dx in [lo, hi] (`_span`), and counts (n,) its texels (0 or less:
    nowhere). Every row at once (vector code): a bound is computed whatever the angle and selected out where the
    angle makes it none (the same values as a row at a time)."""
    on_a, on_b = abs(ca) > F(1e-6), abs(sa) > F(1e-6)
    for r in range(n):
        i = (r0 + r) % size
        dy = _torus_wrap((F(i) + F(0.5)) / F(size) - cy)
        a0, a1 = (-half_len - dy * sa) / ca, (half_len - dy * sa) / ca
        b0, b1 = (dy * ca - half_w) / sa, (dy * ca + half_w) / sa
        lo, hi = F(-0.5), F(0.5)
        lo, hi = (max(lo, min(a0, a1)), min(hi, max(a0, a1))) if on_a else (lo, hi)
        lo, hi = (max(lo, min(b0, b1)), min(hi, max(b0, b1))) if on_b else (lo, hi)
        first = iceil((cx + lo) * F(size) - F(0.5) - F(0.01))
        last = min(ifloor((cx + hi) * F(size) - F(0.5) + F(0.01)), first + size - 1)
        dys[r], firsts[r], counts[r] = dy, first, last - first + 1 if lo <= hi else 0


@njit(cache=True, **INTERNAL)
def _paint(out, i, centres, p0, p1, cx, dy, ca, sa, half_len, half_w, col):
    """Texels p0..p1 - 1 of row i of out (S, S, 3) uint8 inside one stroke (`_strokes`) take its colour, shaded
    across it; the others keep theirs: a select for every texel, no branch."""
    row = out[i]
    for j in range(p0, p1):
        dx = _torus_wrap(centres[j] - cx)
        along = dx * ca + dy * sa
        t = (dy * ca - dx * sa) / half_w
        inside = (abs(along) < half_len) & (abs(t) < F(1.0))
        shade = F(1.0) - F(0.5) * t * t
        row[j, 0] = _u8(col[0] * shade) if inside else row[j, 0]
        row[j, 1] = _u8(col[1] * shade) if inside else row[j, 1]
        row[j, 2] = _u8(col[2] * shade) if inside else row[j, 2]


@njit(cache=True, **INTERNAL)
def _span(centre, lo, hi, size):
    """Unwrapped indices of the texels whose centres lie within [centre + lo, centre + hi] (texture units),
    widened by 0.01 texel either side (far above the rounding of the exact test) and cut to one period."""
    first = iceil((centre + lo) * F(size) - F(0.5) - F(0.01))
    last = ifloor((centre + hi) * F(size) - F(0.5) + F(0.01))
    return first, min(last, first + size - 1)


@njit(cache=True, **INTERNAL)
def _mod(i, size):
    """i mod size for i within a few periods of [0, size), without a division."""
    while i < 0:
        i += size
    while i >= size:
        i -= size
    return i


@njit(cache=True, **INTERNAL)
def _u8(x):
    return np.uint8(min(max(x * np.float32(255.0) + np.float32(0.5), np.float32(0.0)), np.float32(255.0)))


@njit(cache=True, **INTERNAL)
def _weights(k, ca, sa, cells, duty, cx, cy, radius, noise, w):
    """w (S, S) float32: the mixing weight between c0 and c1 of every texel of a gradient, checker, stripes or
    noise texture, by one loop per kind (the reference's expressions, `generators.textures`)."""
    size = w.shape[0]
    rs2 = np.float32(1.0 / math.sqrt(2.0))
    half = np.float32(0.5)
    for i in range(size):
        v = (np.float32(i) + half) / np.float32(size)
        if k == LINEAR:
            for j in range(size):
                u = (np.float32(j) + half) / np.float32(size)
                ru = (u - half) * ca + (v - half) * sa
                w[i, j] = min(max(ru * rs2 + half, np.float32(0)), np.float32(1))
        elif k == RADIAL:
            for j in range(size):
                u = (np.float32(j) + half) / np.float32(size)
                d = np.float32(math.sqrt((u - cx) ** 2 + (v - cy) ** 2))
                w[i, j] = min(max(d / radius, np.float32(0)), np.float32(1))
        elif k == CHECKER:
            for j in range(size):
                u = (np.float32(j) + half) / np.float32(size)
                ru = (u - half) * ca + (v - half) * sa
                rp = -(u - half) * sa + (v - half) * ca
                w[i, j] = np.float32((ifloor(ru * cells) + ifloor(rp * cells)) % 2)
        elif k == STRIPES:
            for j in range(size):
                u = (np.float32(j) + half) / np.float32(size)
                ru = (u - half) * ca + (v - half) * sa
                w[i, j] = np.float32(1.0) if (ru * cells) % np.float32(1.0) < duty else np.float32(0.0)
        else:  # NOISE
            for j in range(size):
                w[i, j] = min(max(noise[i, j], np.float32(0)), np.float32(1))


@njit(cache=True, **INTERNAL)
def _mix2(c0, c1, w, out):
    """out (N * 3,) uint8: each texel's c0 (3,) and c1 (3,) mixed by its weight w (N,), as one loop over the texels
    with the three channels written out (vector code; a loop over the channels kept it scalar)."""
    a0, a1, a2, b0, b1, b2 = c0[0], c0[1], c0[2], c1[0], c1[1], c1[2]
    for p in range(w.shape[0]):
        x = w[p]
        out[3 * p] = _u8(a0 * (1 - x) + b0 * x)
        out[3 * p + 1] = _u8(a1 * (1 - x) + b1 * x)
        out[3 * p + 2] = _u8(a2 * (1 - x) + b2 * x)


@njit(cache=True, **INTERNAL)
def _blend_row(i, size, ca, sa, c0, c1, c2, w, noise, out):
    """out (S * 3,) uint8: row i of a blend texture, its checker weights w (S,) mixed with a gradient from c2 to c1
    at right angles by noise (S,), the channels written out (vector code)."""
    half, zero, one = np.float32(0.5), np.float32(0), np.float32(1)
    rs2 = np.float32(1.0 / math.sqrt(2.0))
    v = (np.float32(i) + half) / np.float32(size)
    a0, a1, a2, b0, b1, b2, d0, d1, d2 = c0[0], c0[1], c0[2], c1[0], c1[1], c1[2], c2[0], c2[1], c2[2]
    for j in range(size):
        u = (np.float32(j) + half) / np.float32(size)
        x = w[j]
        ru2 = (u - half) * -sa + (v - half) * ca
        g = min(max(ru2 * rs2 + half, zero), one)
        m = min(max(noise[j], zero), one)
        out[3 * j] = _u8((a0 * (1 - x) + b0 * x) * (1 - m) + (d0 * (1 - g) + b0 * g) * m)
        out[3 * j + 1] = _u8((a1 * (1 - x) + b1 * x) * (1 - m) + (d1 * (1 - g) + b1 * g) * m)
        out[3 * j + 2] = _u8((a2 * (1 - x) + b2 * x) * (1 - m) + (d2 * (1 - g) + b2 * g) * m)


@njit(cache=True, nogil=True)
def synthesize(
    lo, hi, kind, c0, c1, c2, angle, cells, duty, seed, centre, radius, image, crop, tint, images, size, out
):
    """out (N, S, S, 3) uint8 from texture rows [lo, hi) of N (see `TextureSpec`; one call per thread,
    `threads.parallel`); rows of kind -1 (textures nothing shows) are zeros."""
    n_img, ih, iw = images.shape[0], images.shape[1], images.shape[2]
    short = min(ih, iw)
    wbuf = np.empty((size, size), dtype=np.float32)
    noise = np.empty((size, size), dtype=np.float32)  # read only by noise and blend, which fill it first
    for t in range(lo, hi):
        k = kind[t]
        if k < 0:  # not needed: zeros, whatever the buffer held
            row = out[t].reshape(-1)
            for i in range(row.shape[0]):
                row[i] = 0
            continue
        if k == DEAD_LEAVES:
            _dead_leaves(c0[t], c1[t], c2[t], seed[t], cells[t], duty[t], size, out[t])
            continue
        if k == STONES:
            _stones(c0[t], c1[t], c2[t], seed[t], cells[t], duty[t], size, out[t])
            continue
        if k == STROKE:
            _strokes(c0[t], c1[t], c2[t], seed[t], cells[t], angle[t], duty[t], size, out[t])
            continue
        if k == FLAT:  # w = 0 at every texel: one value a channel, as the mixing loop below would compute it
            w = np.float32(0.0)
            for c in range(3):
                out[t, :, :, c] = _u8(c0[t, c] * (1 - w) + c1[t, c] * w)
            continue
        half = np.float32(0.5)
        if k == IMAGE:  # nearest texel of a square crop, tinted
            side = crop[t, 2] * short
            idx = min(max(image[t], 0), n_img - 1)
            for i in range(size):
                v = (np.float32(i) + half) / np.float32(size)
                sy = min(max(ifloor(crop[t, 1] * short + v * side), 0), ih - 1)
                for j in range(size):
                    u = (np.float32(j) + half) / np.float32(size)
                    sx = min(max(ifloor(crop[t, 0] * short + u * side), 0), iw - 1)
                    for c in range(3):
                        out[t, i, j, c] = _u8(
                            min(np.float32(images[idx, sy, sx, c]) / np.float32(255.0) * tint[t, c], np.float32(1.0))
                        )
            continue
        ca, sa = np.float32(math.cos(angle[t])), np.float32(math.sin(angle[t]))
        if k == NOISE:
            _value_noise(seed[t], int(cells[t]), size, np.int64(4), noise)  # int64s: one compilation
        elif k == BLEND:
            _value_noise(seed[t], np.int64(2), size, np.int64(3), noise)
        # One mixing weight w between c0 and c1 per texel, by its kind's own loop (a blend's is its checker's)
        _weights(
            CHECKER if k == BLEND else k, ca, sa, cells[t], duty[t], centre[t, 0], centre[t, 1], radius[t], noise, wbuf
        )
        if k != BLEND:
            _mix2(c0[t], c1[t], wbuf.reshape(size * size), out[t].reshape(size * size * 3))
            continue
        for i in range(size):  # the checker blended with a gradient from c2 to c1 at right angles, by noise
            _blend_row(i, size, ca, sa, c0[t], c1[t], c2[t], wbuf[i], noise[i], out[t, i].reshape(size * 3))


cache.leave()
