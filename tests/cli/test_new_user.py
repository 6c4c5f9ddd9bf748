"""What a new user meets first (issue: "What a new user meets first"): each test is named after what went wrong."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from domrand.cli import main
from domrand.config import load_config
from domrand.generate import GenerateOptions, generate

SMALL = {"image_size": 32, "chunk_size": 8}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "ds"
    generate(
        load_config(overrides=SMALL), GenerateOptions(out=out, num=16, seed=3, formats=("native", "jsonl"), quiet=True)
    )
    return out


def files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_regression_a_datasets_config_could_not_be_fed_back(small, tmp_path, capsys):
    """`generate --config DIR` (or DIR/manifest.json, or `domrand config DIR` saved as YAML) makes the same dataset."""
    assert main(["generate", "--config", str(small), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert files(tmp_path / "a") == files(small)
    assert main(["generate", "--config", str(small / "manifest.json"), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert files(tmp_path / "b") == files(small)
    capsys.readouterr()
    assert main(["config", str(small)]) == 0
    (tmp_path / "my.yaml").write_text(capsys.readouterr().out)
    args = ["generate", "--config", str(tmp_path / "my.yaml"), "--num", "16", "--seed", "3", "--format", "native,jsonl"]
    assert main([*args, "--out", str(tmp_path / "c"), "--quiet"]) == 0
    ours, theirs = files(tmp_path / "c"), files(small)
    assert {k: v for k, v in ours.items() if k != "manifest.json"} == {
        k: v for k, v in theirs.items() if k != "manifest.json"
    }


def test_replay_renders_an_image_again_from_its_stored_parameters(small, tmp_path, capsys):
    from domrand.generate.replay import replay
    from domrand.io import NativeDataset

    r = replay(small, 11)
    assert r.matches_stored and np.array_equal(r.rgb, NativeDataset(small).array(11, "rgb"))
    assert main(["replay", str(small), "--index", "11", "--out", str(tmp_path / "x.png")]) == 0
    assert "byte-identical" in capsys.readouterr().out and (tmp_path / "x.png").is_file()
    assert main(["replay", str(small), "--index", "16"]) == 2
    assert "--index must be in [0, 15]" in capsys.readouterr().err


def test_regression_unknown_option_said_only_that_num_was_required(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--nmu", "8", "--out", "x"])
    assert "unknown option --nmu (did you mean --num?)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "pose", "--stesp", "3", "--out", "x"])
    assert "did you mean --steps?" in capsys.readouterr().err


def test_regression_train_pose_help_showed_grasp_flags_and_no_defaults(capsys):
    with pytest.raises(SystemExit):
        main(["train", "pose", "--help"])
    text = capsys.readouterr().out
    assert "--members" not in text and "--pick-weight" not in text
    assert "(default: 3000)" in text and "(default: 250)" in text and "--eval-every" in text
    with pytest.raises(SystemExit):
        main(["train", "grasp", "--help"])
    text = capsys.readouterr().out
    assert "--online" not in text and "--members" in text


def test_regression_info_piped_to_head_ended_in_a_traceback(small):
    cmd = f"{sys.executable} -m domrand.cli info {small} | head -1"
    run = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=120)
    assert run.stdout.startswith("dataset") and "Traceback" not in run.stderr and "Error" not in run.stderr


def test_regression_train_pose_lost_its_steps_on_ctrl_c(small, tmp_path):
    """Ctrl-C finishes the step, writes last.pt and says how to continue; --resume then ends where a whole run does."""
    from domrand.tasks import checkpoint as ckpt
    from domrand.tasks.interrupt import TrainingInterrupted
    from domrand.tasks.pose.trainer import PoseTrainConfig, train_pose

    cfg = PoseTrainConfig(steps=30, batch_size=8, image_size=32, eval_every=10, checkpoint_every=1000, warmup=2)

    def ctrl_c(entry):
        if entry["step"] == 10:
            os.kill(os.getpid(), signal.SIGINT)

    with pytest.raises(TrainingInterrupted, match=r"interrupted at step 10 of 30; wrote .*last.pt; .*--resume"):
        train_pose(str(small), str(tmp_path / "cut"), config=cfg, quiet=True, log=ctrl_c)
    assert ckpt.load(tmp_path / "cut" / "last.pt", "pose")["step"] == 10  # although checkpoint_every is 1000
    train_pose(str(small), str(tmp_path / "cut"), config=cfg, quiet=True, resume=True)
    train_pose(str(small), str(tmp_path / "whole"), config=cfg, quiet=True)
    a, b = ckpt.load(tmp_path / "cut" / "last.pt", "pose"), ckpt.load(tmp_path / "whole" / "last.pt", "pose")
    assert all(np.array_equal(a["model"][k].numpy(), b["model"][k].numpy()) for k in a["model"])


def test_regression_label_grasps_said_resume_and_rejected_it(tmp_path, capsys):
    pytest.importorskip("pybullet")
    args = ["label", "grasps", "--procedural", "1", "--scenes", "2", "--candidates", "4", "--workers", "1", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "g"), "--resume"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main([*args, "--out", str(tmp_path / "g")]) == 0
    assert main([*args, "--out", str(tmp_path / "g"), "--resume"]) == 0


def test_regression_ray_without_a_cluster_was_a_traceback_and_left_a_folder(tmp_path, capsys):
    pytest.importorskip("ray")
    out = tmp_path / "r"
    for address in ("auto", "127.0.0.1:1"):  # none running; a head node that is not there
        code = main(["generate", "--num", "8", "--out", str(out), "--backend", "ray", "--address", address])
        err = capsys.readouterr().err
        assert code == 2 and f"cannot start a Ray cluster at --address {address}" in err and "ray start --head" in err
        assert len(err.strip().splitlines()) == 1 and not out.exists()


def test_regression_s3_without_s3fs_was_an_import_traceback(tmp_path, capsys, monkeypatch):
    pytest.importorskip("fsspec")
    import fsspec

    def missing(url, **kw):
        raise ImportError("Install s3fs to access S3")

    monkeypatch.setattr(fsspec.core, "url_to_fs", missing)
    assert main(["generate", "--num", "8", "--out", "s3://bucket/prefix"]) == 2
    err = capsys.readouterr().err
    assert "Install s3fs" in err and len(err.strip().splitlines()) == 1


def test_jsonl_records_give_every_path_the_same_way(small):
    from domrand.io import read_labels_folder

    rec = read_labels_folder(small)[0]
    assert all(os.path.isabs(rec[k]) and os.path.isfile(rec[k]) for k in ("image", "depth", "mask"))


def test_manifest_config_round_trips(small):
    manifest = json.loads((small / "manifest.json").read_text())
    assert load_config(path=small).to_json() == manifest["config"]
