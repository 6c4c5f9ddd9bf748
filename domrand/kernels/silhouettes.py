"""Unoccluded silhouettes per instance slot (for visible fractions), mask boxes and amodal boxes: compiled CPU kernels.

Coverage uses the same front end, edge functions and fill rule as the renderer, so every pixel of a
slot's visible mask lies in its silhouette."""

from __future__ import annotations

import numpy as np
from numba import njit

from domrand.kernels import cache
from domrand.kernels.constants import MARGIN
from domrand.kernels.fmath import iceil, ifloor
from domrand.kernels.frontend import F32, front_scene, scene_buffers
from domrand.kernels.raster import _owns, cover_stats

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)


@njit(cache=True, nogil=True)
def silhouette_areas(
    lo,
    hi,
    world_pos,
    inst_mesh,
    faces,
    num_faces,
    num_vertices,
    double_sided,
    visible,
    cam_w2v,
    cam_proj,
    near,
    cull_back,
    h,
    w,
    out,
):
    """out (B, K, 6) int64: each visible slot's silhouette with nothing in front of it (`raster.cover_stats`)."""
    k_n, v_n = world_pos.shape[1], world_pos.shape[2]
    t2 = 2 * k_n * faces.shape[1]
    buffers = scene_buffers(k_n, v_n, t2)
    _, screen, _, valid = buffers
    stamp = np.full(((2 * MARGIN + 1) * h, (2 * MARGIN + 1) * w), -1, dtype=np.int32)  # marks: scene * K + slot
    keep = np.zeros(k_n, dtype=np.bool_)
    for b in range(lo, hi):
        for k in range(k_n):
            out[b, k, :] = 0
            if not visible[b, k]:
                continue
            keep[:] = False
            keep[k] = True
            bank = (faces, num_faces, num_vertices, double_sided)
            front_scene(
                world_pos[b], inst_mesh[b], bank, keep, (cam_w2v[b], cam_proj[b], False, near), cull_back, buffers
            )
            cover_stats(screen, valid, 0, t2, stamp, b * k_n + k, out[b, k])


@njit(cache=True, nogil=True)
def mask_stats(lo, hi, instance, k, bbox, pixels):
    """Per slot of each mask (B, H, W): pixel count (B, K) and tight box x0, y0, x1, y1 (B, K, 4),
    x1 and y1 exclusive, -1 where the slot has no pixel."""
    h, w = instance.shape[1], instance.shape[2]
    for b in range(lo, hi):
        x0 = np.full(k, w, dtype=np.int64)
        y0 = np.full(k, h, dtype=np.int64)
        x1 = np.full(k, -1, dtype=np.int64)
        y1 = np.full(k, -1, dtype=np.int64)
        cnt = np.zeros(k, dtype=np.int64)
        for y in range(h):
            row = instance[b, y]
            x = 0
            while x < w:  # a run of one slot at a time: masks are large flat regions (the table: whole rows)
                s = row[x]
                e = x + 1
                while e < w and row[e] == s:
                    e += 1
                if 0 <= s < k:
                    cnt[s] += e - x
                    x0[s] = min(x0[s], x)
                    x1[s] = max(x1[s], e - 1)
                    y0[s] = min(y0[s], y)
                    y1[s] = max(y1[s], y)
                x = e
        for s in range(k):
            pixels[b, s] = cnt[s]
            if cnt[s] > 0:
                bbox[b, s, 0], bbox[b, s, 1], bbox[b, s, 2], bbox[b, s, 3] = x0[s], y0[s], x1[s] + 1, y1[s] + 1
            else:
                bbox[b, s, 0], bbox[b, s, 1], bbox[b, s, 2], bbox[b, s, 3] = -1, -1, -1, -1


@njit(cache=True, nogil=True)
def amodal_boxes(lo, hi, vertices, used, num_vertices, inst_mesh, scale, pose_cam, intrinsics, h, w, out):
    """Image-clipped bounds x0, y0, x1, y1 (B, K, 4) of every slot's used vertices in front of the camera
    (z > 1e-6 m), -1 where none projects to a non-empty box. `labels._amodal_boxes` for the CPU.

    vertices (M, V, 3) float32 object frame; used (M, V) bool; num_vertices (M,); inst_mesh (B, K);
    scale (B, K, 3); pose_cam (B, K, 4, 4) object to camera; intrinsics (B, 3, 3); out (B, K, 4) float32.
    """
    k_n = inst_mesh.shape[1]
    half = np.float32(0.5)
    for b in range(lo, hi):
        fx, fy, cx, cy = intrinsics[b, 0, 0], intrinsics[b, 1, 1], intrinsics[b, 0, 2], intrinsics[b, 1, 2]
        for k in range(k_n):
            m = inst_mesh[b, k]
            t = pose_cam[b, k]
            s0, s1, s2 = scale[b, k, 0], scale[b, k, 1], scale[b, k, 2]
            u0, v0, u1, v1 = np.inf, np.inf, -np.inf, -np.inf
            for v in range(num_vertices[m]):
                if not used[m, v]:
                    continue
                x, y, z = vertices[m, v, 0] * s0, vertices[m, v, 1] * s1, vertices[m, v, 2] * s2
                cz = x * t[2, 0] + y * t[2, 1] + z * t[2, 2] + t[2, 3]
                if not cz > 1e-6:
                    continue
                u = fx * (x * t[0, 0] + y * t[0, 1] + z * t[0, 2] + t[0, 3]) / cz + cx
                vv = fy * (x * t[1, 0] + y * t[1, 1] + z * t[1, 2] + t[1, 3]) / cz + cy
                u0, u1, v0, v1 = min(u0, u), max(u1, u), min(v0, vv), max(v1, vv)
            x0 = min(max(np.float32(u0) + half, 0.0), w)
            x1 = min(max(np.float32(u1) + half, 0.0), w)
            y0 = min(max(np.float32(v0) + half, 0.0), h)
            y1 = min(max(np.float32(v1) + half, 0.0), h)
            if u0 <= u1 and x1 > x0 and y1 > y0:
                out[b, k, 0], out[b, k, 1], out[b, k, 2], out[b, k, 3] = x0, y0, x1, y1
            else:
                out[b, k, 0], out[b, k, 1], out[b, k, 2], out[b, k, 3] = -1.0, -1.0, -1.0, -1.0


