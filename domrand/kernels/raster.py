"""The compiled CPU back end: numba kernels that render whole scenes, one thread per scene.

`render_batch` fuses what the torch back end does in separate passes (front end, rasterization,
shadow map, deferred shading) into one loop per scene, with no per-pixel allocation. It evaluates
the same float32 expressions in the same order as `frontend` and `raster_torch` (view transform,
near-plane clip, projection, edge functions, fill rule, depth, depth test with ties to the lower
triangle index), so both back ends pick the same triangle at every pixel and give the same depth;
shading agrees to float tolerance (pow and sqrt may differ in the last bit).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

F32 = np.float32
INF = np.float32(np.inf)
ONE = np.float32(1.0)
ZERO = np.float32(0.0)
BIAS_TEXELS = np.float32(1.5)  # keep in step with shade_torch.SHADOW_BIAS_TEXELS
SLOPE_TEXELS = np.float32(3.0)  # keep in step with shade_torch.SHADOW_SLOPE_TEXELS


@njit(cache=True, parallel=True)
def world_geometry(vertices, normals, num_vertices, inst_mesh, scale, pose, pos_out, nrm_out):
    """`frontend.world_geometry` for the vertices faces use (the rest of each padded row is left alone).

    vertices, normals (M, V, 3) float32; num_vertices (M,) int64; inst_mesh (B, K); scale (B, K, 3);
    pose (B, K, 4, 4); pos_out, nrm_out (B, K, V, 3) float32. Positions use the same float32 expressions
    in the same order as the torch front end (bit-identical); normals agree to rounding.
    """
    b_n, k_n = inst_mesh.shape
    for b in prange(b_n):
        for k in range(k_n):
            m = inst_mesh[b, k]
            t = pose[b, k]
            s0, s1, s2 = scale[b, k, 0], scale[b, k, 1], scale[b, k, 2]
            for v in range(num_vertices[m]):
                x, y, z = vertices[m, v, 0] * s0, vertices[m, v, 1] * s1, vertices[m, v, 2] * s2
                nx, ny, nz = normals[m, v, 0] / s0, normals[m, v, 1] / s1, normals[m, v, 2] / s2
                for i in range(3):
                    pos_out[b, k, v, i] = x * t[i, 0] + y * t[i, 1] + z * t[i, 2] + t[i, 3]
                rx = nx * t[0, 0] + ny * t[0, 1] + nz * t[0, 2]
                ry = nx * t[1, 0] + ny * t[1, 1] + nz * t[1, 2]
                rz = nx * t[2, 0] + ny * t[2, 1] + nz * t[2, 2]
                nl = max(F32(math.sqrt(rx * rx + ry * ry + rz * rz)), F32(1e-12))
                nrm_out[b, k, v, 0], nrm_out[b, k, v, 1], nrm_out[b, k, v, 2] = rx / nl, ry / nl, rz / nl


@njit(cache=True, inline="always")
def _owns(w, dx, dy):
    return w > 0 or (w == 0 and (dy < 0 or (dy == 0 and dx > 0)))


@njit(cache=True)
def front_scene(
    world_pos,
    mesh_ids,
    faces,
    num_faces,
    num_vertices,
    double_sided,
    keep,
    w2v,
    proj,
    ortho,
    near,
    cull_back,
    view_pos,
    screen,
    weights,
    valid,
):
    """Front end for one scene and one view, as `frontend.triangles` (same arithmetic, same order).

    Args:
        world_pos: (K, V, 3) float32 world vertex positions.
        mesh_ids: (K,) int64; faces (M, F, 3) int64; num_faces, num_vertices (M,); double_sided (M,) bool.
        keep: (K,) bool slots to draw.
        w2v: (4, 4) float32 world-to-view; proj (4,) float32 fx, fy, cx, cy; ortho bool; near float32.
        cull_back: drop back faces of single-sided meshes.
        view_pos: (K, V, 3) float32 scratch.
        screen, weights, valid: outputs (T2, 3, 4), (T2, 3, 3), (T2,) with T2 = 2 * K * F.
    """
    k_n = world_pos.shape[0]
    f_n = faces.shape[1]
    fx, fy, cx, cy = proj[0], proj[1], proj[2], proj[3]
    valid[:] = False
    vz = np.empty(3, dtype=np.float32)
    wr = np.empty((2, 3, 3), dtype=np.float32)
    for k in range(k_n):
        if not keep[k]:
            continue
        m = mesh_ids[k]
        for i in range(num_vertices[m]):
            p0, p1, p2 = world_pos[k, i, 0], world_pos[k, i, 1], world_pos[k, i, 2]
            for r in range(3):
                view_pos[k, i, r] = p0 * w2v[r, 0] + p1 * w2v[r, 1] + p2 * w2v[r, 2] + w2v[r, 3]
        ds = double_sided[m]
        for f in range(num_faces[m]):
            i0, i1, i2 = faces[m, f, 0], faces[m, f, 1], faces[m, f, 2]
            vz[0], vz[1], vz[2] = view_pos[k, i0, 2], view_pos[k, i1, 2], view_pos[k, i2, 2]
            n_in = 0
            for j in range(3):
                if vz[j] >= near:
                    n_in += 1
            if n_in == 0:
                continue
            special = 0
            if n_in == 1 or n_in == 2:
                for j in range(3):
                    if (vz[j] >= near) == (n_in == 1):
                        special = j
                        break
            _clip_weights(vz, special, n_in, near, wr)
            for sub in range(2 if n_in == 2 else 1):
                s = (k * f_n + f) * 2 + sub
                _emit(
                    view_pos,
                    k,
                    i0,
                    i1,
                    i2,
                    wr,
                    sub,
                    special,
                    fx,
                    fy,
                    cx,
                    cy,
                    ortho,
                    cull_back,
                    ds,
                    screen,
                    weights,
                    valid,
                    s,
                )


@njit(cache=True, inline="always")
def _clip_weights(vz, special, n_in, near, wr):
    """Rotated-frame weights (sub-triangle, vertex, rotated source vertex), as `frontend.clip_near`."""
    wr[:] = 0
    if n_in == 3:
        for sub in range(2):
            for j in range(3):
                wr[sub, j, j] = 1
        return
    za, zb, zc = vz[special], vz[(special + 1) % 3], vz[(special + 2) % 3]
    t_ab = (near - za) / (zb - za)
    t_ac = (near - za) / (zc - za)
    if n_in == 1:  # [a, p_ab, p_ac]
        wr[0, 0, 0] = 1
        wr[0, 1, 0], wr[0, 1, 1] = ONE - t_ab, t_ab
        wr[0, 2, 0], wr[0, 2, 2] = ONE - t_ac, t_ac
    else:  # [p_ab, b, c] and [p_ab, c, p_ac]
        wr[0, 0, 0], wr[0, 0, 1] = ONE - t_ab, t_ab
        wr[0, 1, 1] = 1
        wr[0, 2, 2] = 1
        wr[1, 0, 0], wr[1, 0, 1] = ONE - t_ab, t_ab
        wr[1, 1, 2] = 1
        wr[1, 2, 0], wr[1, 2, 2] = ONE - t_ac, t_ac


@njit(cache=True, inline="always")
def _corners(screen, t):
    """Screen x, y (pixels) of triangle t's three corners."""
    return screen[t, 0, 0], screen[t, 0, 1], screen[t, 1, 0], screen[t, 1, 1], screen[t, 2, 0], screen[t, 2, 1]


