"""experiments/grasping/diagnose.py: dense drops (every candidate executed) and rankers' picks read from them,
cached per checkpoint and dense file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pybullet")

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "experiments" / "grasping"))

import diagnose
from domrand.generators.meshes import primitives
from test_focus import ranker_checkpoint

from domrand.tasks.grasp.objects import GraspObject


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    """Two drops of a 4 x 11 x 5 cm box at 0.12 m (wider than the opening one way), each candidate executed twice."""
    root = tmp_path_factory.mktemp("dense")
    m = primitives.box((0.04, 0.11, 0.05))
    obj = GraspObject("box", m, tuple(m.parts))
    diagnose.label([obj], ["box"], 2, 0, root / "dense.npz", workers=1, jitter=1)
    return root / "dense.npz"


def test_picks_are_the_candidate_the_ranker_scores_highest_and_are_cached(dense, tmp_path):
    from domrand.tasks.grasp import candidates as cand
    from domrand.tasks.grasp.ranker import load_ranker
    from domrand.tasks.grasp.sim import Grasp

    ckpt = ranker_checkpoint(tmp_path / "r.pt", 0)
    d = dict(np.load(dense))
    expect = []
    for j in range(len(d["object"])):
        sel = np.flatnonzero(d["cand_drop"] == j)
        grasps = [Grasp(*map(float, g)) for g in d["cand_grasp"][sel]]
        s = cand.scores(load_ranker(ckpt)[0], diagnose.drop_points(d, j), grasps)
        expect.append(d["cand_success"][sel][int(s.argmax())])
    first = diagnose.rank(dense, [ckpt])
    cache = sorted((dense.parent / "dense.npz.picks").glob("*.npy"))
    assert len(cache) == 1
    assert first["all"]["r"] == pytest.approx(np.mean(expect))
    assert "robust oracle" in first["all"] and first["all"]["oracle"] >= first["all"]["r"]
    assert diagnose.rank(dense, [ckpt]) == first  # from the cache
    ranker_checkpoint(tmp_path / "r.pt", 1)  # other weights at the same path: picked again, not read back
    diagnose.rank(dense, [ckpt])
    assert len(list((dense.parent / "dense.npz.picks").glob("*.npy"))) == 2


def test_moved_shifts_the_centre_in_the_grasps_own_frame():
    import math

    from domrand.tasks.grasp.sim import Grasp, moved

    g = Grasp(0.01, 0.02, 0.03, math.pi / 2, 0.05)  # fingers close along +y
    assert moved(g, 0.004, 0.0, 0.0) == pytest.approx(Grasp(0.01, 0.024, 0.03, math.pi / 2, 0.05))
    assert moved(g, 0.0, 0.004, 0.0) == pytest.approx(Grasp(0.006, 0.02, 0.03, math.pi / 2, 0.05))  # left of +y
    assert moved(g, 0.0, 0.0, 0.1).yaw == pytest.approx(math.pi / 2 + 0.1)


def test_smooth_reads_the_committed_scoring_as_rank_does_and_caches_the_shifted_logits(dense, tmp_path):
    from domrand.tasks.grasp import candidates as cand
    from domrand.tasks.grasp.ranker import load_ranker

    ckpt = ranker_checkpoint(tmp_path / "s.pt", 2)
    d = dict(np.load(dense))
    sel, grasps = diagnose.drop_grasps(d, 0)
    logits = diagnose.shifted_logits(d, ckpt, workers=1)
    assert logits.shape == (len(d["cand_success"]), len(diagnose.SHIFTS), 1, 4)
    expect = cand.scores(load_ranker(ckpt)[0], diagnose.drop_points(d, 0), grasps).numpy()
    np.testing.assert_allclose(logits[sel, 0].mean((1, 2)), expect, atol=1e-4)  # unmoved: the ensemble's logit
    assert not np.allclose(logits[sel, 1], logits[sel, 0])  # moved 3 mm: another crop
    first = diagnose.smooth(dense, ckpt, workers=1)
    assert list(first) == list(diagnose.SCORINGS)
    assert first["mean logit (committed)"] == pytest.approx(diagnose.rank(dense, [ckpt])["all"]["s"])
    assert len(list((dense.parent / "dense.npz.picks").glob("*_shifted_*.npy"))) == 1
    assert diagnose.smooth(dense, ckpt, workers=1) == first  # from the cache
