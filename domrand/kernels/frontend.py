"""The compiled twin of `render.frontend` (numba): world geometry, view transform, near-plane clipping and
projection of one scene's triangles, in the same float32 expressions and order as the torch front end.

Positions come out bit-identical to `frontend.world_geometry` / `frontend.transform` / `frontend.clip_near`
/ `frontend.project` (tested), so both back ends rasterize the same triangles.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from domrand.kernels import cache
from domrand.kernels.cache import INTERNAL

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

F32 = np.float32
INF = np.float32(np.inf)
ONE = np.float32(1.0)
ZERO = np.float32(0.0)


@njit(cache=True, nogil=True)
def world_geometry(lo, hi, vertices, normals, num_vertices, inst_mesh, scale, pose, pos_out, nrm_out):
    """`frontend.world_geometry` for the vertices faces use (the rest of each padded row is left alone).

    vertices, normals (M, V, 3) float32; num_vertices (M,) int64; inst_mesh (B, K); scale (B, K, 3);
    pose (B, K, 4, 4); pos_out, nrm_out (B, K, V, 3) float32. Positions use the same float32 expressions
    in the same order as the torch front end (bit-identical); normals agree to rounding. Scenes [lo, hi)
    (`threads.parallel`).
    """
    k_n = inst_mesh.shape[1]
    for b in range(lo, hi):
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
def scene_buffers(k_n, v_n, t2):
    """The scratch and outputs `front_scene` writes for K slots of V vertices and T2 = 2 * K * F triangles:
    (view_pos (K, V, 3), screen (T2, 3, 4), weights (T2, 3, 3) float32, valid (T2,) bool)."""
    return (
        np.empty((k_n, v_n, 3), dtype=np.float32),
        np.empty((t2, 3, 4), dtype=np.float32),
        np.empty((t2, 3, 3), dtype=np.float32),
        np.empty(t2, dtype=np.bool_),
    )


@njit(cache=True, **INTERNAL)
def front_scene(world_pos, mesh_ids, bank, keep, view, cull_back, out):
    """Front end for one scene and one view, as `frontend.triangles` (same arithmetic, same order).

    Args:
        world_pos: (K, V, 3) float32 world vertex positions. mesh_ids: (K,) int64.
        bank: (faces (M, F, 3) int64, num_faces (M,), num_vertices (M,), double_sided (M,) bool).
        keep: (K,) bool slots to draw.
        view: (w2v (4, 4) float32 world-to-view, proj (4,) float32 fx, fy, cx, cy, ortho bool, near float32).
        cull_back: drop back faces of single-sided meshes.
        out: (view_pos (K, V, 3) float32 scratch, then the outputs screen (T2, 3, 4), weights (T2, 3, 3),
            valid (T2,) with T2 = 2 * K * F).
    """
    faces, num_faces, num_vertices, double_sided = bank
    w2v, proj, ortho, near = view
    view_pos, screen, weights, valid = out
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
            # Each sub-triangle projected, oriented to positive area, culled and stored at slot s, written out here
            # rather than in an inlined function: numba gave an inlined call's array arguments a reference count
            # update each (six atomic operations a face, a tenth of a render's time).
            for sub in range(2 if n_in == 2 else 1):
                s = (k * f_n + f) * 2 + sub
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
                    continue
                front = area < 0
                if cull_back and not (front or ds):
                    continue
                if front:
                    for c in range(4):
                        screen[s, 1, c], screen[s, 2, c] = screen[s, 2, c], screen[s, 1, c]
                    for c in range(3):
                        weights[s, 1, c], weights[s, 2, c] = weights[s, 2, c], weights[s, 1, c]
                valid[s] = True


@njit(cache=True, inline="always")
def _clip_weights(vz, special, n_in, near, wr):
    """Rotated-frame weights (sub-triangle, vertex, rotated source vertex), as `frontend.clip_near`."""
    for sub in range(2):  # element by element: `wr[:] = 0` made an array view a face (two atomic refcount updates)
        for j in range(3):
            for o in range(3):
                wr[sub, j, o] = 0
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


cache.leave()
