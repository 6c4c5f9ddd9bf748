"""`camera.principal_jitter_px`: the principal point moves per image; images and labels move with it."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from domrand.config import load_config
from domrand.labels import compute

OVER = {"image_size": 64, "camera": {"principal_jitter_px": [-4.0, 4.0]}, "noise": {"enabled": False}}


def test_a_whole_pixel_shift_of_the_principal_point_shifts_the_image_by_that_much():
    """An independent check of the renderer and the labels: moving cx, cy by (+3, -2) pixels moves every
    pixel's content by exactly (+3, -2) and every keypoint by the same."""
    pipe = load_config(overrides=OVER).pipeline()
    p = pipe.sample(4, rng=torch.Generator().manual_seed(0))
    cam = p["camera"]
    assert cam.principal_offset.abs().max() > 0.5  # drawn
    zero = dataclasses.replace(cam, principal_offset=torch.zeros_like(cam.principal_offset))
    moved = dataclasses.replace(cam, principal_offset=torch.tensor([[3.0, -2.0]]).expand(4, 2).clone())
    a = pipe.render({**p, "camera": zero})
    b = pipe.render({**p, "camera": moved})
    ia, ib = a.instance.numpy(), b.instance.numpy()
    assert np.array_equal(ib[:, : 64 - 2, 3:], ia[:, 2:, : 64 - 3])
    la = compute(a.scene, a.instance, a.silhouette, a.clean_depth)
    lb = compute(b.scene, b.instance, b.silhouette, b.clean_depth)
    d = (lb.keypoints[..., :2] - la.keypoints[..., :2])[la.present]
    assert torch.allclose(d, torch.tensor([3.0, -2.0]).expand_as(d), atol=1e-3)


def test_off_by_default_and_recorded_when_on():
    assert load_config().camera.principal_jitter_px is None
    pipe = load_config(overrides=OVER).pipeline()
    p = pipe.sample(64, rng=torch.Generator().manual_seed(1))
    k = pipe.scene(p).camera.intrinsics
    off = p["camera"].principal_offset
    assert torch.allclose(k[:, 0, 2] - 31.5, off[:, 0], atol=1e-4) and torch.allclose(
        k[:, 1, 2] - 31.5, off[:, 1], atol=1e-4
    )
    assert float(off.min()) >= -4 and float(off.max()) <= 4 and float(off.std()) > 1.5