@njit(cache=True, inline="always")
def _emit(view_pos, k, i0, i1, i2, wr, sub, special, fx, fy, cx, cy, ortho, cull_back, ds, screen, weights, valid, s):
    """Project one sub-triangle, orient it to positive area, cull, and store it at slot s."""
    for j in range(3):
        # Un-rotate: source vertex o sits at rotated position (o - special) % 3.
        w0 = wr[sub, j, (0 - special) % 3]
        w1 = wr[sub, j, (1 - special) % 3]
        w2 = wr[sub, j, (2 - special) % 3]
        weights[s, j, 0], weights[s, j, 1], weights[s, j, 2] = w0, w1, w2
        x = w0 * view_pos[k, i0, 0] + w1 * view_pos[k, i1, 0] + w2 * view_pos[k, i2, 0]
        y = w0 * view_pos[k, i0, 1] + w1 * view_pos[k, i1, 1] + w2 * view_pos[k, i2, 1]
        z = w0 * view_pos[k, i0, 2] + w1 * view_pos[k, i1, 2] + w2 * view_pos[k, i2, 2]
        q = ONE if ortho else ONE / z
        screen[s, j, 0] = fx * (x * q) + cx
        screen[s, j, 1] = fy * (y * q) + cy
        screen[s, j, 2] = q
        screen[s, j, 3] = z if ortho else ONE
    x0, y0, x1, y1, x2, y2 = _corners(screen, s)
    area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
    if area == 0 or not np.isfinite(area):
        return
    front = area < 0
    if cull_back and not (front or ds):
        return
    if front:
        for c in range(4):
            screen[s, 1, c], screen[s, 2, c] = screen[s, 2, c], screen[s, 1, c]
        for c in range(3):
            weights[s, 1, c], weights[s, 2, c] = weights[s, 2, c], weights[s, 1, c]
    valid[s] = True


