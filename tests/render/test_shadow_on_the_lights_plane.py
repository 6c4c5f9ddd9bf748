"""Regression: a surface point exactly on a point light's view plane (z == 0 in the light's frame) crashed the compiled
renderer with ZeroDivisionError (`kernels.shade`'s shadow lookup: q = 1 / z before the z > 0 test), killing a
64,000-image `domrand generate` at chunk 662 (seed 108: image 26, a point light whose view plane crosses the table).
Such a point is not in front of the light's shadow camera: it is lit, in both back ends, and nothing is NaN.

The compiled lookup is now a pass over an image row (`kernels.shade._shadow_row`: clamped reads selected out, no
branch on the pixel); it is also checked here against the torch twin on points in, around and far outside the map
and behind the light."""

from __future__ import annotations

import numpy as np
import torch

from domrand.kernels.shade import ROWS, _shadow_row
from domrand.render.frontend import View
from domrand.render.shade_torch import shadow_visibility


def _compiled(smap: np.ndarray, w2v: np.ndarray, proj: np.ndarray, ortho: bool, pos: np.ndarray, ndl: np.ndarray):
    """`_shadow_row` on points pos (P, 3) whose normal makes cosine ndl (P,) with a directional light along z."""
    p = pos.shape[0]
    row = np.zeros((ROWS, p), np.float32)
    row[0:3] = pos.T
    row[4], row[5] = np.sqrt(np.clip(1 - ndl**2, 0, 1)), ndl  # unit normals: n . (0, 0, 1) = ndl
    taps, tmp = np.empty((5, p), np.int64), np.empty((14, p), np.float32)
    _shadow_row(
        row, np.ones(p, np.bool_), p, smap, w2v[None], proj[None], 0, ortho, False, *np.float32([0, 0, 1]), taps, tmp
    )
    return row[11]


def _torch(smap: np.ndarray, w2v: np.ndarray, proj: np.ndarray, ortho: bool, pos: np.ndarray, ndl: np.ndarray):
    s = smap.shape[0]
    view = View(torch.tensor(w2v)[None], torch.tensor(proj)[None], torch.tensor([ortho]), 0.01, (s, s))
    vis = shadow_visibility(torch.tensor(smap)[None], view, torch.tensor(pos)[None], torch.tensor(ndl)[None])[0]
    return torch.where(torch.tensor(ndl) > 0, vis, 1.0).numpy()


def test_shadow_of_a_point_on_the_lights_view_plane_is_lit_in_both_back_ends() -> None:
    smap = np.full((64, 64), 0.5, np.float32)  # an occluder everywhere, half a metre from the light
    w2v = np.eye(4, dtype=np.float32)
    proj = np.array([40.0, 40.0, 31.5, 31.5], np.float32)
    pos = np.array([[0.3, -0.2, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]], np.float32)
    ndl = np.full(3, 0.7, np.float32)
    assert _compiled(smap, w2v, proj, False, pos, ndl).tolist() == [1.0, 1.0, 0.0]  # the last: behind the occluder
    assert _torch(smap, w2v, proj, False, pos, ndl).tolist() == [1.0, 1.0, 0.0]


def test_compiled_shadow_row_matches_the_torch_lookup_in_around_and_outside_the_map() -> None:
    rng = np.random.default_rng(3)
    s = 32
    smap = rng.uniform(0.3, 1.2, (s, s)).astype(np.float32)
    smap[rng.random((s, s)) < 0.2] = np.inf  # empty texels
    w2v = np.eye(4, dtype=np.float32)
    w2v[:3, 3] = [0.01, -0.02, 0.0]
    n = 4000
    pos = np.concatenate(
        [
            rng.uniform([-0.5, -0.5, -0.2], [0.5, 0.5, 1.5], (n, 3)),  # in, around, behind (z <= 0) the light
            rng.uniform([-1e6, -1e6, 0.5], [1e6, 1e6, 1.0], (64, 3)),  # far outside the map
            [[0.0, 0.0, 0.0], [1e30, 0.0, 0.5]],
        ]
    ).astype(np.float32)
    ndl = rng.uniform(-0.3, 1.0, pos.shape[0]).astype(np.float32)
    for ortho, proj in ((False, [40.0, 40.0, 15.5, 15.5]), (True, [30.0, 30.0, 15.5, 15.5])):
        proj = np.array(proj, np.float32)
        got, want = _compiled(smap, w2v, proj, ortho, pos, ndl), _torch(smap, w2v, proj, ortho, pos, ndl)
        assert np.isfinite(got).all()
        assert 0.05 < (got == 0).mean() and (got == 1).mean() < 0.95  # the points are shadowed and lit alike
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
