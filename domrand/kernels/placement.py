"""The tabletop placement's distractor spots (`randomizers.placement.place_distractors`) as one compiled pass.

Each distractor takes the first of its candidate spots clear of everything placed before it. The torch loop
runs about ten tensor operations a distractor over the whole batch (4 ms a chunk of 64 images, most of it
dispatch); this kernel visits the same candidates with the same float32 arithmetic: each distance as torch's
vector norm computes a pair, sqrt(fma(dy, dy, dx * dx)) (`fmath.ffma`; sqrt(dx * dx + dy * dy) differs in the last
bit for about one pair in ten), each clearance (r_placed + r_new) + gap, so it picks the same spots
(tests/kernels/test_placement.py).

Example:
    >>> import numpy as np
    >>> from domrand.kernels.placement import place_distractors
    >>> cand = np.array([[[[0.0, 0.0], [0.5, 0.0]]]], np.float32)  # (B=1, D=1, C=2, 2): the first is taken
    >>> xy, placed = np.zeros((1, 1, 2), np.float32), np.zeros((1, 1), np.bool_)
    >>> place_distractors(cand, np.zeros((1, 2), np.float32), np.full(1, 0.1, np.float32),
    ...                   np.full((1, 1), 0.1, np.float32), np.ones(1, np.int64), 0.01, xy, placed)
    >>> xy.tolist(), placed.tolist()
    ([[[0.5, 0.0]]], [[True]])
"""

from __future__ import annotations

import numpy as np
from numba import njit

from domrand.kernels import cache
from domrand.kernels.fmath import ffma

cache.enter()  # the compiled kernels' folder, before the first @njit (`kernels.cache`)

F32 = np.float32


@njit(cache=True, nogil=True)
def place_distractors(cand, target_xy, target_r, r_d, count, gap, xy, placed):
    """Writes xy (B, D, 2) float32 and placed (B, D) bool: for distractor d of scene b, the first of its candidate
    spots cand[b, d] (C, 2) float32 metres whose distance to the target (target_xy (B, 2), footprint radius
    target_r (B,)) and to every distractor placed before it (radius r_d (B, D)) is at least the two radii plus
    `gap` (metres; taken as float32 as torch takes it); with none, its first candidate, not placed. Distractors d >=
    count (B,) int64 are not placed."""
    b_n, d_n, c_n = cand.shape[0], cand.shape[1], cand.shape[2]
    g = F32(gap)
    cx, cy = np.empty(d_n + 1, F32), np.empty(d_n + 1, F32)
    rad, active = np.empty(d_n + 1, F32), np.empty(d_n + 1, np.bool_)
    for b in range(b_n):
        cx[0], cy[0], rad[0], active[0] = target_xy[b, 0], target_xy[b, 1], target_r[b], True
        for d in range(d_n):
            r = r_d[b, d]
            first = -1
            for j in range(c_n):
                px, py = cand[b, d, j, 0], cand[b, d, j, 1]
                clear = True
                for i in range(d + 1):
                    if not active[i]:
                        continue
                    dx, dy = px - cx[i], py - cy[i]
                    if not np.sqrt(ffma(dy, dy, dx * dx)) >= (rad[i] + r) + g:
                        clear = False
                        break
                if clear:
                    first = j
                    break
            j = max(first, 0)
            xy[b, d, 0], xy[b, d, 1] = cand[b, d, j, 0], cand[b, d, j, 1]
            placed[b, d] = first >= 0 and d < count[b]
            cx[d + 1], cy[d + 1], rad[d + 1], active[d + 1] = xy[b, d, 0], xy[b, d, 1], r, placed[b, d]


cache.leave()
