"""Focused grasp labels: the focus ranker's best candidates are executed, labelling resumes and refuses another
ranker, a bad ranker is one error, and label folders are trained on together."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

pytest.importorskip("pybullet")

from domrand.generators.meshes import primitives

from domrand.tasks import checkpoint as ckpt
from domrand.tasks.grasp import candidates as cand
from domrand.tasks.grasp.dataset import GraspDataConfig, generate, load, pick_candidates
from domrand.tasks.grasp.objects import GraspObject
from domrand.tasks.grasp.ranker import GraspRanker
from domrand.tasks.grasp.sim import GraspSim


def ranker_checkpoint(path, seed: int) -> str:
    torch.manual_seed(seed)
    ckpt.save(path, "grasp", {"members": [GraspRanker(16).state_dict()], "width": 16, "views": 4})
    return str(path)


@pytest.fixture(scope="module")
def box_scene():
    """World points of a rested 3 x 9 x 4 cm box and the sampler's candidates on it."""
    from domrand.tasks.grasp.views import depth_view

    m = primitives.box((0.03, 0.09, 0.04))
    obj = GraspObject("box", m, tuple(m.parts))
    sim = GraspSim()
    sim.load(obj)
    pos, orn = sim.drop(0)
    sim.close()
    points = cand.world_points(*depth_view(obj, pos, orn, rng=None))
    grasps = cand.sample(points, np.random.default_rng(0))
    assert len(grasps) > 30
    return points, grasps


def test_focused_picks_hold_the_rankers_best_candidates_and_a_random_draw(box_scene):
    points, grasps = box_scene
    cfg = GraspDataConfig(candidates=12, focus="ranker.pt", focus_top=4)

    def widest(crops: torch.Tensor, widths: torch.Tensor) -> torch.Tensor:  # a "ranker" preferring wide openings
        assert crops.shape == (len(grasps), 2, cand.CROP_CELLS, cand.CROP_CELLS)
        return widths

    picks = pick_candidates(points, grasps, cfg, np.random.default_rng(1), widest)
    best = np.argsort([-g.width for g in grasps], kind="stable")[:4]
    assert len(picks) == 10 and picks == sorted(set(picks)) and set(best) <= set(picks)
    other = pick_candidates(points, grasps, cfg, np.random.default_rng(2), widest)
    assert set(best) <= set(other) and other != picks  # the rest is a seeded random draw
    # Without a focus ranker the draw is the one labels were always made with (their bytes are unchanged).
    plain = pick_candidates(points, grasps, GraspDataConfig(candidates=12), np.random.default_rng(1), None)
    assert plain == sorted(np.random.default_rng(1).choice(len(grasps), 10, replace=False).tolist())


def test_focus_needs_room_beside_both_baselines():
    with pytest.raises(ValueError, match="focus_top"):
        GraspDataConfig(candidates=6, focus="x.pt", focus_top=5)
    assert GraspDataConfig(candidates=3).focus_top == 8  # only checked with a focus ranker


def test_a_focus_checkpoint_that_does_not_load_is_one_error_and_writes_nothing(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"junk")
    cfg = GraspDataConfig(num_objects=2, scenes=1, focus=str(tmp_path / "bad.pt"))
    with pytest.raises(ValueError, match=r"bad\.pt"):
        generate(cfg, tmp_path / "labels", workers=1, quiet=True)
    assert not (tmp_path / "labels").exists()


@pytest.fixture(scope="module")
def focused(tmp_path_factory):
    """A two-scene focused label folder and its configuration."""
    root = tmp_path_factory.mktemp("focused")
    cfg = GraspDataConfig(
        num_objects=3, scenes=2, candidates=8, chunk=1, seed=3, focus=ranker_checkpoint(root / "r.pt", 0), focus_top=3
    )
    generate(cfg, root / "labels", workers=1, quiet=True)
    return cfg, root / "labels"


def test_focused_labels_resume_and_refuse_a_changed_ranker(focused, tmp_path):
    cfg, labels = focused
    manifest = json.loads((labels / "manifest.json").read_text())
    assert manifest["config"]["focus"] == cfg.focus and len(manifest["focus_sha256"]) == 64
    chunk = labels / "chunks" / "000001.npz"
    before = chunk.read_bytes()
    chunk.unlink()
    generate(cfg, labels, workers=1, quiet=True)  # resumes: the missing chunk is made again, the same
    assert chunk.read_bytes() == before
    ranker_checkpoint(tmp_path / "other.pt", 1)
    changed = tmp_path / "changed.pt"
    changed.write_bytes((tmp_path / "other.pt").read_bytes())
    same_path = GraspDataConfig(**{**cfg.__dict__, "focus": str(changed)})
    generate(same_path, tmp_path / "l2", workers=1, quiet=True)
    ranker_checkpoint(changed, 2)  # other weights at the same path: the labels would no longer agree
    with pytest.raises(ValueError, match="another configuration"):
        generate(same_path, tmp_path / "l2", workers=1, quiet=True)


def test_regression_label_folders_from_before_focused_labels_still_resume(tmp_path):
    """Their manifests lack `focus` and `focus_top`; a rerun (run.py relabels to resume) must not call them another
    configuration."""
    cfg = GraspDataConfig(num_objects=2, scenes=2, candidates=4, chunk=1, seed=5)
    generate(cfg, tmp_path, workers=1, quiet=True)
    m = json.loads((tmp_path / "manifest.json").read_text())
    for key in ("focus", "focus_top"):
        del m["config"][key]
    (tmp_path / "manifest.json").write_text(json.dumps(m))
    generate(cfg, tmp_path, workers=1, quiet=True)


def test_label_folders_load_together_with_distinct_scenes_and_train(focused, tmp_path):
    from domrand.tasks.grasp.ranker import load_ranker
    from domrand.tasks.grasp.trainer import GraspTrainConfig, train_grasp

    _, labels = focused
    one = load(labels)
    both = load([labels, str(labels)])
    n = len(one["success"])
    assert len(both["success"]) == 2 * n and np.array_equal(both["crops"][n:], one["crops"])
    assert set(both["scene"][:n]).isdisjoint(both["scene"][n:])
    assert np.array_equal(both["scene"][n:], one["scene"] + one["scene"].max() + 1)
    with pytest.raises(ValueError, match="no grasp-label folder"):
        load([])
    with pytest.raises(ValueError, match="nowhere"):
        load([labels, tmp_path / "nowhere"])
    train_grasp([str(labels), str(labels)], str(tmp_path / "run"), GraspTrainConfig(steps=2, batch_size=8), quiet=True)
    _, meta = load_ranker(tmp_path / "run" / "best.pt")
    assert meta["data"] == [str(labels)] * 2 and math.isfinite(meta["val_loss"])
