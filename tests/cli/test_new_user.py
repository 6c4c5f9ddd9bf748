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


def test_regression_readme_pose_recipe_evaluated_on_its_training_data(small, tmp_path, caplog):
    """evaluate warns (and records it) when its data shares seed and chunks with the checkpoint's training data."""
    from domrand.tasks.pose.trainer import PoseTrainConfig, train_pose

    cfg = PoseTrainConfig(steps=2, batch_size=4, image_size=32, eval_every=1, checkpoint_every=1, warmup=1)
    train_pose(str(small), str(tmp_path / "run"), config=cfg, quiet=True)
    other = tmp_path / "other"
    generate(load_config(overrides=SMALL), GenerateOptions(out=other, num=8, seed=4, quiet=True))
    ck = str(tmp_path / "run" / "best.pt")
    assert (
        main(["evaluate", "pose", "--checkpoint", ck, "--data", str(small), "--report", str(tmp_path / "a.json")]) == 0
    )
    assert "shares seed 3 and its first 2 chunks (16 images)" in caplog.text
    caplog.clear()
    assert json.loads((tmp_path / "a.json").read_text())["shared_with_training"] == {"chunks": 2, "images": 16}
    assert (
        main(["evaluate", "pose", "--checkpoint", ck, "--data", str(other), "--report", str(tmp_path / "b.json")]) == 0
    )
    assert "shares seed" not in caplog.text
    assert "shared_with_training" not in json.loads((tmp_path / "b.json").read_text())


def test_regression_predict_pose_squashed_wide_images_and_trusted_noise(small, tmp_path):
    from domrand.io import NativeDataset
    from domrand.io.images import encode_png
    from domrand.tasks.pose.evaluate import predict
    from domrand.tasks.pose.trainer import PoseTrainConfig, train_pose

    cfg = PoseTrainConfig(steps=2, batch_size=4, image_size=32, eval_every=1, checkpoint_every=1, warmup=1)
    train_pose(str(small), str(tmp_path / "run"), config=cfg, quiet=True)
    ds = NativeDataset(small)
    im = np.array(ds.array(0, "rgb"))
    wide = np.concatenate([np.zeros((32, 8, 3), np.uint8), im, np.zeros((32, 8, 3), np.uint8)], 1)  # 48 x 32
    for name, a in (("sq.png", im), ("wide.png", wide)):
        (tmp_path / name).write_bytes(encode_png(a))
    cam = dict(ds.label(0)["camera"])
    (tmp_path / "sq.json").write_text(json.dumps(cam))
    (tmp_path / "wide.json").write_text(json.dumps({**cam, "cx": cam["cx"] + 8, "width": 48}))
    ck = str(tmp_path / "run" / "best.pt")
    a = predict(ck, [str(tmp_path / "sq.png")], camera=str(tmp_path / "sq.json"))[0]
    b = predict(ck, [str(tmp_path / "wide.png")], camera=str(tmp_path / "wide.json"))[0]
    assert b.crop == (8, 0, 32) and a.crop is None
    assert np.allclose(a.position, b.position, atol=1e-6) and a.confidence == pytest.approx(b.confidence)
    assert 0 < a.confidence < 1


