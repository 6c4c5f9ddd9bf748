"""The compiled twin of `render.shade_torch` (numba): texture lookup, the shadow-map test with 2x2 PCF, and
Blinn-Phong shading of one scene's visible fragments. The shadow bias constants come from
`kernels.constants`, which `shade_torch` reads too, so both back ends use one value.

A row of the image is shaded in passes: each fragment's position, normal, view, material, albedo (texture) and
shadow-light visibility into a row buffer, one fragment at a time; then each light over the whole row with no
branch or call (`_light_row`, `fmath.fpow` for the highlight), which compiles to vector code; then the colours.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from domrand.kernels import cache
from domrand.kernels.constants import SHADOW_BIAS_TEXELS, SHADOW_SLOPE_TEXELS
from domrand.kernels.fmath import fpow, ifloor
from domrand.kernels.frontend import F32, ONE, ZERO, _corners

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

BIAS_TEXELS = np.float32(SHADOW_BIAS_TEXELS)
SLOPE_TEXELS = np.float32(SHADOW_SLOPE_TEXELS)


@njit(cache=True, inline="always")
def _wrap(i, size):
    """i mod size in [0, size) (Python's %), by a mask when size is a power of two: no integer division."""
    if size & (size - 1) == 0:
        return i & (size - 1)
    return i % size


@njit(cache=True, inline="always")
def _tex(textures, idx, u, v):
    """Bilinear, repeat-addressed lookup of texture `idx` at (u, v) -> (r, g, b) in [0, 1]."""
    n, size = textures.shape[0], textures.shape[1]
    idx = min(max(idx, 0), n - 1)
    x = u * F32(size) - F32(0.5)
    y = v * F32(size) - F32(0.5)
    x0f, y0f = F32(ifloor(x)), F32(ifloor(y))
    ax, ay = x - x0f, y - y0f
    x0, y0 = _wrap(int(x0f), size), _wrap(int(y0f), size)
    x1 = x0 + 1 if x0 + 1 < size else 0
    y1 = y0 + 1 if y0 + 1 < size else 0
    s = F32(1.0 / 255.0)
    out0, out1, out2 = ZERO, ZERO, ZERO
    for c in range(3):
        a = F32(textures[idx, y0, x0, c]) * s
        b = F32(textures[idx, y0, x1, c]) * s
        cc = F32(textures[idx, y1, x0, c]) * s
        d = F32(textures[idx, y1, x1, c]) * s
        val = (a * (ONE - ax) + b * ax) * (ONE - ay) + (cc * (ONE - ax) + d * ax) * ay
        if c == 0:
            out0 = val
        elif c == 1:
            out1 = val
        else:
            out2 = val
    return out0, out1, out2


@njit(cache=True, inline="always")
def _shadow(smap, w2v, proj, ortho, x_, y_, z_, ndl):
    """Lit fraction of world point (x_, y_, z_) from one shadow map with 2x2 PCF, as `shadow_visibility`."""
    s = smap.shape[0]
    x = x_ * w2v[0, 0] + y_ * w2v[0, 1] + z_ * w2v[0, 2] + w2v[0, 3]
    y = x_ * w2v[1, 0] + y_ * w2v[1, 1] + z_ * w2v[1, 2] + w2v[1, 3]
    z = x_ * w2v[2, 0] + y_ * w2v[2, 1] + z_ * w2v[2, 2] + w2v[2, 3]
    q = ONE if ortho or z == 0 else ONE / z  # z <= 0: behind the light, lit (below); z == 0 exactly would divide by 0
    sx = proj[0] * (x * q) + proj[2]
    sy = proj[1] * (y * q) + proj[3]
    texel = ONE / proj[0] if ortho else z / proj[0]
    bias = texel * (BIAS_TEXELS + SLOPE_TEXELS * (ONE - min(max(ndl, ZERO), ONE)))
    x0f, y0f = F32(ifloor(sx)), F32(ifloor(sy))
    ax, ay = sx - x0f, sy - y0f
    xi0, yi0 = int(x0f), int(y0f)
    lit00 = lit01 = lit10 = lit11 = ONE
    if z > 0:
        zb = z - bias
        if 0 <= xi0 < s and 0 <= yi0 < s and zb > smap[yi0, xi0]:
            lit00 = ZERO
        if 0 <= xi0 + 1 < s and 0 <= yi0 < s and zb > smap[yi0, xi0 + 1]:
            lit01 = ZERO
        if 0 <= xi0 < s and 0 <= yi0 + 1 < s and zb > smap[yi0 + 1, xi0]:
            lit10 = ZERO
        if 0 <= xi0 + 1 < s and 0 <= yi0 + 1 < s and zb > smap[yi0 + 1, xi0 + 1]:
            lit11 = ZERO
    return (lit00 * (ONE - ax) + lit01 * ax) * (ONE - ay) + (lit10 * (ONE - ax) + lit11 * ax) * ay


@njit(cache=True, inline="always")
def _unit(x, y, z):
    """(x, y, z) scaled to length 1 (a zero vector stays zero)."""
    n = max(F32(math.sqrt(x * x + y * y + z * z)), F32(1e-12))
    return x / n, y / n, z / n


@njit(cache=True)
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
@njit(cache=True)
def _shade_scene(
    b, zbuf, tbuf, screen, weights, world_pos, world_nrm, inst_mesh, faces, uvs, double_sided, inst_tex,
    inst_color, inst_uv_scale, inst_spec, inst_shin, textures, l_kind, l_pos, l_color, l_intensity, l_enabled,
    ambient, eye, smap, l_w2v, l_proj, l_ortho, has_shadow, shadow_light, bg_color, bg_tex, rgb, depth,
    inst_out, normals_out, want_normals, shade_on, corner, corner_of, tri_slot, tri_face,
):  # fmt: skip
    """Deferred shading of one scene, as `shade_torch.resolve` + `shade` + `background`.

    corner (T2, 3, 8) float32 and corner_of (T2,) int64 are the caller's scratch, kept across its scenes: a triangle's
    corners' world position, normal and uv (`_corner_attributes`), valid for scene b where corner_of == b.
    tri_slot, tri_face (T2,) int64: the slot and face of each triangle slot (`tri_slots_faces`)."""
    h, w = zbuf.shape
    ex, ey, ez = eye[b, 0], eye[b, 1], eye[b, 2]
    sun = np.empty((l_kind.shape[1], 3), dtype=np.float32)  # directional lights' unit vectors
    for li in range(l_kind.shape[1]):
        sun[li, 0], sun[li, 1], sun[li, 2] = _unit(l_pos[b, li, 0], l_pos[b, li, 1], l_pos[b, li, 2])
    row = np.zeros((ROWS, w), dtype=np.float32)  # one image row's shading inputs and sums (`ROWS`)
    lit = np.zeros(w, dtype=np.bool_)
    sl = shadow_light[b]
    shadow_on = has_shadow[b] and l_enabled[b, sl]
    for py in range(h):
        lit[:] = False
        for px in range(w):
            s = tbuf[py, px]
            if s < 0:
                depth[b, py, px] = 0
                inst_out[b, py, px] = -1
                if shade_on:
                    if bg_tex[b] >= 0:
                        r, g, bb = _tex(
                            textures, bg_tex[b], (F32(px) + F32(0.5)) / F32(w), (F32(py) + F32(0.5)) / F32(h)
                        )
                    else:
                        r, g, bb = bg_color[b, 0], bg_color[b, 1], bg_color[b, 2]
                    rgb[b, py, px, 0], rgb[b, py, px, 1], rgb[b, py, px, 2] = r, g, bb
                continue
            depth[b, py, px] = zbuf[py, px]
            slot, face = tri_slot[s], tri_face[s]  # s // 2 // F and s // 2 % F, without two integer divisions
            inst_out[b, py, px] = slot
            if not (shade_on or want_normals):
                continue
            fx, fy = F32(px), F32(py)
            x0, y0, x1, y1, x2, y2 = _corners(screen, s)
            e0 = (x2 - x1) * (fy - y1) - (y2 - y1) * (fx - x1)
            e1 = (x0 - x2) * (fy - y2) - (y0 - y2) * (fx - x2)
            e2 = (x1 - x0) * (fy - y0) - (y1 - y0) * (fx - x0)
            p0, p1, p2 = e0 * screen[s, 0, 2], e1 * screen[s, 1, 2], e2 * screen[s, 2, 2]
            tot = p0 + p1 + p2
            p0, p1, p2 = p0 / tot, p1 / tot, p2 / tot
            mesh = inst_mesh[b, slot]
            if corner_of[s] != b:  # the triangle's first pixel in this scene: its corners' attributes, once
                _corner_attributes(s, b, slot, mesh, face, weights, faces, world_pos, world_nrm, uvs, corner)
                corner_of[s] = b
            c = corner[s]
            px_ = p0 * c[0, 0] + p1 * c[1, 0] + p2 * c[2, 0]
            py_ = p0 * c[0, 1] + p1 * c[1, 1] + p2 * c[2, 1]
            pz_ = p0 * c[0, 2] + p1 * c[1, 2] + p2 * c[2, 2]
            nx = p0 * c[0, 3] + p1 * c[1, 3] + p2 * c[2, 3]
            ny = p0 * c[0, 4] + p1 * c[1, 4] + p2 * c[2, 4]
            nz = p0 * c[0, 5] + p1 * c[1, 5] + p2 * c[2, 5]
            u = p0 * c[0, 6] + p1 * c[1, 6] + p2 * c[2, 6]
            v = p0 * c[0, 7] + p1 * c[1, 7] + p2 * c[2, 7]
            nx, ny, nz = _unit(nx, ny, nz)
            vx, vy, vz = ex - px_, ey - py_, ez - pz_
            if double_sided[mesh] and nx * vx + ny * vy + nz * vz < 0:
                nx, ny, nz = -nx, -ny, -nz
            if want_normals:
                normals_out[b, py, px, 0], normals_out[b, py, px, 1], normals_out[b, py, px, 2] = nx, ny, nz
            if not shade_on:
                continue
            vx, vy, vz = _unit(vx, vy, vz)
            ar, ag, ab = inst_color[b, slot, 0], inst_color[b, slot, 1], inst_color[b, slot, 2]
            tex = inst_tex[b, slot]
            if tex >= 0:
                sc = inst_uv_scale[b, slot]
                tr, tg, tb = _tex(textures, tex, u * sc, v * sc)
                ar, ag, ab = ar * tr, ag * tg, ab * tb
            vis = ONE
            if shadow_on:  # the shadow light's map, looked up where it lights the surface
                if l_kind[b, sl] == 0:
                    lx, ly, lz = sun[sl, 0], sun[sl, 1], sun[sl, 2]
                else:
                    lx, ly, lz = l_pos[b, sl, 0] - px_, l_pos[b, sl, 1] - py_, l_pos[b, sl, 2] - pz_
                    lx, ly, lz = _unit(lx, ly, lz)
                ndl = nx * lx + ny * ly + nz * lz
                if ndl > 0:
                    vis = _shadow(smap, l_w2v[b], l_proj[b], l_ortho[b], px_, py_, pz_, ndl)
            row[0, px], row[1, px], row[2, px] = px_, py_, pz_
            row[3, px], row[4, px], row[5, px] = nx, ny, nz
            row[6, px], row[7, px], row[8, px] = vx, vy, vz
            row[9, px], row[10, px], row[11, px] = inst_spec[b, slot], inst_shin[b, slot], vis
            row[12, px], row[13, px], row[14, px] = ar, ag, ab
            lit[px] = True
        if not shade_on:
            continue
        row[15:21, :] = ZERO  # diffuse and specular sums
        for li in range(l_kind.shape[1]):
            if l_enabled[b, li]:
                point = l_kind[b, li] != 0
                lx, ly, lz = (
                    (l_pos[b, li, 0], l_pos[b, li, 1], l_pos[b, li, 2])
                    if point
                    else (sun[li, 0], sun[li, 1], sun[li, 2])
                )
                _light_row(
                    row, w, point, lx, ly, lz, l_color[b, li, 0], l_color[b, li, 1], l_color[b, li, 2],
                    l_intensity[b, li], shadow_on and li == sl,
                )  # fmt: skip
        for px in range(w):
            if lit[px]:
                rgb[b, py, px, 0] = min(max(row[12, px] * (ambient[b, 0] + row[15, px]) + row[18, px], ZERO), ONE)
                rgb[b, py, px, 1] = min(max(row[13, px] * (ambient[b, 1] + row[16, px]) + row[19, px], ZERO), ONE)
                rgb[b, py, px, 2] = min(max(row[14, px] * (ambient[b, 2] + row[17, px]) + row[20, px], ZERO), ONE)


#: Rows of `_shade_scene`'s per-image-row buffer: position 0-2, unit normal 3-5, unit view 6-8, specular
#: strength 9, shininess 10, shadow-light visibility 11, albedo 12-14, diffuse 15-17 and specular 18-20 sums
#: over the lights.
ROWS = 21


# No fast math (as `_shade_scene`): the same bits compiled or cached. A NaN normal (a degenerate fragment) stays
# selected out below.
@njit(cache=True, error_model="numpy")
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
