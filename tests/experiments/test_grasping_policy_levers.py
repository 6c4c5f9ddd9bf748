"""experiments/grasping/policy_levers.py: its descent check reads from the depth image where physics stops the
gripper, and its runner with the committed policy chooses the grasps `domrand evaluate grasp --clutter` chooses."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from grasp_objects import UP, box

from domrand.tasks.grasp import candidates as cand
from domrand.tasks.grasp.clutter import ClutterSim, Pile, in_bin, make_pile, pile_view
from domrand.tasks.grasp.objects import from_procedural
from domrand.tasks.grasp.sim import Grasp

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments" / "grasping"))
import policy_levers  # noqa: E402  (experiments/grasping is on the path above)

pytest.importorskip("pybullet")


def test_descent_rise_foresees_a_finger_landing_on_a_tall_neighbour_as_physics_does():
    """A small box beside a tall one: closing along x the right finger comes down on the tall box (PyBullet stops
    the descent about 8 cm above the grasp's height), closing along y both fingers reach the table."""
    pile = Pile((box(0.03, 0.03, 0.03), box(0.05, 0.05, 0.10)), 0)
    poses = {0: ([0.0, 0.0, 0.015], UP), 1: ([0.055, 0.0, 0.05], UP)}
    sim = ClutterSim()
    try:
        sim.load_pile(pile)
        sim.place(poses)
        lands, free = Grasp(0.0, 0.0, 0.0, 0.0, 0.08), Grasp(0.0, 0.0, 0.0, np.pi / 2, 0.05)
        physics = [sim.grasp(g).stopped_at - g.z for g in (lands, free)]
    finally:
        sim.close()
    depth, _, k, c2w = pile_view(pile, poses, None)
    rise = policy_levers.descent_rise(in_bin(cand.world_points(depth, k, c2w)), [lands, free])
    assert physics[0] > 0.06 and rise[0] > 0.06  # the tall box's top (10 cm) under a finger: tips 7.5 cm higher
    assert physics[1] < 0.03 and rise[1] < 0.03  # down to the small box (palm on its top) or the table


def test_the_committed_policy_chooses_as_the_evaluation_does():
    """`LeverRunner` with no variant and `PileRunner` (what `domrand evaluate grasp --clutter` runs) pick the same
    grasp on the same views, with and without failed grasps to avoid."""
    from domrand.tasks.grasp.evaluate_clutter import PileRunner

    objects = [from_procedural(s) for s in range(1_500_000, 1_500_010)]
    args = (str(policy_levers.COMMITTED), objects, 8, True, ("model",), True, True, True)
    plain, lever = PileRunner(*args), policy_levers.LeverRunner({}, False, *args)
    try:
        for p in range(2):
            pile = make_pile(objects, 8, 100 + p)
            plain.sim.load_pile(pile)
            plain.sim.settle(pile.seed)
            depth, instance, k, c2w = pile_view(pile, plain.sim.rest_poses, None)
            points = in_bin(cand.world_points(depth, k, c2w))
            first = plain.choose("model", points, instance, np.random.default_rng(p))
            assert first is not None
            assert lever.choose("model", points, instance, np.random.default_rng(p)) == first
            again = plain.choose("model", points, instance, np.random.default_rng(p), [first])
            assert again != first
            assert lever.choose("model", points, instance, np.random.default_rng(p), [first]) == again
    finally:
        plain.sim.close()
        lever.sim.close()


def test_tta_scores_prefer_a_grasp_whose_neighbours_score_as_well(monkeypatch):
    """Test-time augmentation (`tta_*` variants): with a ranker that scores 1 for grasps whose x is below 4 mm and
    -10 beyond, a grasp at x = 2 mm (its copy moved 3 mm along x is past the edge) scores as the mean / least of its
    five copies, below a grasp at -5 mm whose copies all score 1; turned copies keep x."""
    import torch

    edge = lambda g: 1.0 if g.x < 0.004 else -10.0  # noqa: E731
    monkeypatch.setattr(cand, "scores", lambda model, points, gs: torch.tensor([edge(g) for g in gs]))
    near, inside = Grasp(0.002, 0.0, 0.02, 0.0, 0.05), Grasp(-0.005, 0.0, 0.02, 0.0, 0.05)
    mean = policy_levers.tta_scores(None, np.zeros((1, 1, 3)), [near, inside], (0.003, 0.0, "mean"))
    assert mean.tolist() == pytest.approx([(4 * 1.0 - 10.0) / 5, 1.0])
    least = policy_levers.tta_scores(None, np.zeros((1, 1, 3)), [near, inside], (0.003, 10.0, "min"))
    assert least.tolist() == [-10.0, 1.0]
    turned = policy_levers.tta_scores(None, np.zeros((1, 1, 3)), [inside], (0.0, 10.0, "mean"))
    assert turned.tolist() == [1.0]  # seven copies at the same centre
