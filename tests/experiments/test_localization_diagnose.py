"""The localization diagnosis's camera-bias fit (experiments/localization/diagnose.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "localization" / "diagnose.py"
# loaded by path under its own name: tests/grasp imports experiments/grasping/diagnose.py as `diagnose`
_spec = importlib.util.spec_from_file_location("localization_diagnose", SCRIPT)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
affine_offset = _module.affine_offset


def test_affine_offset_recovers_a_contraction_and_a_shift() -> None:
    rng = np.random.default_rng(0)
    t = rng.uniform([-0.3, -0.2], [0.3, 0.2], (2000, 2))
    noise = rng.normal(0, [0.01, 0.02], (2000, 2))
    d = -0.05 * t + [0.0, 0.008] + noise  # positions pulled 5% toward the origin, shifted 8 mm in y
    off, scale, spread = affine_offset(d, t)
    assert abs(scale - 0.95) < 0.01
    np.testing.assert_allclose(off, [0, 0.008], atol=0.001)
    np.testing.assert_allclose(spread, [0.01, 0.02], rtol=0.05)


def test_affine_offset_of_an_unbiased_estimate_is_one() -> None:
    rng = np.random.default_rng(1)
    t = rng.uniform(-0.3, 0.3, (500, 2))
    off, scale, spread = affine_offset(np.zeros_like(t), t)
    assert scale == 1.0
    np.testing.assert_array_equal(off, [0, 0])
    np.testing.assert_array_equal(spread, [0, 0])


def test_misdetections_count_the_object_the_prediction_landed_on() -> None:
    misdetections = _module.misdetections
    true = np.zeros((4, 3))
    objects = [
        [{"class": "box", "extent_m": 0.06, "position": [0.20, 0.0, 0.03]}],  # landed on the box
        [{"class": "box", "extent_m": 0.06, "position": [-0.20, 0.0, 0.03]}],  # 10 cm off, on nothing
        [{"class": "torus", "extent_m": 0.08, "position": [0.0, 0.15, 0.02]}],  # within 5 cm of the truth: fine
        [],
    ]
    pred = np.array([[0.21, 0.01, 0.025], [0.10, 0.0, 0.025], [0.03, 0.0, 0.025], [0.0, 0.0, 0.025]])
    on, elsewhere, seen = misdetections(pred, true, objects)
    assert on == {("box", 0.06): 1}
    assert elsewhere == 1
    assert seen == {"box": 2, "torus": 1}
