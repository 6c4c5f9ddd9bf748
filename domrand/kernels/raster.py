"""The compiled twin of `render.raster_torch` and `Renderer.render` (numba): whole scenes, one call per thread over its share of them.

`render_batch` fuses what the torch back end does in separate passes (front end, rasterization,
shadow map, deferred shading) into one loop over its scenes, with no per-pixel allocation. It evaluates
the same float32 expressions in the same order as `frontend` and `raster_torch` (view transform,
near-plane clip, projection, edge functions, fill rule, depth, depth test with ties to the lower
triangle index), so both back ends pick the same triangle at every pixel and give the same depth;
shading agrees to float tolerance (pow and sqrt may differ in the last bit).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from domrand.kernels import cache
from domrand.kernels.cache import INTERNAL
from domrand.kernels.constants import MARGIN
from domrand.kernels.fmath import iceil, ifloor
from domrand.kernels.frontend import F32, INF, ONE, _corners, front_scene, scene_buffers, world_geometry
from domrand.kernels.shade import _shade_scene, tri_slots_faces

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

__all__ = ["RenderJob", "cover_stats", "front_scene", "raster_scene", "render", "render_batch", "world_geometry"]


@njit(cache=True, inline="always")
def _tie(dx, dy):
    """Whether an edge owns the pixels exactly on it (the top-left rule)."""
    return dy < 0 or (dy == 0 and dx > 0)


@njit(cache=True, inline="always")
def _owns(w, dx, dy):
    return w > 0 or (w == 0 and _tie(dx, dy))


@njit(cache=True, inline="always")
def _root(a, dy, xv):
    """Where one edge's function a - dy * (x - xv) crosses 0 along a row (dy != 0), and whether float rounding
    moves that crossing by under a quarter pixel (else it bounds nothing)."""
    root = xv + a / dy
    slack = F32(1.0e-6) * (abs(a) + abs(dy) * (abs(xv) + abs(root)) + ONE)  # rounding of w near the root, x |dy|
    return root, abs(root) < F32(1e7) and slack < F32(0.25) * abs(dy)


@njit(cache=True, inline="always")
def _enter(a, dy, xv):
    """A pixel column no owned pixel of a row lies left of, from one edge whose function grows with x (dy < 0):
    a pixel below its root, where the root is sure (`_root`), else no bound. `raster_scene` tests a row's pixels
    from here to `_leave`'s bound."""
    if not dy < 0:
        return -(1 << 30)
    root, sure = _root(a, dy, xv)
    return ifloor(root) - 1 if sure else -(1 << 30)


@njit(cache=True, inline="always")
def _leave(a, dy, xv):
    """The mirror of `_enter`: a pixel column no owned pixel of a row lies right of, from one edge whose function
    falls with x (dy > 0): a pixel above its root, where the root is sure, else no bound."""
    if not dy > 0:
        return 1 << 30
    root, sure = _root(a, dy, xv)
    return ifloor(root) + 1 if sure else 1 << 30


@njit(cache=True, inline="always")
def _pixel(fx, a, dy, xv, tie, zq, q):
    """Whether pixel column fx of a row is a triangle's, and its depth there (`raster_scene`): its edges' values
    a[k] - dy[k] * (fx - xv[k]) and the fill rule (`_owns`, with each edge's `_tie` in tie), the depth from the
    corners' zq and q (screen[t, :, 3] and [:, 2])."""
    w0 = a[0] - dy[0] * (fx - xv[0])
    w1 = a[1] - dy[1] * (fx - xv[1])
    w2 = a[2] - dy[2] * (fx - xv[2])
    own = ((w0 > 0) | ((w0 == 0) & tie[0])) & ((w1 > 0) | ((w1 == 0) & tie[1])) & ((w2 > 0) | ((w2 == 0) & tie[2]))
    return own, (w0 * zq[0] + w1 * zq[1] + w2 * zq[2]) / (w0 * q[0] + w1 * q[1] + w2 * q[2])


NARROW = 16  # bounding boxes narrower than this many columns: every column of a row tested (`raster_scene`)


