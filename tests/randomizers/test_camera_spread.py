"""`camera.spread`: a per-scene factor on every camera jitter (issue 33: scenes near the nominal camera)."""

from __future__ import annotations

import pytest
import torch

from domrand.config import load_config
from domrand.dist import Choice, Uniform
from domrand.randomizers.camera import CameraJitter

FIELDS = ("eye_offset", "target_offset", "roll", "fov_offset", "principal_offset")


def _draw(cam: CameraJitter, n: int = 512, seed: int = 3) -> dict[str, torch.Tensor]:
    p = cam.sample(n, rng=torch.Generator().manual_seed(seed))
    return {f: getattr(p, f) for f in FIELDS if hasattr(p, f)}


def test_spread_scales_each_scene_s_draws_and_leaves_them_as_they_were_without_it():
    plain = CameraJitter(principal_jitter_px=Uniform(-2.0, 2.0))
    mixed = CameraJitter(principal_jitter_px=Uniform(-2.0, 2.0), spread=Choice((0.2, 1.0)))
    a, b = _draw(plain), _draw(mixed)
    # the factor is drawn after everything else: every field is the plain draw times the scene's factor
    f = b["roll"] / a["roll"]
    near = (f - 0.2).abs() < 1e-4
    assert bool((near | ((f - 1.0).abs() < 1e-4)).all())  # every factor is 0.2 or 1
    assert 0.4 < float(near.float().mean()) < 0.6
    for name in FIELDS:
        scale = f if a[name].ndim == 1 else f[:, None]
        assert torch.allclose(b[name], a[name] * scale, atol=1e-6), name
    # the nearly calibrated scenes: within +-1 cm, +-0.6 deg, +-0.4 px
    assert float(b["eye_offset"][near].abs().max()) <= 0.01 + 1e-6
    assert float(b["roll"][near].abs().max()) <= torch.deg2rad(torch.tensor(0.6)) + 1e-6
    assert float(b["principal_offset"][near].abs().max()) <= 0.4 + 1e-6
    # a factor of one changes nothing
    one = _draw(CameraJitter(principal_jitter_px=Uniform(-2.0, 2.0), spread=Choice((1.0,))))
    assert all(torch.equal(one[k], a[k]) for k in FIELDS)


def test_spread_outside_zero_to_one_is_refused_by_name():
    with pytest.raises(ValueError, match=r"camera\.spread .*\[0, 1\].*got \[0\.5, 2\.0\]"):
        CameraJitter(spread=Uniform(0.5, 2.0))


def test_spread_from_a_config_override_and_off_by_default():
    assert load_config().camera.spread is None
    cfg = load_config(overrides={"image_size": 32, "camera": {"spread": {"kind": "choice", "values": [0.2, 1.0]}}})
    assert cfg.camera.spread == Choice((0.2, 1.0))
    scene = cfg.pipeline().scene(cfg.pipeline().sample(8, rng=torch.Generator().manual_seed(0)))
    assert scene.camera.cam_to_world.shape == (8, 4, 4)