@njit(cache=True)
def raster_scene(screen, valid, zbuf, tbuf):
    """Depth-test every valid triangle of one scene into zbuf (H, W) float32 / tbuf (H, W) int32."""
    h, w = zbuf.shape
    big = F32(4 * max(h, w))
    for t in range(screen.shape[0]):
        if not valid[t]:
            continue
        x0, y0, x1, y1, x2, y2 = _corners(screen, t)
        xmin = max((math.ceil(min(max(min(x0, x1, x2), -big), big))), 0)
        xmax = min((math.floor(min(max(max(x0, x1, x2), -big), big))), w - 1)
        ymin = max((math.ceil(min(max(min(y0, y1, y2), -big), big))), 0)
        ymax = min((math.floor(min(max(max(y0, y1, y2), -big), big))), h - 1)
        if xmin > xmax or ymin > ymax:
            continue
        q0, q1, q2 = screen[t, 0, 2], screen[t, 1, 2], screen[t, 2, 2]
        zq0, zq1, zq2 = screen[t, 0, 3], screen[t, 1, 3], screen[t, 2, 3]
        dx12, dy12, dx20, dy20, dx01, dy01 = x2 - x1, y2 - y1, x0 - x2, y0 - y2, x1 - x0, y1 - y0
        for py in range(ymin, ymax + 1):
            fy = F32(py)
            a0, a1, a2 = dx12 * (fy - y1), dx20 * (fy - y2), dx01 * (fy - y0)
            for px in range(xmin, xmax + 1):
                fx = F32(px)
                w0 = a0 - dy12 * (fx - x1)
                w1 = a1 - dy20 * (fx - x2)
                w2 = a2 - dy01 * (fx - x0)
                if not (_owns(w0, dx12, dy12) and _owns(w1, dx20, dy20) and _owns(w2, dx01, dy01)):
                    continue
                d = (w0 * zq0 + w1 * zq1 + w2 * zq2) / (w0 * q0 + w1 * q1 + w2 * q2)
                zb = zbuf[py, px]
                if d < INF and (d < zb or (d == zb and t < tbuf[py, px])):
                    zbuf[py, px] = d
                    tbuf[py, px] = t


@njit(cache=True)
def cover_range(screen, valid, start, end, stamp, mark):
    """Mark every pixel centre covered by a valid triangle in [start, end) with `mark`; return how many
    were new (the same edge functions and fill rule as `raster_scene`)."""
    h, w = stamp.shape
    big = F32(4 * max(h, w))
    count = 0
    for t in range(start, end):
        if not valid[t]:
            continue
        x0, y0, x1, y1, x2, y2 = _corners(screen, t)
        xmin = max(math.ceil(min(max(min(x0, x1, x2), -big), big)), 0)
        xmax = min(math.floor(min(max(max(x0, x1, x2), -big), big)), w - 1)
        ymin = max(math.ceil(min(max(min(y0, y1, y2), -big), big)), 0)
        ymax = min(math.floor(min(max(max(y0, y1, y2), -big), big)), h - 1)
        dx12, dy12, dx20, dy20, dx01, dy01 = x2 - x1, y2 - y1, x0 - x2, y0 - y2, x1 - x0, y1 - y0
        for py in range(ymin, ymax + 1):
            fy = F32(py)
            a0, a1, a2 = dx12 * (fy - y1), dx20 * (fy - y2), dx01 * (fy - y0)
            for px in range(xmin, xmax + 1):
                if stamp[py, px] == mark:
                    continue
                fx = F32(px)
                w0 = a0 - dy12 * (fx - x1)
                w1 = a1 - dy20 * (fx - x2)
                w2 = a2 - dy01 * (fx - x0)
                if _owns(w0, dx12, dy12) and _owns(w1, dx20, dy20) and _owns(w2, dx01, dy01):
                    stamp[py, px] = mark
                    count += 1
    return count


