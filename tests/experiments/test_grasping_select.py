"""experiments/grasping's selection (grasp_recipes/selection.py): rows of runs no longer on disk are kept only when the dense drops made
again are the same ones (the committed checkpoint scores what it scored then); a run replaces the committed
checkpoint only by `SELECT_MARGIN` drops."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments" / "grasping"))
from grasp_recipes import selection  # noqa: E402  (experiments/grasping is on the path above)

OLD = {
    "drops": {"procedural": 200, "realistic_train": 200},
    "pick_success_by_set": {
        "procedural": {"grasp": 0.9, "a": 0.95, "b": 0.94},
        "realistic_train": {"grasp": 0.8, "a": 0.895, "b": 0.84},
    },
    "pick_success": {"grasp": 0.85, "a": 0.9225, "b": 0.89},
    "committed": "a",
}


def test_runs_gone_from_disk_keep_their_selection_rows_when_the_committed_model_scores_the_same(tmp_path, monkeypatch):
    monkeypatch.setattr(selection, "RESULTS", tmp_path)
    (tmp_path / "selection.json").write_text(json.dumps(OLD))
    drops = {"procedural": 200, "realistic_train": 200}
    now = {"procedural": {"grasp": 0.95, "c": 0.96}, "realistic_train": {"grasp": 0.895, "c": 0.9}}
    kept = selection.earlier_selection(now, drops)
    assert kept["scores"] == {"a": 0.9225, "b": 0.89}  # "a", committed then, is "grasp" now: kept by its name
    assert kept["by_set"] == {"procedural": {"a": 0.95, "b": 0.94}, "realistic_train": {"a": 0.895, "b": 0.84}}
    assert list(selection._committed_first({"grasp": 0.92, "c": 0.93}, kept["scores"])) == ["grasp", "a", "b", "c"]


def test_selection_rows_are_dropped_when_the_dense_drops_came_out_different(tmp_path, monkeypatch):
    monkeypatch.setattr(selection, "RESULTS", tmp_path)
    (tmp_path / "selection.json").write_text(json.dumps(OLD))
    drops = {"procedural": 200, "realistic_train": 200}
    moved = {"procedural": {"grasp": 0.945, "c": 0.96}, "realistic_train": {"grasp": 0.895, "c": 0.9}}
    assert selection.earlier_selection(moved, drops)["scores"] == {}
    same = {"procedural": {"grasp": 0.95}, "realistic_train": {"grasp": 0.895}}
    assert selection.earlier_selection(same, {"procedural": 100, "realistic_train": 200})["scores"] == {}
    (tmp_path / "selection.json").unlink()
    assert selection.earlier_selection(same, drops) == {
        "scores": {},
        "by_set": {"procedural": {}, "realistic_train": {}},
    }


def test_a_run_replaces_the_committed_checkpoint_only_by_the_margin():
    m = selection.SELECT_MARGIN
    assert selection.winner({"grasp": 370, "a": 370 + m - 1, "b": 360}) == "grasp"  # a lead under the margin: noise
    assert selection.winner({"grasp": 370, "a": 370 + m, "b": 370 + m}) == "b"  # ties go to the later run
    assert selection.winner({"grasp": 370, "a": 380, "b": 375}) == "a"
    assert selection.winner({"a": 360, "b": 359}) == "a"  # nothing committed yet: the best run


def test_pooled_counts_each_keys_successful_picks_over_both_sets():
    by_set = {"procedural": {"grasp": 0.955, "a": 0.95}, "realistic_train": {"grasp": 0.895, "a": 0.9}}
    assert selection.pooled(by_set, {"procedural": 200, "realistic_train": 200}) == {"grasp": 370, "a": 370}