@njit(cache=True, error_model="numpy")  # no zero-divisor check: the row loop vectorizes
def raster_scene(screen, valid, zbuf, tbuf):
    """Depth-test every valid triangle of one scene into zbuf (H, W) float32 / tbuf (H, W) int32; with an empty
    tbuf (0, 0), the depths alone (a shadow map: no triangle ids, the same depths)."""
    h, w = zbuf.shape
    depth_only = tbuf.shape[0] == 0
    big = F32(4 * max(h, w))
    zflat, tflat = zbuf.reshape(h * w), tbuf.reshape(tbuf.size)
    for t in range(screen.shape[0]):
        if not valid[t]:
            continue
        x0, y0, x1, y1, x2, y2 = _corners(screen, t)
        xmin = max((iceil(min(max(min(x0, x1, x2), -big), big))), 0)
        xmax = min((ifloor(min(max(max(x0, x1, x2), -big), big))), w - 1)
        ymin = max((iceil(min(max(min(y0, y1, y2), -big), big))), 0)
        ymax = min((ifloor(min(max(max(y0, y1, y2), -big), big))), h - 1)
        if xmin > xmax or ymin > ymax:
            continue
        q = screen[t, 0, 2], screen[t, 1, 2], screen[t, 2, 2]
        zq = screen[t, 0, 3], screen[t, 1, 3], screen[t, 2, 3]
        dx12, dy12, dx20, dy20, dx01, dy01 = x2 - x1, y2 - y1, x0 - x2, y0 - y2, x1 - x0, y1 - y0
        dy, xv, tie = (dy12, dy20, dy01), (x1, x2, x0), (_tie(dx12, dy12), _tie(dx20, dy20), _tie(dx01, dy01))
        narrow = xmax - xmin < NARROW
        for py in range(ymin, ymax + 1):
            fy = F32(py)
            a0, a1, a2 = dx12 * (fy - y1), dx20 * (fy - y2), dx01 * (fy - y0)
            if narrow:  # a few columns: test them all rather than bound the row (three divisions)
                start, stop = xmin, xmax
            else:
                start = max(_enter(a0, dy12, x1), _enter(a1, dy20, x2), _enter(a2, dy01, x0), xmin)
                stop = min(_leave(a0, dy12, x1), _leave(a1, dy20, x2), _leave(a2, dy01, x0), xmax)
                if start > stop:
                    continue
            a = (a0, a1, a2)
            # Every pixel between the bounds is tested and written back, kept or replaced, without a branch (and
            # numpy's error model: no check for a zero divisor), so the compiler makes the row vector code. The
            # fill rule, depth and tie-break are `_owns` and the test pixel by pixel, unchanged. The row is read
            # through the flat buffers at unsigned offsets: no wraparound test, and no array view a row (each view
            # costs two atomic reference-count updates).
            o = np.uint64(py * w + start)
            if depth_only:  # the nearest depth alone: the same depths as with the tie-break (ties keep the value)
                for i in range(stop + 1 - start):
                    own, d = _pixel(F32(start + i), a, dy, xv, tie, zq, q)
                    zb = zflat[o + np.uint64(i)]
                    zflat[o + np.uint64(i)] = d if own & (d < zb) else zb
                continue
            for i in range(stop + 1 - start):
                own, d = _pixel(F32(start + i), a, dy, xv, tie, zq, q)
                zb, tb = zflat[o + np.uint64(i)], tflat[o + np.uint64(i)]
                take = own & (d < INF) & ((d < zb) | ((d == zb) & (t < tb)))
                zflat[o + np.uint64(i)] = d if take else zb
                tflat[o + np.uint64(i)] = t if take else tb


@njit(cache=True, **INTERNAL)
def cover_stats(screen, valid, start, end, stamp, mark, out):
    """Mark every pixel centre covered by a valid triangle in [start, end) with `mark` (the same edge
    functions and fill rule as `raster_scene`) on a canvas around the (h, w) image, and measure it.

    Args:
        stamp: (H_c, W_c) int32 canvas of (2 * MARGIN + 1) image sizes a side (`domrand.silhouettes`):
            image pixel (x, y) is stamp[y + oy, x + ox] with oy = MARGIN * h, ox = MARGIN * w.
        out: (6,) int64: pixels covered in the image, on the whole canvas, and x0, y0, x1, y1 (image
            pixel coordinates, x1 and y1 exclusive) of the canvas pixels; zeros if none.
    """
    hc, wc = stamp.shape
    h, w = hc // (2 * MARGIN + 1), wc // (2 * MARGIN + 1)
    oy, ox = MARGIN * h, MARGIN * w
    big = F32(4 * max(hc, wc))
    n_in, n_all = 0, 0
    bx0, by0, bx1, by1 = wc, hc, -wc, -hc
    for t in range(start, end):
        if not valid[t]:
            continue
        x0, y0, x1, y1, x2, y2 = _corners(screen, t)
        xmin = max(iceil(min(max(min(x0, x1, x2), -big), big)), -ox)
        xmax = min(ifloor(min(max(max(x0, x1, x2), -big), big)), w - 1 + ox)
        ymin = max(iceil(min(max(min(y0, y1, y2), -big), big)), -oy)
        ymax = min(ifloor(min(max(max(y0, y1, y2), -big), big)), h - 1 + oy)
        dx12, dy12, dx20, dy20, dx01, dy01 = x2 - x1, y2 - y1, x0 - x2, y0 - y2, x1 - x0, y1 - y0
        for py in range(ymin, ymax + 1):
            fy = F32(py)
            a0, a1, a2 = dx12 * (fy - y1), dx20 * (fy - y2), dx01 * (fy - y0)
            for px in range(xmin, xmax + 1):
                if stamp[py + oy, px + ox] == mark:
                    continue
                fx = F32(px)
                w0 = a0 - dy12 * (fx - x1)
                w1 = a1 - dy20 * (fx - x2)
                w2 = a2 - dy01 * (fx - x0)
                if _owns(w0, dx12, dy12) and _owns(w1, dx20, dy20) and _owns(w2, dx01, dy01):
                    stamp[py + oy, px + ox] = mark
                    n_all += 1
                    if 0 <= px < w and 0 <= py < h:
                        n_in += 1
                    bx0, by0, bx1, by1 = min(bx0, px), min(by0, py), max(bx1, px + 1), max(by1, py + 1)
    out[0], out[1] = n_in, n_all
    if n_all == 0:
        bx0, by0, bx1, by1 = 0, 0, 0, 0
    out[2], out[3], out[4], out[5] = bx0, by0, bx1, by1


