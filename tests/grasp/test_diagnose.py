"""experiments/grasping/diagnose.py: dense drops (every candidate executed) and rankers' picks read from them,
cached per checkpoint and dense file."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pybullet")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "experiments" / "grasping"))

import diagnose
from domrand.generators.meshes import primitives
from test_focus import ranker_checkpoint

from domrand.grasp.objects import GraspObject


@pytest.fixture(scope="module")
def dense(tmp_path_factory):
    """Two drops of a 4 x 11 x 5 cm box at 0.12 m (wider than the opening one way), each candidate executed twice."""
    root = tmp_path_factory.mktemp("dense")
    m = primitives.box((0.04, 0.11, 0.05))
    obj = GraspObject("box", m, tuple(m.parts))
    diagnose.label([obj], ["box"], 2, 0, root / "dense.npz", workers=1, jitter=1)
    return root / "dense.npz"


def test_picks_are_the_candidate_the_ranker_scores_highest_and_are_cached(dense, tmp_path):
    from domrand.grasp import candidates as cand
    from domrand.grasp.sim import Grasp
    from domrand.train.grasp_trainer import load_ranker

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