@njit(cache=True, nogil=True)
def depth_canvas(cam_pts, faces, fx, fy, cx, cy, oy, ox, depth):
    """Draw one mesh alone, given in camera coordinates, into a depth canvas: the BOP toolkit's model
    render (`calc_gt_info.py`), both faces of every triangle, nearest depth kept.

    Args:
        cam_pts: (V, 3) float32 vertices in the camera frame (OpenCV axes), any unit; triangles with a
            vertex at z <= 0 are skipped (models lie in front of the camera).
        faces: (F, 3) int64.
        fx, fy, cx, cy: float32 intrinsics, pixels.
        oy, ox: image pixel coordinates of the canvas's first pixel (negative: the canvas reaches past
            the image's top and left borders).
        depth: (H_c, W_c) float32, zeros in (the caller's: a canvas reused across models is cleared of the
            last one's box, `io.bop_gt.clear_canvas`, not refilled whole); out: z at each pixel centre the mesh
            covers (same unit as cam_pts), 0 elsewhere. The edge functions and fill rule are the renderer's
            (`raster.raster_scene`).

    Returns:
        (count, y0, y1, x0, x1): the pixels drawn and their box on the canvas (inclusive); (0, 0, -1, 0, -1)
        when none (what `calc_gt_info.py` counts and boxes, without another pass over the canvas).
    """
    hc, wc = depth.shape
    count, by0, by1, bx0, bx1 = 0, hc, -1, wc, -1
    big = F32(4 * max(hc, wc))
    for f in range(faces.shape[0]):
        i0, i1, i2 = faces[f, 0], faces[f, 1], faces[f, 2]
        z0, z1, z2 = cam_pts[i0, 2], cam_pts[i1, 2], cam_pts[i2, 2]
        if not (z0 > 0 and z1 > 0 and z2 > 0):
            continue
        q0, q1, q2 = F32(1) / z0, F32(1) / z1, F32(1) / z2
        x0, y0 = fx * (cam_pts[i0, 0] * q0) + cx, fy * (cam_pts[i0, 1] * q0) + cy
        x1, y1 = fx * (cam_pts[i1, 0] * q1) + cx, fy * (cam_pts[i1, 1] * q1) + cy
        x2, y2 = fx * (cam_pts[i2, 0] * q2) + cx, fy * (cam_pts[i2, 1] * q2) + cy
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        if area == 0 or not np.isfinite(area):
            continue
        if area < 0:  # orient every triangle the same way: both faces are drawn
            x1, y1, x2, y2, q1, q2 = x2, y2, x1, y1, q2, q1
        xmin = max(iceil(min(max(min(x0, x1, x2), -big), big)), ox)
        xmax = min(ifloor(min(max(max(x0, x1, x2), -big), big)), ox + wc - 1)
        ymin = max(iceil(min(max(min(y0, y1, y2), -big), big)), oy)
        ymax = min(ifloor(min(max(max(y0, y1, y2), -big), big)), oy + hc - 1)
        dx12, dy12, dx20, dy20, dx01, dy01 = x2 - x1, y2 - y1, x0 - x2, y0 - y2, x1 - x0, y1 - y0
        for py in range(ymin, ymax + 1):
            fy_ = F32(py)
            a0, a1, a2 = dx12 * (fy_ - y1), dx20 * (fy_ - y2), dx01 * (fy_ - y0)
            for px in range(xmin, xmax + 1):
                fx_ = F32(px)
                w0 = a0 - dy12 * (fx_ - x1)
                w1 = a1 - dy20 * (fx_ - x2)
                w2 = a2 - dy01 * (fx_ - x0)
                if not (_owns(w0, dx12, dy12) and _owns(w1, dx20, dy20) and _owns(w2, dx01, dy01)):
                    continue
                d = (w0 + w1 + w2) / (w0 * q0 + w1 * q1 + w2 * q2)
                cy_, cx_ = py - oy, px - ox
                cur = depth[cy_, cx_]
                if cur == 0:
                    count += 1
                    by0, by1, bx0, bx1 = min(by0, cy_), max(by1, cy_), min(bx0, cx_), max(bx1, cx_)
                if cur == 0 or d < cur:
                    depth[cy_, cx_] = d
    if count == 0:
        return 0, 0, -1, 0, -1
    return count, by0, by1, bx0, bx1


cache.leave()