@njit(cache=True, inline="always")
def _tex(textures, idx, u, v):
    """Bilinear, repeat-addressed lookup of texture `idx` at (u, v) -> (r, g, b) in [0, 1]."""
    n, size = textures.shape[0], textures.shape[1]
    idx = min(max(idx, 0), n - 1)
    x = u * F32(size) - F32(0.5)
    y = v * F32(size) - F32(0.5)
    x0f, y0f = F32(math.floor(x)), F32(math.floor(y))
    ax, ay = x - x0f, y - y0f
    x0, y0 = int(x0f) % size, int(y0f) % size
    x1, y1 = (x0 + 1) % size, (y0 + 1) % size
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
    q = ONE if ortho else ONE / z
    sx = proj[0] * (x * q) + proj[2]
    sy = proj[1] * (y * q) + proj[3]
    texel = ONE / proj[0] if ortho else z / proj[0]
    bias = texel * (BIAS_TEXELS + SLOPE_TEXELS * (ONE - min(max(ndl, ZERO), ONE)))
    x0f, y0f = F32(math.floor(sx)), F32(math.floor(sy))
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


@njit(cache=True, parallel=True)
def render_batch(
    world_pos, world_nrm, inst_mesh, faces, num_faces, num_vertices, uvs, double_sided, visible, cast_shadow,
    cam_w2v, cam_proj, near, l_w2v, l_proj, l_ortho, l_near, has_shadow, shadow_light, smap_size, cull_back,
    inst_tex, inst_color, inst_uv_scale, inst_spec, inst_shin, textures,
    l_kind, l_pos, l_color, l_intensity, l_enabled, ambient, eye, bg_color, bg_tex,
    rgb, depth, inst_out, normals_out, want_normals, shade_on, sil_slots, sil_out,
):  # fmt: skip
    """Render B scenes into rgb (B,H,W,3), depth (B,H,W), inst_out (B,H,W), optionally normals_out, and the
    unoccluded silhouette area of every slot in `sil_slots` (K,) into sil_out (B, K)."""
    b_n, h, w = depth.shape
    k_n, v_n = world_pos.shape[1], world_pos.shape[2]
    t2 = 2 * k_n * faces.shape[1]
    for b in prange(b_n):
        view_pos = np.empty((k_n, v_n, 3), dtype=np.float32)
        screen = np.empty((t2, 3, 4), dtype=np.float32)
        weights = np.empty((t2, 3, 3), dtype=np.float32)
        valid = np.empty(t2, dtype=np.bool_)
        smap = np.full((smap_size, smap_size), INF, dtype=np.float32)
        if has_shadow[b] and shade_on:
            stb = np.full((smap_size, smap_size), -1, dtype=np.int32)
            keep = visible[b] & cast_shadow[b]
            front_scene(
                world_pos[b],
                inst_mesh[b],
                faces,
                num_faces,
                num_vertices,
                double_sided,
                keep,
                l_w2v[b],
                l_proj[b],
                l_ortho[b],
                l_near,
                False,
                view_pos,
                screen,
                weights,
                valid,
            )
            raster_scene(screen, valid, smap, stb)
        front_scene(
            world_pos[b],
            inst_mesh[b],
            faces,
            num_faces,
            num_vertices,
            double_sided,
            visible[b],
            cam_w2v[b],
            cam_proj[b],
            False,
            near,
            cull_back,
            view_pos,
            screen,
            weights,
            valid,
        )
        zbuf = np.full((h, w), INF, dtype=np.float32)
        tbuf = np.full((h, w), -1, dtype=np.int32)
        raster_scene(screen, valid, zbuf, tbuf)
        if sil_slots.any():  # the camera's triangles of each slot are contiguous: 2 * F per slot
            stamp = np.full((h, w), -1, dtype=np.int32)
            f2 = 2 * faces.shape[1]
            for k in range(k_n):
                sil_out[b, k] = cover_range(screen, valid, k * f2, (k + 1) * f2, stamp, k) if sil_slots[k] else 0
        _shade_scene(
            b, zbuf, tbuf, screen, weights, world_pos, world_nrm, inst_mesh, faces, uvs, double_sided, inst_tex,
            inst_color, inst_uv_scale, inst_spec, inst_shin, textures, l_kind, l_pos, l_color, l_intensity,
            l_enabled, ambient, eye, smap, l_w2v, l_proj, l_ortho, has_shadow, shadow_light, bg_color, bg_tex,
            rgb, depth, inst_out, normals_out, want_normals, shade_on,
        )  # fmt: skip


