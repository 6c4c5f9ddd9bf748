"""Grasp labels of piles (`domrand label grasps --clutter K`): the clutter task's piles and trial, the same chunk
format as single-object labels (the ranker trainer reads both), deterministic for a seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from domrand.tasks.grasp.clutter import EXTENT, ClutterSim
from domrand.tasks.grasp.dataset import GraspDataConfig, ObjectPool, generate, label_pile, load

pytest.importorskip("pybullet")


def _arrays(folder: Path) -> dict[str, np.ndarray]:
    return dict(np.load(folder / "chunks" / "000000.npz"))


def test_pile_labels_are_deterministic_and_read_by_the_trainer(tmp_path):
    cfg = GraspDataConfig(num_objects=6, scenes=2, candidates=6, clutter=4, seed=3)
    generate(cfg, tmp_path / "a", workers=1, quiet=True)
    generate(cfg, tmp_path / "b", workers=1, quiet=True)
    a, b = _arrays(tmp_path / "a"), _arrays(tmp_path / "b")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert list(a["object"]) == [-1, -1]  # a pile is many objects
    assert all(EXTENT[0] - 1e-6 <= e <= EXTENT[1] + 1e-6 for e in a["extent"])
    d = load(tmp_path / "a")
    assert d["crops"].shape[1:] == (2, 32, 32) and len(d["success"]) == len(d["grasp"]) >= 8
    other = generate(
        GraspDataConfig(num_objects=6, scenes=2, candidates=6, clutter=4, seed=4), tmp_path / "c", workers=1, quiet=True
    )
    assert not np.array_equal(_arrays(tmp_path / "c")["grasp"], a["grasp"]) and other["scenes"] == 2
    from domrand.tasks.grasp.predict import trained_on_piles
    from domrand.tasks.grasp.ranker import load_ranker
    from domrand.tasks.grasp.trainer import GraspTrainConfig, train_grasp

    train_grasp(
        [str(tmp_path / "a"), str(tmp_path / "c")], str(tmp_path / "run"), GraspTrainConfig(steps=2), quiet=True
    )
    assert trained_on_piles(load_ranker(tmp_path / "run" / "best.pt")[1])  # `predict grasp` reads piles with it


def test_pile_labels_are_the_clutter_trials_outcomes():
    """Each label is what the clutter trial gives that grasp on the settled pile (bin and neighbours included)."""
    cfg = GraspDataConfig(num_objects=6, scenes=1, candidates=6, clutter=5, seed=7)
    sim = ClutterSim()
    try:
        out = label_pile(sim, ObjectPool(cfg), cfg, 0)
        assert out is not None and len(sim.rest_poses) >= 3
        from domrand.tasks.grasp.sim import Grasp

        again = [sim.grasp(Grasp(*map(float, g))).success for g in out["grasp"]]
    finally:
        sim.close()
    assert again == out["success"].tolist()


@pytest.mark.parametrize(
    "kwargs, message",
    [({"clutter": 2}, "clutter must be >= 3"), ({"clutter": 4, "scale_to_max": 0.12}, "scale_to_max is for single")],
)
def test_bad_pile_configs_are_one_clear_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GraspDataConfig(**kwargs)


def test_label_grasps_refuses_a_pile_of_two_in_one_line(tmp_path, capsys):
    from domrand.cli import main

    assert main(["label", "grasps", "--procedural", "3", "--clutter", "2", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "clutter must be >= 3" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_training_with_bin_check_leaves_out_exactly_the_grasps_the_check_rejects():
    """`GraspTrainConfig.bin_check`: per scene, the labels of candidates `clear_of_bin` rejects are left out; a
    scene none of whose candidates is clear keeps them all (as the check does)."""
    from domrand.tasks.grasp.clutter import BIN_INNER
    from domrand.tasks.grasp.trainer import _clear_of_bin

    wall = BIN_INNER / 2 - 0.02
    grasp = np.array(
        [
            [0.0, 0.0, 0.02, 0.0, 0.06],  # scene 0: in the middle: kept
            [wall, 0.0, 0.02, 0.0, 0.06],  # scene 0: a finger over the +x wall: left out
            [wall, 0.0, 0.08, 0.0, 0.06],  # scene 0: the same, above the wall's top: kept
            [wall, 0.0, 0.02, 0.0, 0.06],  # scene 1: nothing clear: kept
        ],
        np.float32,
    )
    d = {"grasp": grasp, "scene": np.array([0, 0, 0, 1]), "success": np.array([1, 0, 1, 0], bool)}
    kept = _clear_of_bin(d)
    assert kept["grasp"].tolist() == grasp[[0, 2, 3]].tolist() and kept["success"].tolist() == [True, True, False]


def test_labelling_with_bin_check_executes_no_sampled_grasp_onto_the_walls(tmp_path):
    """`GraspDataConfig.bin_check`: of each pile's executed grasps only the two baselines (its last rows) may put a
    finger on a wall; without it the same piles execute sampled grasps that do (so the check has work to do)."""
    from domrand.tasks.grasp.clutter import bin_clear
    from domrand.tasks.grasp.sim import Grasp

    def walls(cfg: GraspDataConfig, out: Path) -> tuple[int, int]:
        generate(cfg, out, workers=1, quiet=True)
        d = load(out)
        sampled = onto = 0
        for s in np.unique(d["scene"]):
            rows = d["grasp"][d["scene"] == s]
            onto += sum(not bin_clear(Grasp(*map(float, g))) for g in rows[:-2])
            sampled += len(rows) - 2
        return sampled, onto

    base = dict(num_objects=8, scenes=3, candidates=12, clutter=8, seed=5)
    assert walls(GraspDataConfig(**base), tmp_path / "plain")[1] > 0
    sampled, onto = walls(GraspDataConfig(**base, bin_check=True), tmp_path / "checked")
    assert onto == 0 and sampled == 3 * 10


@pytest.mark.parametrize("field, flag", [("bin_check", "--bin-check"), ("fingertips", "--fingertips")])
def test_a_pile_flag_without_piles_is_one_clear_error(tmp_path, capsys, field, flag):
    from domrand.cli import main

    with pytest.raises(ValueError, match=f"{field} is for piles"):
        GraspDataConfig(**{field: True})
    assert main(["label", "grasps", "--procedural", "3", flag, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert f"{flag} goes with --clutter K" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_labelling_with_fingertips_samples_other_grasps_and_old_folders_resume_without_it(tmp_path):
    """`GraspDataConfig.fingertips`: the same piles get other sampled grasps (the clutter model's sampler); a
    label folder made before the field (no key in its manifest) resumes as one without it, and not as one with it."""
    base = dict(num_objects=8, scenes=2, candidates=40, clutter=8, seed=3)
    generate(GraspDataConfig(**base), tmp_path / "centre", workers=1, quiet=True)
    generate(GraspDataConfig(**base, fingertips=True), tmp_path / "tips", workers=1, quiet=True)
    a, b = load(tmp_path / "centre"), load(tmp_path / "tips")
    assert not np.array_equal(a["grasp"], b["grasp"])
    assert len(a["grasp"]) > 2 * base["scenes"] and len(b["grasp"]) > 2 * base["scenes"]  # sampled ones too
    manifest = json.loads((tmp_path / "centre" / "manifest.json").read_text())
    manifest["config"].pop("fingertips")
    (tmp_path / "centre" / "manifest.json").write_text(json.dumps(manifest))
    generate(GraspDataConfig(**base), tmp_path / "centre", workers=1, quiet=True)  # an old folder resumes
    with pytest.raises(ValueError, match="another configuration"):
        generate(GraspDataConfig(**base, fingertips=True), tmp_path / "centre", workers=1, quiet=True)


@pytest.mark.parametrize("clutter", [None, 5], ids=["single", "piles"])
def test_the_fast_trial_labels_as_the_reference_does(tmp_path, clutter):
    """`--fast-trial` against the reference trial on the same scenes and candidates: the same outcome for every
    executed grasp (on larger samples: 288 of 288 pile grasps and 276 of 276 single-object ones), and the
    manifest records which trial labelled the folder."""
    from dataclasses import replace

    piles = {"clutter": clutter, "bin_check": True, "fingertips": True} if clutter else {}
    cfg = GraspDataConfig(num_objects=10, scenes=3, candidates=10, seed=21, **piles)
    success = {}
    for fast in (False, True):
        out = tmp_path / str(fast)
        generate(replace(cfg, fast_trial=fast), out, workers=1, quiet=True)
        success[fast] = load(out)["success"]
        assert json.loads((out / "manifest.json").read_text())["config"]["fast_trial"] is fast
    assert len(success[False]) >= 25 and np.array_equal(success[False], success[True])
    assert 0 < success[False].mean() < 1  # both outcomes among them
