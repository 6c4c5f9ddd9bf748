"""Unoccluded silhouette areas per instance slot (for visible fractions), compiled CPU kernel.

Coverage uses the same front end, edge functions and fill rule as the renderer, so every pixel of a
slot's visible mask lies in its silhouette."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from domrand.render.cpu_kernels import cover_range, front_scene


@njit(cache=True, parallel=True)
def silhouette_areas(
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
    """out (B, K) int64: pixels each visible slot would cover with nothing in front of it."""
    b_n, k_n, v_n = world_pos.shape[0], world_pos.shape[1], world_pos.shape[2]
    t2 = 2 * k_n * faces.shape[1]
    for b in prange(b_n):
        view_pos = np.empty((k_n, v_n, 3), dtype=np.float32)
        screen = np.empty((t2, 3, 4), dtype=np.float32)
        weights = np.empty((t2, 3, 3), dtype=np.float32)
        valid = np.empty(t2, dtype=np.bool_)
        stamp = np.full((h, w), -1, dtype=np.int32)
        keep = np.zeros(k_n, dtype=np.bool_)
        for k in range(k_n):
            out[b, k] = 0
            if not visible[b, k]:
                continue
            keep[:] = False
            keep[k] = True
            front_scene(
                world_pos[b],
                inst_mesh[b],
                faces,
                num_faces,
                num_vertices,
                double_sided,
                keep,
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
            out[b, k] = cover_range(screen, valid, 0, t2, stamp, k)


@njit(cache=True, parallel=True)
def mask_stats(instance, k, bbox, pixels):
    """Per slot of each mask (B, H, W): pixel count (B, K) and tight box x0, y0, x1, y1 (B, K, 4),
    x1 and y1 exclusive, -1 where the slot has no pixel."""
    b_n, h, w = instance.shape
    for b in prange(b_n):
        x0 = np.full(k, w, dtype=np.int64)
        y0 = np.full(k, h, dtype=np.int64)
        x1 = np.full(k, -1, dtype=np.int64)
        y1 = np.full(k, -1, dtype=np.int64)
        cnt = np.zeros(k, dtype=np.int64)
        for y in range(h):
            for x in range(w):
                s = instance[b, y, x]
                if 0 <= s < k:
                    cnt[s] += 1
                    x0[s] = min(x0[s], x)
                    x1[s] = max(x1[s], x)
                    y0[s] = min(y0[s], y)
                    y1[s] = max(y1[s], y)
        for s in range(k):
            pixels[b, s] = cnt[s]
            if cnt[s] > 0:
                bbox[b, s, 0], bbox[b, s, 1], bbox[b, s, 2], bbox[b, s, 3] = x0[s], y0[s], x1[s] + 1, y1[s] + 1
            else:
                bbox[b, s, 0], bbox[b, s, 1], bbox[b, s, 2], bbox[b, s, 3] = -1, -1, -1, -1
