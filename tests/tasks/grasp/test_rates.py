"""Rate labels: each candidate executed again under execution noise and labelled with its success rate, and the
trainer fitting the rate."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("pybullet")

from domrand.tasks.grasp.dataset import GraspDataConfig, generate, load
from domrand.tasks.grasp.sim import EXECUTION_NOISE_M, EXECUTION_NOISE_RAD, Grasp, GraspSim, jittered


def test_jittered_moves_only_the_centre_and_yaw_by_the_stated_noise():
    g = Grasp(0.01, -0.02, 0.03, 0.4, 0.06)
    moved = [jittered(g, np.random.default_rng(s)) for s in range(4000)]
    dx = np.array([m.x - g.x for m in moved])
    dy = np.array([m.y - g.y for m in moved])
    dyaw = np.array([m.yaw - g.yaw for m in moved])
    assert {(m.z, m.width) for m in moved} == {(g.z, g.width)}
    assert abs(dx.std() / EXECUTION_NOISE_M - 1) < 0.05 and abs(dy.std() / EXECUTION_NOISE_M - 1) < 0.05
    assert abs(dyaw.std() / EXECUTION_NOISE_RAD - 1) < 0.05 and abs(dx.mean()) < 1e-4
    assert jittered(g, np.random.default_rng(7)) == jittered(g, np.random.default_rng(7))


def test_a_pinch_across_a_boxs_narrow_side_holds_under_execution_noise():
    from test_grasp import rested_box

    sim = GraspSim()
    try:
        pos, narrow, _ = rested_box(sim, (0.04, 0.10, 0.06))
        g = Grasp(pos[0], pos[1], pos[2], narrow, 0.07)
        rng = np.random.default_rng(0)
        assert all(sim.grasp(jittered(g, rng)).success for _ in range(4))
    finally:
        sim.close()


@pytest.fixture(scope="module")
def rate_folders(tmp_path_factory):
    """The same scenes labelled once and with 3 executions per candidate."""
    root = tmp_path_factory.mktemp("rates")
    kw = {"num_objects": 3, "scenes": 3, "candidates": 8, "chunk": 2, "seed": 4, "scale_to": 0.12}
    generate(GraspDataConfig(**kw), root / "once", workers=1, quiet=True)
    generate(GraspDataConfig(**kw, executions=3), root / "thrice", workers=1, quiet=True)
    return root / "once", root / "thrice"


def test_rate_labels_keep_the_scenes_and_first_outcomes_and_add_rates(rate_folders):
    once, thrice = rate_folders
    a, b = load(once), load(thrice)
    for key in ("crops", "grasp", "success", "scene"):
        assert np.array_equal(a[key], b[key]), key  # the extra executions draw from their own stream
    assert np.array_equal(a["target"], a["success"].astype(np.float32))  # one execution: the outcome
    rates = b["target"]
    assert set(np.round(3 * rates).astype(int)) <= {0, 1, 2, 3} and np.allclose(3 * rates, np.round(3 * rates))
    # the first execution counts: a success has a rate of at least 1/3, a failure at most 2/3
    assert (rates[b["success"]] >= 1 / 3 - 1e-6).all() and (rates[~b["success"]] <= 2 / 3 + 1e-6).all()
    both = load([once, thrice])
    assert np.array_equal(both["target"], np.concatenate([a["target"], rates]))


def test_rate_labels_are_the_same_on_a_rerun_and_train(rate_folders, tmp_path):
    from domrand.tasks.grasp.trainer import GraspTrainConfig, train_grasp

    _, thrice = rate_folders
    chunk = thrice / "chunks" / "000000.npz"
    before = chunk.read_bytes()
    chunk.unlink()
    generate(GraspDataConfig(**_config(thrice)), thrice, workers=1, quiet=True)
    assert chunk.read_bytes() == before
    s = train_grasp(str(thrice), str(tmp_path / "run"), GraspTrainConfig(steps=2, batch_size=8), quiet=True)
    assert math.isfinite(s["best_val_loss"])


def _config(folder) -> dict:
    import json

    return json.loads((folder / "manifest.json").read_text())["config"]


def test_executions_below_one_are_one_error_naming_the_value():
    with pytest.raises(ValueError, match="executions must be >= 1, got 0"):
        GraspDataConfig(executions=0)