@njit(cache=True, inline="always")
def _fill2(a, value):
    """Every element of the 2D array a set to value (a loop: no slice-assignment implementation to compile)."""
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            a[i, j] = value


@njit(cache=True, nogil=True)
def render_batch(
    lo, hi,
    world_pos, world_nrm, inst_mesh, faces, num_faces, num_vertices, uvs, double_sided, visible, cast_shadow,
    cam_w2v, cam_proj, near, l_w2v, l_proj, l_ortho, l_near, has_shadow, shadow_light, smap_size, cull_back,
    inst_tex, inst_color, inst_uv_scale, inst_spec, inst_shin, textures,
    l_kind, l_pos, l_color, l_intensity, l_enabled, ambient, eye, bg_color, bg_tex,
    rgb, depth, inst_out, normals_out, want_normals, shade_on, sil_slots, sil_out,
):  # fmt: skip
    """Render scenes [lo, hi) of B into rgb (B,H,W,3), depth (B,H,W), inst_out (B,H,W),
    optionally normals_out, and the unoccluded silhouette of every slot in `sil_slots` (K,) into sil_out
    (B, K, 6) (see `cover_stats`). One call per thread (`threads.parallel`); its scratch serves all its scenes."""
    h, w = depth.shape[1], depth.shape[2]
    k_n, v_n = world_pos.shape[1], world_pos.shape[2]
    t2 = 2 * k_n * faces.shape[1]
    bank = (faces, num_faces, num_vertices, double_sided)
    buffers = scene_buffers(k_n, v_n, t2)
    _, screen, weights, valid = buffers
    # Buffers by np.empty and filled by loops where they need a value: every distinct np.full / np.zeros / np.empty
    # signature is one more compilation of numpy's implementation (a tenth of a second each on a cold start).
    smap = np.empty((smap_size, smap_size), dtype=np.float32)  # filled per scene below
    no_ids = np.empty((0, 0), dtype=np.int32)  # the shadow map keeps depths alone (`raster_scene`)
    zbuf = np.empty((h, w), dtype=np.float32)
    tbuf = np.empty((h, w), dtype=np.int32)
    # Silhouette marks are unique in the batch (scene * K + slot), so the canvas is never cleared.
    any_sil = False
    for k in range(sil_slots.shape[0]):
        any_sil = any_sil or sil_slots[k]
    stamp = np.empty(((2 * MARGIN + 1) * h, (2 * MARGIN + 1) * w) if any_sil else (1, 1), dtype=np.int32)
    _fill2(stamp, -1)
    f2 = 2 * faces.shape[1]
    corner = np.empty((t2, 3, 8), dtype=np.float32)  # shading's per-triangle attributes (`_shade_scene`)
    corner_of = np.empty(t2, dtype=np.int64)
    for s in range(t2):
        corner_of[s] = -1
    tri_slot, tri_face = tri_slots_faces(t2, faces.shape[1])
    # False as a run-time bool, not a literal: both views then call one compiled front_scene (a literal False
    # typed the light's and the camera's calls apart, two compilations: 0.9 s of a cold start).
    false = lo > hi
    for b in range(lo, hi):
        if has_shadow[b] and shade_on:
            _fill2(smap, INF)
            keep = visible[b] & cast_shadow[b]
            light_view = (l_w2v[b], l_proj[b], l_ortho[b], l_near)
            front_scene(world_pos[b], inst_mesh[b], bank, keep, light_view, false, buffers)
            raster_scene(screen, valid, smap, no_ids)
        camera_view = (cam_w2v[b], cam_proj[b], false, near)
        front_scene(world_pos[b], inst_mesh[b], bank, visible[b], camera_view, cull_back, buffers)
        _fill2(zbuf, INF)
        _fill2(tbuf, -1)
        raster_scene(screen, valid, zbuf, tbuf)
        for k in range(k_n):  # the camera's triangles of each slot are contiguous: 2 * F per slot
            sil_out[b, k, :] = 0
            if sil_slots[k]:
                cover_stats(screen, valid, k * f2, (k + 1) * f2, stamp, b * k_n + k, sil_out[b, k])
        _shade_scene(
            b, zbuf, tbuf, screen, weights, world_pos, world_nrm, inst_mesh, faces, uvs, double_sided, inst_tex,
            inst_color, inst_uv_scale, inst_spec, inst_shin, textures, l_kind, l_pos, l_color, l_intensity,
            l_enabled, ambient, eye, smap, l_w2v, l_proj, l_ortho, has_shadow, shadow_light, bg_color, bg_tex,
            rgb, depth, inst_out, normals_out, want_normals, shade_on, corner, corner_of, tri_slot, tri_face,
        )  # fmt: skip