def test_committed_pose_model_is_confident_on_the_task_and_not_on_noise(tmp_path):
    import torch

    from domrand.tasks.pose.data import load_native
    from domrand.tasks.pose.infer import confidences, load_model

    model, _ = load_model("experiments/localization/checkpoints/cube.pt")
    size = model.config.image_size
    generate(
        load_config(overrides={"image_size": size}), GenerateOptions(out=tmp_path / "t", num=32, seed=7, quiet=True)
    )
    images = load_native(tmp_path / "t", size)[0]
    noise = torch.randint(0, 256, (64, size, size, 3), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
    assert float(confidences(model, images).median()) > 0.9 > 0.3 > float(confidences(model, noise).median())


def test_train_pose_takes_a_labelled_folder_with_cameras(tmp_path):
    from domrand.io import read_labels_folder, write_labels_folder
    from domrand.io.images import read_image
    from domrand.tasks.pose.trainer import PoseTrainConfig, train_pose

    jl = tmp_path / "jl"
    generate(load_config(overrides=SMALL), GenerateOptions(out=jl, num=8, seed=5, formats=("jsonl",), quiet=True))
    cfg = PoseTrainConfig(steps=2, batch_size=4, image_size=32, eval_every=1, checkpoint_every=1, warmup=1)
    s = train_pose(str(jl), str(tmp_path / "run"), config=cfg, quiet=True)
    assert s["steps"] == 2
    recs = read_labels_folder(jl)
    write_labels_folder(
        tmp_path / "nocam", [(read_image(r["image"]), {"target_position": r["target_position"]}) for r in recs]
    )
    with pytest.raises(ValueError, match=r'line 1: training needs each image\'s "camera"'):
        train_pose(str(tmp_path / "nocam"), str(tmp_path / "run2"), config=cfg, quiet=True)


def test_regression_grasp_folders_had_no_info_preview_or_predict(tmp_path, capsys):
    pytest.importorskip("pybullet")
    g = tmp_path / "g"
    assert (
        main(
            [
                "label",
                "grasps",
                "--procedural",
                "2",
                "--scenes",
                "3",
                "--candidates",
                "6",
                "--workers",
                "1",
                "--out",
                str(g),
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["info", str(g)]) == 0
    text = capsys.readouterr().out
    assert "grasp labels" in text and "x, y, z, yaw, width" in text and "3 of 3 scenes" in text
    assert main(["preview", str(g), "--count", "3"]) == 0 and (g / "preview.png").is_file()
    z = np.load(g / "chunks" / "000000.npz")
    from domrand.io.images import encode_png

    (tmp_path / "d.png").write_bytes(encode_png(np.round(z["depth"][0].astype(np.float32) * 1000).astype(np.uint16)))
    k, c2w = z["intrinsics"][0].astype(float), z["cam_to_world"][0].astype(float)
    cam = {
        "fx": k[0, 0],
        "fy": k[1, 1],
        "cx": k[0, 2],
        "cy": k[1, 2],
        "width": 128,
        "height": 128,
        "cam_to_world": c2w.tolist(),
    }
    (tmp_path / "cam.json").write_text(json.dumps(cam))
    ck = "experiments/grasping/checkpoints/grasp.pt"
    capsys.readouterr()
    assert (
        main(
            [
                "predict",
                "grasp",
                "--checkpoint",
                ck,
                str(tmp_path / "d.png"),
                "--camera",
                str(tmp_path / "cam.json"),
                "--top",
                "2",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    x, y = (float(v) for v in lines[0].split()[1:3])
    labelled = z["grasp"][z["scene"] == z["depth_scene"][0]]
    assert np.hypot(*(labelled[:, :2].mean(0) - [x, y])) < 0.05  # on the object the labels grasped


def test_regression_preview_count_2000_wrote_a_55_mb_png(small, capsys):
    assert main(["preview", str(small), "--count", "2000"]) == 2
    assert "at most 400 go on a sheet" in capsys.readouterr().err


def test_regression_native_dataset_in_a_dataloader_needed_a_collate_fn(small):
    import torch

    from domrand.io import NativeDataset, collate

    loader = torch.utils.data.DataLoader(NativeDataset(small), batch_size=4, collate_fn=collate)
    batch = next(iter(loader))
    assert batch["rgb"].shape == (4, 32, 32, 3) and len(batch["label"]) == 4 and batch["index"].tolist() == [0, 1, 2, 3]


def test_regression_a_typos_num_started_filling_the_disk(tmp_path, capsys):
    out = tmp_path / "big"
    assert main(["generate", "--num", "1000000000000", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1000000000000 images need at least" in err and "free" in err and not out.exists()


def test_regression_two_resumes_into_one_folder_both_ran(small, tmp_path, capsys):
    """A live writer's lock refuses a second run; a lock left by a killed one is taken over."""
    import shutil
    import socket

    out = tmp_path / "ds"
    shutil.copytree(small, out)
    lock = out / ".domrand.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))  # this process: alive
    assert main(["generate", "--config", str(small), "--out", str(out), "--resume", "--quiet"]) == 2
    assert f"being written by another domrand run (process {os.getpid()})" in capsys.readouterr().err
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(json.dumps({"pid": int(dead.stdout), "host": socket.gethostname()}))
    assert main(["generate", "--config", str(small), "--out", str(out), "--resume", "--quiet"]) == 0
    assert not lock.exists() and files(out) == files(small)


def test_regression_train_pose_with_a_bad_data_folder_left_an_empty_run_folder(tmp_path, capsys):
    assert main(["train", "pose", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]) == 2
    assert "nowhere" in capsys.readouterr().err and not (tmp_path / "run").exists()
    assert main(["train", "grasp", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "g")]) == 2
    assert not (tmp_path / "g").exists()


def test_regression_a_command_without_its_optional_extra_was_a_traceback(tmp_path, capsys, monkeypatch):
    """`domrand label grasps` in an environment without pybullet (the README installs it with `.[train,sim]`)
    ended in a ModuleNotFoundError traceback; now one line names the extra to install."""
    import sys

    monkeypatch.setitem(sys.modules, "pybullet", None)  # `import pybullet` raises ModuleNotFoundError
    out = tmp_path / "labels"
    args = ["label", "grasps", "--procedural", "2", "--scenes", "1", "--workers", "1", "--quiet", "--out", str(out)]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2 and "needs pybullet" in err and "pip install 'domrand[sim]'" in err, err
    assert len(err.strip().splitlines()) == 1


def test_regression_label_grasps_without_pybullet_left_a_folder(tmp_path, capsys, monkeypatch):
    """The same command made its output folder (manifest.json, an empty chunks/) before the error."""
    import sys

    monkeypatch.setitem(sys.modules, "pybullet", None)
    out = tmp_path / "labels"
    assert main(["label", "grasps", "--procedural", "2", "--scenes", "1", "--quiet", "--out", str(out)]) == 2
    assert not out.exists()
