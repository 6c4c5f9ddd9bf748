"""Regression: a surface point exactly on a point light's view plane (z == 0 in the light's frame) crashed the compiled
renderer with ZeroDivisionError (`kernels.shade._shadow`: q = 1 / z before the z > 0 test), killing a 64,000-image
`domrand generate` at chunk 662 (seed 108: image 26, a point light whose view plane crosses the table). Such a
point is not in front of the light's shadow camera: it is lit, in both back ends, and nothing is NaN."""

from __future__ import annotations

import numpy as np
import torch

from domrand.kernels.shade import _shadow
from domrand.render.frontend import View
from domrand.render.shade_torch import shadow_visibility


def test_shadow_of_a_point_on_the_lights_view_plane_is_lit_in_both_back_ends() -> None:
    smap = np.full((64, 64), 0.5, np.float32)  # an occluder everywhere, half a metre from the light
    w2v = np.eye(4, dtype=np.float32)
    proj = np.array([40.0, 40.0, 31.5, 31.5], np.float32)
    for x, y in ((0.3, -0.2), (0.0, 0.0)):
        lit = _shadow(smap, w2v, proj, False, np.float32(x), np.float32(y), np.float32(0.0), np.float32(0.7))
        assert lit == 1.0
    view = View(torch.eye(4)[None], torch.tensor(proj)[None], torch.tensor([False]), 0.01, (64, 64))
    pos = torch.tensor([[[0.3, -0.2, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]])
    vis = shadow_visibility(torch.tensor(smap)[None], view, pos, torch.full((1, 3), 0.7))
    assert vis[0, :2].tolist() == [1.0, 1.0]
    assert vis[0, 2].item() == 0.0  # the control: a point a metre out, behind the occluder, is in shadow
