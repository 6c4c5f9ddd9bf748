"""The localization fine-tune recipes (experiments/localization/pose_recipes/finetune.py): the data they ask for and where they start."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from domrand.cli import _set_overrides
from domrand.config import load_config

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments" / "localization"))
from pose_recipes import common, finetune  # noqa: E402


def _in_git() -> bool:
    r = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", "7123f61"], capture_output=True)
    return r.returncode == 0


def test_hardneg_recipe_shows_more_of_the_shapes_the_misdetections_land_on() -> None:
    world = load_config(overrides=_set_overrides(finetune.HARDNEG["sets"])).world
    first = load_config(overrides=_set_overrides(finetune.FINETUNE["sets"])).world
    preset = load_config().world
    d0, d1 = world.distractor_mesh_ids
    assert d1 - d0 == 132  # 30 primitive entries + 6 more hexagonal prisms + 96 procedural shapes
    share = {w: Counter(w.distractor_primitives)["hexagonal_prism"] / (w.distractor_mesh_ids[1] - w.distractor_mesh_ids[0])
             for w in (world, first, preset)}  # fmt: skip
    assert share[world] == pytest.approx(9 / 132)
    assert share[first] == pytest.approx(1 / 106)
    assert share[preset] == pytest.approx(1 / 34)
    assert set(world.distractor_primitives) == set(preset.distractor_primitives)
    assert world.procedural_distractors == first.procedural_distractors == 96
    # the primitives back near the preset's share of the distractors (36 of 132 against 10 of 34; the first: 10 of 106)
    assert len(world.distractor_primitives) / (d1 - d0) == pytest.approx(10 / 34, abs=0.025)


@pytest.mark.skipif(not _in_git(), reason="needs the git history that holds the first fine-tune's weights")
def test_a_fine_tune_starts_from_the_committed_weights_when_the_run_is_gone(tmp_path: Path) -> None:
    path = common.run_checkpoint(tmp_path, "finetune_128px_80k_4000")
    assert path == tmp_path / "runs" / "finetune_128px_80k_4000" / "best.pt"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == common.INIT_FROM_GIT["finetune_128px_80k_4000"][1]
    assert common.run_checkpoint(tmp_path, "no_such_run") == tmp_path / "runs" / "no_such_run" / "best.pt"


@pytest.mark.skipif(not _in_git(), reason="needs the git history that holds the first fine-tune's weights")
def test_a_restored_checkpoint_of_other_bytes_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(common.INIT_FROM_GIT, "finetune_128px_80k_4000", ("7123f61", "0" * 64))
    with pytest.raises(SystemExit, match="sha256 differs"):
        common.run_checkpoint(tmp_path, "finetune_128px_80k_4000")
    assert not (tmp_path / "runs" / "finetune_128px_80k_4000" / "best.pt").exists()


def test_occlusion_recipe_is_hardneg2_with_occluded_scenes_only() -> None:
    occ, base = finetune.OCCLUSION, finetune.HARDNEG2
    differs = {k for k in {*occ, *base} if occ.get(k) != base.get(k)}
    assert differs == {"name", "sets", "data"}
    assert occ["init"] == "hardneg_128px_64k_6000" == base["init"]  # the same starting weights: the share's ablation
    cfg = load_config(overrides=_set_overrides(occ["sets"]))
    assert cfg.occlusion is not None and cfg.occlusion.share == finetune.OCCLUSION_SHARE
    assert cfg.world == load_config(overrides=_set_overrides(base["sets"])).world
    assert load_config(overrides=_set_overrides(base["sets"])).occlusion is None


@pytest.mark.skipif(not _in_git(), reason="needs the git history that holds the committed weights")
def test_selection_keeps_the_committed_model_when_its_run_folder_is_gone(tmp_path: Path) -> None:
    """A fresh checkout has no work/runs: the committed runs come back from git as candidates, so a new run cannot
    replace cube.pt without beating them."""
    for name, (_, sha) in common.INIT_FROM_GIT.items():
        path = common.run_checkpoint(tmp_path, name)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == sha, name
    assert path.read_bytes() == (common.HERE / "checkpoints" / "cube.pt").read_bytes()  # the newest: committed