class RenderJob(NamedTuple):
    """Everything `render_batch` reads and writes, packed: the renderer builds one and calls `render(job)`.

    Fields are numpy arrays (shapes below) or scalars, in `render_batch`'s argument order.
    """

    world_pos: Any  # (B, K, V, 3) float32 world positions of every slot's vertices
    world_nrm: Any  # (B, K, V, 3) float32 world normals
    inst_mesh: Any  # (B, K) int64 mesh bank index per slot
    faces: Any  # (M, F, 3) int32 padded faces of the mesh bank
    num_faces: Any  # (M,) int64 faces per mesh
    num_vertices: Any  # (M,) int64 vertices per mesh
    uvs: Any  # (M, V, 2) float32 texture coordinates
    double_sided: Any  # (M,) bool
    visible: Any  # (B, K) bool slots drawn
    cast_shadow: Any  # (B, K) bool slots in the shadow map
    cam_w2v: Any  # (B, 4, 4) float32 world-to-view of the camera
    cam_proj: Any  # (B, 4) float32 fx, fy, cx, cy (pixels)
    near: Any  # float32 camera near plane, metres
    l_w2v: Any  # (B, 4, 4) float32 world-to-view of the shadow light
    l_proj: Any  # (B, 4) float32 its projection
    l_ortho: Any  # (B,) bool orthographic (directional) shadow views
    l_near: Any  # float32 shadow near plane, metres
    has_shadow: Any  # (B,) bool scenes with a shadow map
    shadow_light: Any  # (B,) int64 index of the shadow-casting light
    smap_size: Any  # int shadow map side, texels
    cull_back: Any  # bool cull back faces
    inst_tex: Any  # (B, K) int64 texture index (-1: colour only)
    inst_color: Any  # (B, K, 3) float32 base colour
    inst_uv_scale: Any  # (B, K) float32
    inst_spec: Any  # (B, K) float32 specular strength
    inst_shin: Any  # (B, K) float32 shininess
    textures: Any  # (N, S, S, 3) uint8 texture bank
    l_kind: Any  # (B, L) int64 light kinds
    l_pos: Any  # (B, L, 3) float32 positions or directions
    l_color: Any  # (B, L, 3) float32
    l_intensity: Any  # (B, L) float32
    l_enabled: Any  # (B, L) bool
    ambient: Any  # (B, 3) float32
    eye: Any  # (B, 3) float32 camera centres, world
    bg_color: Any  # (B, 3) float32 background colour
    bg_tex: Any  # (B,) int64 background texture (-1: none)
    rgb: Any  # out (B, H, W, 3) float32
    depth: Any  # out (B, H, W) float32 metres along the optical axis
    inst_out: Any  # out (B, H, W) int32 slot per pixel, -1 background
    normals_out: Any  # out (B, H, W, 3) float32 (or a (1, 1, 1, 3) dummy)
    want_normals: Any  # bool write normals_out
    shade_on: Any  # bool shade (False: geometry only)
    sil_slots: Any  # (K,) bool slots whose unoccluded silhouette area is counted
    sil_out: Any  # out (B, K, 6) int64 silhouette stats (`cover_stats`; `domrand.silhouettes.Silhouettes`)


def render(job: RenderJob) -> None:
    """Render the scenes of `job` into its output arrays (rgb, depth, inst_out, normals_out, sil_out), on every
    kernel thread (`threads.parallel`)."""
    from domrand.kernels.threads import parallel

    parallel(render_batch, job.depth.shape[0], *job)


cache.leave()