@njit(cache=True, fastmath=True)
def _shade_scene(
    b, zbuf, tbuf, screen, weights, world_pos, world_nrm, inst_mesh, faces, uvs, double_sided, inst_tex,
    inst_color, inst_uv_scale, inst_spec, inst_shin, textures, l_kind, l_pos, l_color, l_intensity, l_enabled,
    ambient, eye, smap, l_w2v, l_proj, l_ortho, has_shadow, shadow_light, bg_color, bg_tex, rgb, depth,
    inst_out, normals_out, want_normals, shade_on,
):  # fmt: skip
    """Deferred shading of one scene, as `shade_torch.resolve` + `shade` + `background`."""
    h, w = zbuf.shape
    f_n = faces.shape[1]
    ex, ey, ez = eye[b, 0], eye[b, 1], eye[b, 2]
    for py in range(h):
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
            src = s // 2
            slot, face = src // f_n, src % f_n
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
            px_ = py_ = pz_ = nx = ny = nz = u = v = ZERO
            for j in range(3):
                bj = p0 * weights[s, 0, j] + p1 * weights[s, 1, j] + p2 * weights[s, 2, j]
                vid = faces[mesh, face, j]
                px_ += bj * world_pos[b, slot, vid, 0]
                py_ += bj * world_pos[b, slot, vid, 1]
                pz_ += bj * world_pos[b, slot, vid, 2]
                nx += bj * world_nrm[b, slot, vid, 0]
                ny += bj * world_nrm[b, slot, vid, 1]
                nz += bj * world_nrm[b, slot, vid, 2]
                u += bj * uvs[mesh, vid, 0]
                v += bj * uvs[mesh, vid, 1]
            nl = max(F32(math.sqrt(nx * nx + ny * ny + nz * nz)), F32(1e-12))
            nx, ny, nz = nx / nl, ny / nl, nz / nl
            vx, vy, vz = ex - px_, ey - py_, ez - pz_
            if double_sided[mesh] and nx * vx + ny * vy + nz * vz < 0:
                nx, ny, nz = -nx, -ny, -nz
            if want_normals:
                normals_out[b, py, px, 0], normals_out[b, py, px, 1], normals_out[b, py, px, 2] = nx, ny, nz
            if not shade_on:
                continue
            vl = max(F32(math.sqrt(vx * vx + vy * vy + vz * vz)), F32(1e-12))
            vx, vy, vz = vx / vl, vy / vl, vz / vl
            ar, ag, ab = inst_color[b, slot, 0], inst_color[b, slot, 1], inst_color[b, slot, 2]
            tex = inst_tex[b, slot]
            if tex >= 0:
                sc = inst_uv_scale[b, slot]
                tr, tg, tb = _tex(textures, tex, u * sc, v * sc)
                ar, ag, ab = ar * tr, ag * tg, ab * tb
            dr = dg = db = sr = sg = sb = ZERO
            for li in range(l_kind.shape[1]):
                if not l_enabled[b, li]:
                    continue
                if l_kind[b, li] == 0:
                    lx, ly, lz = l_pos[b, li, 0], l_pos[b, li, 1], l_pos[b, li, 2]
                else:
                    lx, ly, lz = l_pos[b, li, 0] - px_, l_pos[b, li, 1] - py_, l_pos[b, li, 2] - pz_
                ll = max(F32(math.sqrt(lx * lx + ly * ly + lz * lz)), F32(1e-12))
                lx, ly, lz = lx / ll, ly / ll, lz / ll
                ndl = nx * lx + ny * ly + nz * lz
                if ndl <= 0:
                    continue
                vis = ONE
                if has_shadow[b] and li == shadow_light[b]:
                    vis = _shadow(smap, l_w2v[b], l_proj[b], l_ortho[b], px_, py_, pz_, ndl)
                hx, hy, hz = lx + vx, ly + vy, lz + vz
                hl = max(F32(math.sqrt(hx * hx + hy * hy + hz * hz)), F32(1e-12))
                ndh = max((nx * hx + ny * hy + nz * hz) / hl, ZERO)
                sp = inst_spec[b, slot] * F32(ndh ** inst_shin[b, slot])
                wgt = l_intensity[b, li] * vis
                dr += wgt * l_color[b, li, 0] * ndl
                dg += wgt * l_color[b, li, 1] * ndl
                db += wgt * l_color[b, li, 2] * ndl
                sr += wgt * l_color[b, li, 0] * sp
                sg += wgt * l_color[b, li, 1] * sp
                sb += wgt * l_color[b, li, 2] * sp
            rgb[b, py, px, 0] = min(max(ar * (ambient[b, 0] + dr) + sr, ZERO), ONE)
            rgb[b, py, px, 1] = min(max(ag * (ambient[b, 1] + dg) + sg, ZERO), ONE)
            rgb[b, py, px, 2] = min(max(ab * (ambient[b, 2] + db) + sb, ZERO), ONE)
