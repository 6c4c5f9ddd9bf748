"""The compiled twin of `render.shade_torch` (numba): texture lookup, the shadow-map test with 2x2 PCF, and
Blinn-Phong shading of one scene's visible fragments. The shadow bias constants come from
`kernels.constants`, which `shade_torch` reads too, so both back ends use one value.

A row of the image is shaded in passes: each fragment's position, normal, view, material, colour and texture
coordinates into a row buffer, a run of pixels of one triangle at a time as vector code (`_surface_run`; 88% of
the tabletop preset's lit pixels lie in runs of 16 or more); then over the whole row, the texture lookups
(`_texture_row`), the shadow map (`_shadow_row`), each light (`_light_row`, `fmath.fpow` for the highlight) and
the colours (`_colour_row`), each with no branch on the pixel. numba's compiler makes no gathers and vectorizes a
loop only while it reads and writes few arrays, so a lookup is split in loops: the coordinates (vector code),
the reads alone (scalar), the mix (vector code). Each value is the same float32 expression, in the same order,
as when a fragment was shaded whole (the shading of 1.71 ms an image on one thread took 1.20 after the split,
and the render kernel 1.19-1.20 -> 1.05-1.08 ms after the runs).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from domrand.kernels import cache
from domrand.kernels.cache import INTERNAL
from domrand.kernels.constants import SHADOW_BIAS_TEXELS, SHADOW_SLOPE_TEXELS
from domrand.kernels.fmath import fpow, ifloor
from domrand.kernels.frontend import F32, INF, ONE, ZERO, _corners

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

BIAS_TEXELS = np.float32(SHADOW_BIAS_TEXELS)
SLOPE_TEXELS = np.float32(SHADOW_SLOPE_TEXELS)


@njit(cache=True, inline="always")
def _wrap(i, size):
    """i mod size in [0, size) (Python's %), by a mask when size is a power of two: no integer division."""
    if size & (size - 1) == 0:
        return i & (size - 1)
    return i % size


#: Rows of `_shade_scene`'s per-image-row buffer: position 0-2, unit normal 3-5, unit view 6-8, specular
#: strength 9, shininess 10, shadow-light visibility 11, albedo 12-14, diffuse 15-17 and specular 18-20 sums
#: over the lights, texture coordinates U and V (a background pixel's: its place in the image).
ROWS = 23
U, V = 21, 22


@njit(cache=True, inline="always")
def _unit(x, y, z):
    """(x, y, z) scaled to length 1 (a zero vector stays zero)."""
    n = max(F32(math.sqrt(x * x + y * y + z * z)), F32(1e-12))
    return x / n, y / n, z / n


@njit(cache=True, **INTERNAL)
def tri_slots_faces(t2, f_n):
    """(T2,) slot and (T2,) face of each of the front end's triangle slots s = (slot * F + face) * 2 + sub."""
    tri_slot = np.empty(t2, dtype=np.int64)
    tri_face = np.empty(t2, dtype=np.int64)
    for s in range(t2):
        tri_slot[s], tri_face[s] = s // 2 // f_n, s // 2 % f_n
    return tri_slot, tri_face


@njit(cache=True, inline="always")
def _corner_attributes(s, b, slot, mesh, face, weights, faces, world_pos, world_nrm, uvs, corner):
    """corner[s] (3, 8): world position, normal and uv at each screen corner of triangle s (a face's vertices,
    or for a triangle the near plane clipped, its weighted mixes), so a pixel interpolates 8 values from 3 rows."""
    for k in range(3):
        for a in range(8):
            corner[s, k, a] = ZERO
        for j in range(3):
            wkj = weights[s, k, j]
            vid = faces[mesh, face, j]
            for a in range(3):
                corner[s, k, a] += wkj * world_pos[b, slot, vid, a]
                corner[s, k, 3 + a] += wkj * world_nrm[b, slot, vid, a]
            corner[s, k, 6] += wkj * uvs[mesh, vid, 0]
            corner[s, k, 7] += wkj * uvs[mesh, vid, 1]


# No fast math: with it, this function compiled in a process and the same function loaded from numba's cache
# shaded ~6% of pixels a last bit apart, so a machine's first run wrote other bytes than its later runs
# (test_regression_a_first_run_shaded_differently_from_later_runs). It cost 1.35 -> 1.63 ms a render.
# numpy's error model: no zero-divisor check on each float division (none is zero where a value is read).
@njit(cache=True, error_model="numpy", **INTERNAL)
def _shade_scene(
    b, zbuf, tbuf, screen, weights, world_pos, world_nrm, inst_mesh, faces, uvs, double_sided, inst_tex,
    inst_color, inst_uv_scale, inst_spec, inst_shin, textures, l_kind, l_pos, l_color, l_intensity, l_enabled,
    ambient, eye, smap, l_w2v, l_proj, l_ortho, has_shadow, shadow_light, bg_color, bg_tex, rgb, depth,
    inst_out, normals_out, want_normals, shade_on, corner, corner_of, tri_slot, tri_face,
):  # fmt: skip
    """Deferred shading of one scene, as `shade_torch.resolve` + `shade` + `background`.

    corner (T2, 3, 8) float32 and corner_of (T2,) int64 are the caller's scratch, kept across its scenes: a triangle's
    corners' world position, normal and uv (`_corner_attributes`), valid for scene b where corner_of == b.
    tri_slot, tri_face (T2,) int64: the slot and face of each triangle slot (`tri_slots_faces`).

    A row at a time: each fragment's interpolated inputs into the row buffer (`ROWS`), one fragment at a time;
    then the texture lookups, the shadow map, each light and the colours, each a pass over the whole row (see the
    module's docstring)."""
    h, w = zbuf.shape
    ex, ey, ez = eye[b, 0], eye[b, 1], eye[b, 2]
    # Each light as the row passes take it: a point light's position, a directional light's unit vector.
    lvec = np.empty((l_kind.shape[1], 3), dtype=np.float32)
    for li in range(l_kind.shape[1]):
        if l_kind[b, li] != 0:
            lvec[li, 0], lvec[li, 1], lvec[li, 2] = l_pos[b, li, 0], l_pos[b, li, 1], l_pos[b, li, 2]
        else:
            lvec[li, 0], lvec[li, 1], lvec[li, 2] = _unit(l_pos[b, li, 0], l_pos[b, li, 1], l_pos[b, li, 2])
    # np.empty and loops, not np.zeros / np.full: fewer numpy implementations to compile on a cold start
    row = np.empty((ROWS, w), dtype=np.float32)  # one image row's shading inputs and sums (`ROWS`)
    tex_row = np.empty(w, dtype=np.int64)  # each pixel's texture (-1: none)
    lit = np.empty(w, dtype=np.bool_)  # pixels of a surface (the others are background)
    for px in range(w):
        tex_row[px], lit[px] = -1, False
        for r in range(ROWS):
            row[r, px] = ZERO
    taps, tmp = np.empty((4, w), dtype=np.int64), np.empty((14, w), dtype=np.float32)  # the lookups' scratch
    offs = np.empty((4, w), dtype=np.uint64)  # `_texture_row`'s reads
    sl = shadow_light[b]
    shadow_on = has_shadow[b] and l_enabled[b, sl]
    bt = bg_tex[b]
    bary = np.empty((3, w), dtype=np.float32)  # a run's barycentric weights (`_surface_run`)
    for py in range(h):
        a = np.int64(0)  # not the literal 0: `_surface_run` compiled once, for int64
        while a < w:  # runs of one triangle (or of background) along the row
            s = tbuf[py, a]
            e = a + 1
            while e < w and tbuf[py, e] == s:
                e += 1
            if s < 0:  # the background: its texture over the image (albedo 1), or its colour (no texture)
                for px in range(a, e):
                    lit[px] = False
                    depth[b, py, px] = 0
                    inst_out[b, py, px] = -1
                    tex_row[px] = bt
                    row[U, px], row[V, px] = (F32(px) + F32(0.5)) / F32(w), (F32(py) + F32(0.5)) / F32(h)
                    if bt >= 0:
                        row[12, px], row[13, px], row[14, px] = ONE, ONE, ONE
                    else:
                        row[12, px], row[13, px], row[14, px] = bg_color[b, 0], bg_color[b, 1], bg_color[b, 2]
                a = e
                continue
            slot = tri_slot[s]  # s // 2 // F, without an integer division
            for px in range(a, e):
                lit[px] = True
                depth[b, py, px] = zbuf[py, px]
                inst_out[b, py, px] = slot
                tex_row[px] = inst_tex[b, slot]
            if shade_on or want_normals:
                mesh = inst_mesh[b, slot]
                if corner_of[s] != b:  # the triangle's first pixels in this scene: its corners' attributes, once
                    _corner_attributes(s, b, slot, mesh, tri_face[s], weights, faces, world_pos, world_nrm, uvs, corner)
                    corner_of[s] = b
                _surface_run(
                    row, bary, a, e, F32(py), s, screen, corner, ex, ey, ez, double_sided[mesh],
                    inst_uv_scale[b, slot], inst_spec[b, slot], inst_shin[b, slot], inst_color[b, slot, 0],
                    inst_color[b, slot, 1], inst_color[b, slot, 2],
                )  # fmt: skip
                if want_normals:
                    for px in range(a, e):
                        normals_out[b, py, px, 0], normals_out[b, py, px, 1] = row[3, px], row[4, px]
                        normals_out[b, py, px, 2] = row[5, px]
            a = e
        if not shade_on:
            continue
        _texture_row(row, tex_row, w, textures, tmp, offs)
        if shadow_on:  # the shadow light's map, looked up where it lights the surface
            point, lx, ly, lz = l_kind[b, sl] != 0, lvec[sl, 0], lvec[sl, 1], lvec[sl, 2]
            _shadow_row(row, lit, w, smap, l_w2v, l_proj, b, l_ortho[b], point, lx, ly, lz, taps, tmp)
        for r in range(15, 21):  # diffuse and specular sums
            for px in range(w):
                row[r, px] = ZERO
        for li in range(l_kind.shape[1]):
            if l_enabled[b, li]:
                point, lx, ly, lz = l_kind[b, li] != 0, lvec[li, 0], lvec[li, 1], lvec[li, 2]
                _light_row(
                    row, w, point, lx, ly, lz, l_color[b, li, 0], l_color[b, li, 1], l_color[b, li, 2],
                    l_intensity[b, li], shadow_on and li == sl,
                )  # fmt: skip
        _colour_row(row, lit, w, ambient[b, 0], ambient[b, 1], ambient[b, 2], rgb, b, py)


@njit(cache=True, error_model="numpy")
def _surface_run(row, bary, a, e, fy, s, screen, corner, ex, ey, ez, flip, sc, spec, shin, cr, cg, cb):
    """The row buffer's surface inputs (`ROWS` 0-14, U, V) of pixels [a, e) of an image row at height fy, all on
    triangle s (corner attributes corner[s] (3, 8), `_corner_attributes`; the material's colour cr, cg, cb; no
    array views of them: each view costs two atomic reference-count updates), as vector code: each value the same float32
    expression, in the same order, as when each fragment was interpolated alone (the same bytes as before runs).
    Each loop writes one to three rows: numba's compiler vectorizes a loop only while its runtime checks that the
    arrays do not overlap stay few (8 pairs), so a value the rows share (the normal) is computed in each. The
    slices start at 0 and the loops run over range(n): with indices from range(a, e) numba cannot know that
    none is negative, adds wraparound to every access, and the loop stays scalar."""
    x0, y0, x1, y1, x2, y2 = _corners(screen, s)
    w0, w1, w2 = screen[s, 0, 2], screen[s, 1, 2], screen[s, 2, 2]
    n = e - a
    b0, b1, b2 = bary[0, :n], bary[1, :n], bary[2, :n]
    for j in range(n):
        fx = F32(a + j)
        e0 = (x2 - x1) * (fy - y1) - (y2 - y1) * (fx - x1)
        e1 = (x0 - x2) * (fy - y2) - (y0 - y2) * (fx - x2)
        e2 = (x1 - x0) * (fy - y0) - (y1 - y0) * (fx - x0)
        p0, p1, p2 = e0 * w0, e1 * w1, e2 * w2
        tot = p0 + p1 + p2
        b0[j], b1[j], b2[j] = p0 / tot, p1 / tot, p2 / tot
    for k in range(3):  # position
        out, ck0, ck1, ck2 = row[k, a:e], corner[s, 0, k], corner[s, 1, k], corner[s, 2, k]
        for j in range(n):
            out[j] = b0[j] * ck0 + b1[j] * ck1 + b2[j] * ck2
    r0, r1, r2 = row[0, a:e], row[1, a:e], row[2, a:e]
    n03, n13, n23 = corner[s, 0, 3], corner[s, 1, 3], corner[s, 2, 3]
    n04, n14, n24 = corner[s, 0, 4], corner[s, 1, 4], corner[s, 2, 4]
    n05, n15, n25 = corner[s, 0, 5], corner[s, 1, 5], corner[s, 2, 5]
    for k in range(3):  # unit normal, turned to the viewer on a double-sided mesh
        out = row[3 + k, a:e]
        for j in range(n):
            nx = b0[j] * n03 + b1[j] * n13 + b2[j] * n23
            ny = b0[j] * n04 + b1[j] * n14 + b2[j] * n24
            nz = b0[j] * n05 + b1[j] * n15 + b2[j] * n25
            nx, ny, nz = _unit(nx, ny, nz)
            vx, vy, vz = ex - r0[j], ey - r1[j], ez - r2[j]
            m = nx if k == 0 else (ny if k == 1 else nz)
            out[j] = -m if flip and nx * vx + ny * vy + nz * vz < 0 else m
    for k in range(3):  # unit view vector
        out = row[6 + k, a:e]
        for j in range(n):
            vx, vy, vz = _unit(ex - r0[j], ey - r1[j], ez - r2[j])
            out[j] = vx if k == 0 else (vy if k == 1 else vz)
    for k in range(2):  # texture coordinates
        out, ck0, ck1, ck2 = row[U + k, a:e], corner[s, 0, 6 + k], corner[s, 1, 6 + k], corner[s, 2, 6 + k]
        for j in range(n):
            out[j] = (b0[j] * ck0 + b1[j] * ck1 + b2[j] * ck2) * sc
    m9, m10, m11 = row[9, a:e], row[10, a:e], row[11, a:e]
    for j in range(n):  # the material: specular, shininess, the shadow-light visibility's 1
        m9[j], m10[j], m11[j] = spec, shin, ONE
    m12, m13, m14 = row[12, a:e], row[13, a:e], row[14, a:e]
    for j in range(n):  # the colour
        m12[j], m13[j], m14[j] = cr, cg, cb


@njit(cache=True, error_model="numpy", **INTERNAL)
def _texture_row(row, tex_row, w, textures, tmp, offs):
    """Multiply each pixel's albedo (rows 12-14) by its texture at (row[U], row[V]) where it has one (tex_row >= 0):
    a bilinear, repeat-addressed lookup of (N, S, S, 3) uint8 `textures` as `shade_torch`'s. In passes (the
    module's docstring): texel coordinates, their integer parts, the four texels' places in the flat bank as
    unsigned offsets (no wraparound and no strides for the reads), the twelve reads (scalar), the mix a channel at
    a time. Every pixel reads (one with no texture, texture 0) and keeps its albedo where it has none.
    tmp (14, W) float32 and offs (4, W) uint64: the caller's scratch."""
    n, size = textures.shape[0], textures.shape[1]
    if n == 0:  # an empty bank: no pixel has a texture (and there is nothing to read)
        return
    for i in range(w):
        x = row[U, i] * F32(size) - F32(0.5)
        y = row[V, i] * F32(size) - F32(0.5)
        x0f, y0f = F32(ifloor(x)), F32(ifloor(y))
        tmp[12, i], tmp[13, i] = x - x0f, y - y0f
        tmp[0, i], tmp[1, i] = x0f, y0f
    for i in range(w):
        x0, y0 = _wrap(int(tmp[0, i]), size), _wrap(int(tmp[1, i]), size)
        t = min(max(tex_row[i], 0), n - 1)
        x1 = x0 + 1 if x0 + 1 < size else 0
        y1 = y0 + 1 if y0 + 1 < size else 0
        r0, r1 = (t * size + y0) * size, (t * size + y1) * size
        offs[0, i], offs[1, i] = np.uint64(3 * (r0 + x0)), np.uint64(3 * (r0 + x1))
        offs[2, i], offs[3, i] = np.uint64(3 * (r1 + x0)), np.uint64(3 * (r1 + x1))
    flat = textures.reshape(n * size * size * 3)
    one, two = np.uint64(1), np.uint64(2)
    for i in range(w):
        a, b, c, d = offs[0, i], offs[1, i], offs[2, i], offs[3, i]
        tmp[0, i], tmp[1, i], tmp[2, i] = flat[a], flat[a + one], flat[a + two]
        tmp[3, i], tmp[4, i], tmp[5, i] = flat[b], flat[b + one], flat[b + two]
        tmp[6, i], tmp[7, i], tmp[8, i] = flat[c], flat[c + one], flat[c + two]
        tmp[9, i], tmp[10, i], tmp[11, i] = flat[d], flat[d + one], flat[d + two]
    s = F32(1.0 / 255.0)
    for c in range(3):  # a channel a loop: one loop over all three reads too many arrays to be vector code
        for i in range(w):
            ax, ay = tmp[12, i], tmp[13, i]
            val = (tmp[c, i] * s * (ONE - ax) + tmp[3 + c, i] * s * ax) * (ONE - ay) + (
                tmp[6 + c, i] * s * (ONE - ax) + tmp[9 + c, i] * s * ax
            ) * ay
            row[12 + c, i] = row[12 + c, i] * val if tex_row[i] >= 0 else row[12 + c, i]


@njit(cache=True, error_model="numpy")  # with a Python entry: tests call it
def _shadow_row(row, lit, w, smap, l_w2v, l_proj, b, ortho, point, lx0, ly0, lz0, taps, tmp):
    """Row 11: each surface pixel's lit fraction from the shadow light (a directional light's unit vector
    (lx0, ly0, lz0), or a point light's position): 2x2 PCF of the shadow map where the light faces the surface
    (n . l > 0), else 1, as `shade_torch.shadow_visibility`. In passes as `_texture_row`: where each pixel reads
    and the depth it compares, the four texels' places in the map (-1: a texel outside it, lit), the reads and
    tests (scalar), the mix. l_w2v (B, 4, 4) and l_proj (B, 4): the shadow light's views, scene b's read here (no
    view of its row: two atomic reference-count updates a call). taps (4, W) int64 and tmp (14, W) float32: the
    caller's scratch."""
    s = smap.shape[0]
    a00, a01, a02, a03 = l_w2v[b, 0, 0], l_w2v[b, 0, 1], l_w2v[b, 0, 2], l_w2v[b, 0, 3]
    a10, a11, a12, a13 = l_w2v[b, 1, 0], l_w2v[b, 1, 1], l_w2v[b, 1, 2], l_w2v[b, 1, 3]
    a20, a21, a22, a23 = l_w2v[b, 2, 0], l_w2v[b, 2, 1], l_w2v[b, 2, 2], l_w2v[b, 2, 3]
    fx, fy, cx, cy = l_proj[b, 0], l_proj[b, 1], l_proj[b, 2], l_proj[b, 3]
    for i in range(w):
        x_, y_, z_ = row[0, i], row[1, i], row[2, i]
        if point:
            lx, ly, lz = _unit(lx0 - x_, ly0 - y_, lz0 - z_)
        else:
            lx, ly, lz = lx0, ly0, lz0
        ndl = row[3, i] * lx + row[4, i] * ly + row[5, i] * lz
        x = x_ * a00 + y_ * a01 + z_ * a02 + a03
        y = x_ * a10 + y_ * a11 + z_ * a12 + a13
        z = x_ * a20 + y_ * a21 + z_ * a22 + a23
        q = ONE if ortho or z == 0 else ONE / z  # z <= 0: behind the light, lit (below)
        sx = fx * (x * q) + cx
        sy = fy * (y * q) + cy
        # Beyond 1e9 texels (and NaN), a place far outside the map: the same answer (lit, with ax = ay = 0, as a
        # float32 that large has no fraction) without converting a value no int holds.
        sx = sx if abs(sx) < F32(1e9) else F32(-8)
        sy = sy if abs(sy) < F32(1e9) else F32(-8)
        texel = ONE / fx if ortho else z / fx
        bias = texel * (BIAS_TEXELS + SLOPE_TEXELS * (ONE - min(max(ndl, ZERO), ONE)))
        x0f, y0f = F32(ifloor(sx)), F32(ifloor(sy))
        tmp[0, i], tmp[1, i] = sx - x0f, sy - y0f
        tmp[2, i], tmp[3, i] = x0f, y0f
        tmp[4, i] = z - bias if z > 0 else -INF  # behind the light: lit
        tmp[5, i] = ONE if lit[i] & (ndl > 0) else ZERO
    for i in range(w):
        xi, yi = int(tmp[2, i]), int(tmp[3, i])
        in_xa, in_xb = (xi >= 0) & (xi < s), (xi + 1 >= 0) & (xi + 1 < s)
        in_ya, in_yb = (yi >= 0) & (yi < s), (yi + 1 >= 0) & (yi + 1 < s)
        taps[0, i] = yi * s + xi if in_xa & in_ya else -1
        taps[1, i] = yi * s + xi + 1 if in_xb & in_ya else -1
        taps[2, i] = (yi + 1) * s + xi if in_xa & in_yb else -1
        taps[3, i] = (yi + 1) * s + xi + 1 if in_xb & in_yb else -1
    flat = smap.reshape(s * s)
    for i in range(w):
        zb = tmp[4, i]
        o0, o1, o2, o3 = taps[0, i], taps[1, i], taps[2, i], taps[3, i]
        tmp[6, i] = ZERO if (o0 >= 0) & (zb > flat[o0]) else ONE  # o < 0 reads the last texel, unused
        tmp[7, i] = ZERO if (o1 >= 0) & (zb > flat[o1]) else ONE
        tmp[8, i] = ZERO if (o2 >= 0) & (zb > flat[o2]) else ONE
        tmp[9, i] = ZERO if (o3 >= 0) & (zb > flat[o3]) else ONE
    for i in range(w):
        ax, ay = tmp[0, i], tmp[1, i]
        vis = (tmp[6, i] * (ONE - ax) + tmp[7, i] * ax) * (ONE - ay) + (tmp[8, i] * (ONE - ax) + tmp[9, i] * ax) * ay
        row[11, i] = vis if tmp[5, i] > ZERO else ONE


@njit(cache=True, error_model="numpy", **INTERNAL)
def _colour_row(row, lit, w, ar, ag, ab, rgb, b, py):
    """rgb[b, py] (W, 3): a surface pixel's albedo x (ambient + diffuse) + specular, clamped to [0, 1]; a background
    pixel's albedo (its texture or colour)."""
    for i in range(w):
        on = lit[i]
        rgb[b, py, i, 0] = min(max(row[12, i] * (ar + row[15, i]) + row[18, i], ZERO), ONE) if on else row[12, i]
        rgb[b, py, i, 1] = min(max(row[13, i] * (ag + row[16, i]) + row[19, i], ZERO), ONE) if on else row[13, i]
        rgb[b, py, i, 2] = min(max(row[14, i] * (ab + row[17, i]) + row[20, i], ZERO), ONE) if on else row[14, i]


# No fast math (as `_shade_scene`): the same bits compiled or cached. A NaN normal (a degenerate fragment) stays
# selected out below.
@njit(cache=True, error_model="numpy", **INTERNAL)
def _light_row(row, w, point, lx0, ly0, lz0, cr, cg, cb, intensity, shadowed):
    """Add one light's Blinn-Phong diffuse and specular terms to the sums of an image row's w pixels (`ROWS`):
    a directional light's unit vector (lx0, ly0, lz0), or a point light's position. No branch and no call (`fpow`
    for the highlight), so the loop is vector code; background pixels compute harmless values nobody reads."""
    for i in range(w):
        if point:
            lx, ly, lz = lx0 - row[0, i], ly0 - row[1, i], lz0 - row[2, i]
            lx, ly, lz = _unit(lx, ly, lz)
        else:
            lx, ly, lz = lx0, ly0, lz0
        nx, ny, nz = row[3, i], row[4, i], row[5, i]
        ndl = nx * lx + ny * ly + nz * lz
        hx, hy, hz = lx + row[6, i], ly + row[7, i], lz + row[8, i]
        hl = max(F32(math.sqrt(hx * hx + hy * hy + hz * hz)), F32(1e-12))
        ndh = max((nx * hx + ny * hy + nz * hz) / hl, ZERO)
        sp = row[9, i] * fpow(ndh, row[10, i])
        wgt = intensity * (row[11, i] if shadowed else ONE)
        on = ndl > 0  # a light behind the surface adds nothing (selected out: 0 * a NaN would still be NaN)
        row[15, i] += wgt * cr * ndl if on else ZERO
        row[16, i] += wgt * cg * ndl if on else ZERO
        row[17, i] += wgt * cb * ndl if on else ZERO
        row[18, i] += wgt * cr * sp if on else ZERO
        row[19, i] += wgt * cg * sp if on else ZERO
        row[20, i] += wgt * cb * sp if on else ZERO


cache.leave()
