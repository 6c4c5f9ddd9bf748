"""The keypoints' visibility flags (`labels.keypoint_visibility`) as one compiled pass: the CPU twin.

The torch function gathers the 3 x 3 pixels around every keypoint of a batch at once, (B, K, 9, 9) index and
comparison tensors: about 6 ms for a render batch of 128 tabletop images, 0.05 ms an image, most of it
allocating and indexing. This kernel visits the same pixels with the same float32 expressions (the tolerance
`KEYPOINT_TOL_M + KEYPOINT_TOL_PX * z / fx`, its least with `KEYPOINT_TOL_EXTENT` times the smallest extent,
the depth difference's magnitude against it), so the flags are the same (tests/kernels/test_keypoints.py).

Example:
    >>> import numpy as np
    >>> from domrand.kernels.keypoints import keypoint_visibility
    >>> kps = np.array([[[[1.0, 1.0, 0.5]] * 9]], np.float32)  # (B=1, K=1, 9, 3): every keypoint at pixel (1, 1)
    >>> out = np.zeros((1, 1, 9), np.int8)
    >>> keypoint_visibility(kps, np.zeros((1, 3, 3), np.int32), np.full((1, 3, 3), 0.5, np.float32),
    ...                     np.ones(1, np.float32), np.ones((1, 1, 3), np.float32), 0.002, 1.0, 0.25, out)
    >>> out.tolist()  # corners on the surface, the centre (last) inside the object
    [[[2, 2, 2, 2, 2, 2, 2, 2, 1]]]
"""

from __future__ import annotations

import numpy as np
from numba import njit

from domrand.kernels import cache

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

F32 = np.float32


@njit(cache=True, nogil=True)
def keypoint_visibility(keypoints, instance, depth, fx, extents, tol_m, tol_px, tol_extent, out):
    """out (B, K, N) int8: `labels.keypoint_visibility` of keypoints (B, K, N, 3) float32 (u, v pixels, z
    metres; the centre last), instance (B, H, W) int32, depth (B, H, W) float32, fx (B,) float32, extents
    (B, K, 3) float32, and its three tolerances (Python floats, taken as float32 as torch takes them)."""
    b_n, k_n, n_n = keypoints.shape[0], keypoints.shape[1], keypoints.shape[2]
    h, w = instance.shape[1], instance.shape[2]
    tm, tp, te = F32(tol_m), F32(tol_px), F32(tol_extent)
    half = F32(0.5)
    for b in range(b_n):
        f = fx[b]
        for k in range(k_n):
            e0, e1, e2 = extents[b, k, 0], extents[b, k, 1], extents[b, k, 2]
            least = min(e0, e1, e2) if e0 == e0 and e1 == e1 and e2 == e2 else F32(np.nan)  # NaN as torch's amin
            cap = te * least
            for n in range(n_n):
                u, v, z = keypoints[b, k, n, 0], keypoints[b, k, n, 1], keypoints[b, k, n, 2]
                px, py = np.floor(u + half), np.floor(v + half)
                if not ((z > 0) and (px >= 0) and (px < w) and (py >= 0) and (py < h)):
                    out[b, k, n] = 0
                    continue
                if n == n_n - 1:  # the centre lies inside the object
                    out[b, k, n] = 1
                    continue
                tol = tm + tp * z / f
                if not (tol == tol and cap == cap):  # torch.minimum keeps a NaN: no depth is near it
                    out[b, k, n] = 1
                    continue
                tol = tol if tol < cap else cap
                x0, y0 = int(px), int(py)
                seen = False
                for y in range(max(y0 - 1, 0), min(y0 + 2, h)):
                    for x in range(max(x0 - 1, 0), min(x0 + 2, w)):
                        if instance[b, y, x] == k and abs(depth[b, y, x] - z) <= tol:
                            seen = True
                out[b, k, n] = 2 if seen else 1


cache.leave()
