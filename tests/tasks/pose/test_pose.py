"""The pose trainer on a tiny dataset, the evaluator's metrics, resume, the labelled-folder path, checkpoints."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from domrand.cli import main
from domrand.config import load_config
from domrand.generate import GenerateOptions, generate
from domrand.io.images import encode_png
from domrand.tasks import checkpoint as ckpt
from domrand.tasks.pose.data import load_native
from domrand.tasks.pose.evaluate import evaluate_pose, metrics, predict_pose
from domrand.tasks.pose.infer import errors, load_model
from domrand.tasks.pose.trainer import PoseTrainConfig, train_pose

TINY = PoseTrainConfig(steps=300, batch_size=32, lr=3e-3, image_size=32, eval_every=100, checkpoint_every=50, warmup=20)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """384 images at 32 px of the target alone on the table (a learnable tiny task)."""
    root = tmp_path_factory.mktemp("pose")
    cfg = load_config(
        overrides={
            "image_size": 32,
            "chunk_size": 64,
            "placement": {"distractor_count": 0},
            "noise": {"enabled": False},
        }
    )
    generate(cfg, GenerateOptions(out=str(root / "train"), num=384, seed=1, quiet=True))
    generate(cfg, GenerateOptions(out=str(root / "test"), num=128, seed=2, quiet=True))
    return root


def test_training_lowers_the_loss_and_beats_predicting_the_table_centre(tiny):
    s = train_pose(str(tiny / "train"), str(tiny / "run"), target="cube", config=TINY, quiet=True)
    log = [json.loads(line) for line in (tiny / "run" / "log.jsonl").read_text().splitlines()]
    assert log[-1]["loss"] < 0.8 * log[0]["loss"]
    model, meta = load_model(tiny / "run" / "best.pt")
    images, positions, _ = load_native(tiny / "test", 32)
    err = float(errors(model, images, positions).mean())
    centre = float((positions - torch.tensor([0.0, 0.0, 0.025])).norm(dim=-1).mean())
    assert err < 0.6 * centre, f"model {err:.3f} m vs table centre {centre:.3f} m"
    assert meta["target"] == "cube" and s["steps"] == TINY.steps


def test_resume_after_interruption_ends_with_the_same_weights(tiny):
    class Stop(Exception):
        pass

    def stop_at_200(entry):
        if entry["step"] == 200:
            raise Stop

    with pytest.raises(Stop):
        train_pose(str(tiny / "train"), str(tiny / "cut"), config=TINY, quiet=True, log=stop_at_200)
    train_pose(str(tiny / "train"), str(tiny / "cut"), config=TINY, quiet=True, resume=True)
    train_pose(str(tiny / "train"), str(tiny / "whole"), config=TINY, quiet=True)
    a, b = ckpt.load(tiny / "cut" / "last.pt", "pose"), ckpt.load(tiny / "whole" / "last.pt", "pose")
    assert a["step"] == b["step"] == TINY.steps
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])


def test_metrics_match_hand_computed_values():
    m = metrics(np.array([0.01, 0.02, 0.04]))
    assert m["n"] == 3
    assert m["mean_error_m"] == pytest.approx(0.07 / 3)
    assert m["median_error_m"] == pytest.approx(0.02)
    assert m["p95_error_m"] == pytest.approx(0.02 + 0.9 * 0.02)  # linear interpolation at rank 1.9
    assert m["frac_under_0.015"] == pytest.approx(1 / 3) and m["frac_under_0.03"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no images"):
        metrics(np.array([]))


def test_regression_the_report_hid_the_mean_error_vector():
    """A bias (every prediction 1 cm off in y) reads as a mean error of 1 cm; the report says which way."""
    vec = np.array([[0.002, 0.01, 0.0], [-0.002, 0.01, 0.0]])
    m = metrics(np.linalg.norm(vec, axis=1), vec)
    assert m["mean_error_vector_m"] == pytest.approx([0.0, 0.01, 0.0])


def test_labelled_folder_gives_the_same_figures_as_the_native_dataset(tiny, tmp_path):
    from domrand.io import NativeDataset

    ds = NativeDataset(tiny / "test")
    (tmp_path / "img").mkdir()
    lines = []
    for i in range(len(ds)):
        big = np.kron(
            np.array(ds.array(i, "rgb")), np.ones((2, 2, 1), dtype=np.uint8)
        )  # stored at 64 px: the reader resizes
        (tmp_path / "img" / f"{i}.png").write_bytes(encode_png(big))
        lines.append(
            json.dumps(
                {
                    "image": f"img/{i}.png",
                    "target_position": ds.label(i)["target_position"],
                    "target": "cube",
                    "unknown_key": 1,
                }
            )
        )
    (tmp_path / "labels.jsonl").write_text("\n".join(lines) + "\n")
    folder = evaluate_pose(str(tiny / "run" / "best.pt"), str(tmp_path))
    native = evaluate_pose(str(tiny / "run" / "best.pt"), str(tiny / "test"))
    assert folder["n"] == native["n"] == len(ds)
    assert abs(folder["mean_error_m"] - native["mean_error_m"]) < 0.01
    (tmp_path / "labels.jsonl").write_text(lines[0].replace('"cube"', '"cylinder"') + "\n")
    with pytest.raises(ValueError, match="cylinder"):
        evaluate_pose(str(tiny / "run" / "best.pt"), str(tmp_path))


def test_cli_evaluate_writes_the_report_and_predict_prints_positions(tiny, tmp_path, capsys):
    report = tmp_path / "r.json"
    assert (
        main(
            [
                "evaluate",
                "pose",
                "--checkpoint",
                str(tiny / "run" / "best.pt"),
                "--data",
                str(tiny / "test"),
                "--report",
                str(report),
            ]
        )
        == 0
    )
    r = json.loads(report.read_text())
    assert set(r) >= {"n", "mean_error_m", "median_error_m", "p95_error_m", "frac_under_0.015", "frac_under_0.03"}
    assert len(r["mean_error_vector_m"]) == 3
    img = tmp_path / "x.png"
    from domrand.io import NativeDataset

    img.write_bytes(encode_png(np.array(NativeDataset(tiny / "test").array(0, "rgb"))))
    capsys.readouterr()
    assert main(["predict", "pose", "--checkpoint", str(tiny / "run" / "best.pt"), str(img)]) == 0
    out = capsys.readouterr().out.split()
    assert out[0] == str(img) and len(out) == 5 and 0 < float(out[4]) < 1  # x y z confidence
    assert np.allclose(
        [float(v) for v in out[1:4]], predict_pose(str(tiny / "run" / "best.pt"), [str(img)])[0], atol=1e-4
    )


def test_evaluate_pose_reads_out_as_asked_and_records_it(tiny, tmp_path, capsys):
    import dataclasses

    ck = str(tiny / "run" / "best.pt")
    model, _ = load_model(ck)
    images, positions, _ = load_native(tiny / "test", model.config.image_size)
    own = evaluate_pose(ck, str(tiny / "test"))
    assert own["mirror_fusion"] == model.config.mirror_fusion
    assert own["mirror_average"] == bool(model.config.mirror_average)
    alone = evaluate_pose(ck, str(tiny / "test"), mirror=False)
    assert alone["mirror_average"] is False
    assert alone["mean_error_m"] == pytest.approx(float(errors(model, images, positions, mirror=False).mean()))
    report = tmp_path / "r.json"
    assert main(["evaluate", "pose", "--checkpoint", ck, "--data", str(tiny / "test"), "--report", str(report),
                 "--mirror-fusion", "position"]) == 0  # fmt: skip
    r = json.loads(report.read_text())
    assert r["mirror_fusion"] == "position"
    model.config = dataclasses.replace(model.config, mirror_fusion="position")
    assert r["mean_error_m"] == pytest.approx(float(errors(model, images, positions).mean()))
    capsys.readouterr()
    assert main(["evaluate", "grasp", "--checkpoint", ck, "--procedural", "1", "--no-mirror"]) == 2
    assert "--no-mirror and --camera are for `domrand evaluate pose`" in capsys.readouterr().err


def test_known_cameras_from_the_labels_match_between_native_and_folder(tiny, tmp_path, capsys):
    """`--camera labels` reads each image's camera from a native dataset's arrays or a labelled folder's
    records (here at twice the size, its intrinsics scaled with it) and gives the same figures; with each
    image's true camera the error is the heatmap's alone, so it beats the nominal camera's."""
    from domrand.io import NativeDataset
    from domrand.tasks.pose.data import native_cameras

    ck = str(tiny / "run" / "best.pt")
    ds = NativeDataset(tiny / "test")
    cams = native_cameras(tiny / "test")
    assert len(cams) == len(ds)
    (tmp_path / "img").mkdir()
    lines = []
    for i in range(len(ds)):
        rec = ds.label(i)
        c = rec["camera"]
        assert np.allclose(cams.intrinsics[i].numpy(), [c["fx"], c["fy"], c["cx"], c["cy"]], atol=1e-4)
        assert np.allclose(cams.cam_to_world[i].numpy(), c["cam_to_world"], atol=1e-5)
        big = np.kron(np.array(ds.array(i, "rgb")), np.ones((2, 2, 1), dtype=np.uint8))
        (tmp_path / "img" / f"{i}.png").write_bytes(encode_png(big))
        c2 = {**c, "fx": 2 * c["fx"], "fy": 2 * c["fy"], "cx": 2 * c["cx"] + 0.5, "cy": 2 * c["cy"] + 0.5,
              "width": 2 * c["width"], "height": 2 * c["height"]}  # fmt: skip
        lines.append(json.dumps({"image": f"img/{i}.png", "target_position": rec["target_position"], "camera": c2}))
    (tmp_path / "labels.jsonl").write_text("\n".join(lines) + "\n")
    native = evaluate_pose(ck, str(tiny / "test"), camera="labels")
    folder = evaluate_pose(ck, str(tmp_path), camera="labels")
    assert native["camera"] == folder["camera"] == "labels"
    assert abs(folder["mean_error_m"] - native["mean_error_m"]) < 0.005
    nominal = evaluate_pose(ck, str(tiny / "test"), camera="nominal")
    assert native["mean_error_m"] < nominal["mean_error_m"]
    (tmp_path / "labels.jsonl").write_text(
        lines[0] + "\n" + json.dumps({"image": "img/1.png", "target_position": [0, 0, 0.025]}) + "\n"
    )
    assert main(["evaluate", "pose", "--checkpoint", ck, "--data", str(tmp_path), "--camera", "labels"]) == 2
    assert '1.png\' in labels.jsonl has no "camera"' in capsys.readouterr().err


def test_cli_takes_a_camera_file_and_refuses_a_bad_one(tiny, tmp_path, capsys):
    from domrand.io import NativeDataset

    ck = str(tiny / "run" / "best.pt")
    ds = NativeDataset(tiny / "test")
    cam = tmp_path / "cam.json"
    cam.write_text(json.dumps(ds.label(0)["camera"]))
    img = tmp_path / "x.png"
    img.write_bytes(encode_png(np.array(ds.array(0, "rgb"))))
    known = predict_pose(ck, [str(img)], camera=str(cam))[0]
    report = tmp_path / "r.json"
    assert main(["evaluate", "pose", "--checkpoint", ck, "--data", str(tiny / "test"), "--camera", str(cam), "--report", str(report)]) == 0  # fmt: skip
    assert json.loads(report.read_text())["camera"] == str(cam)
    capsys.readouterr()
    assert main(["predict", "pose", "--checkpoint", ck, str(img), "--camera", str(cam)]) == 0
    assert np.allclose([float(v) for v in capsys.readouterr().out.split()[1:4]], known, atol=1e-4)
    assert abs(known[2] - 0.025) < 1e-6  # on the plane where the target's centre rests
    cam.write_text(json.dumps({**ds.label(0)["camera"], "fx": -1}))
    assert main(["predict", "pose", "--checkpoint", ck, str(img), "--camera", str(cam)]) == 2
    assert "fx must be positive" in capsys.readouterr().err
    cam.write_text(json.dumps({**ds.label(0)["camera"], "width": 64}))  # the image is 32 x 32
    assert main(["predict", "pose", "--checkpoint", ck, str(img), "--camera", str(cam)]) == 2
    assert "x.png' is 32 x 32 pixels but its camera is for 64 x 32 images" in capsys.readouterr().err
    assert main(["evaluate", "pose", "--checkpoint", ck, "--data", str(tiny / "test"), "--camera", str(cam)]) == 2
    assert "image 0 of" in capsys.readouterr().err
    assert main(["predict", "pose", "--checkpoint", ck, str(img), "--camera", "labels"]) == 2
    assert "--camera labels is for `domrand evaluate pose`" in capsys.readouterr().err


def test_bad_checkpoints_are_one_clear_error(tmp_path, tiny):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable domrand checkpoint"):
        load_model(bad)
    with pytest.raises(ValueError, match="does not exist"):
        load_model(tmp_path / "missing.pt")
    ckpt.save(tmp_path / "grasp.pt", "grasp", {"model": {}})
    with pytest.raises(ValueError, match="is a grasp checkpoint, not a pose one"):
        load_model(tmp_path / "grasp.pt")
    state = ckpt.load(tiny / "run" / "best.pt", "pose")
    state["model"]["head.0.weight"] = torch.zeros(3, 3)
    ckpt.save(
        tmp_path / "shape.pt",
        "pose",
        {k: v for k, v in state.items() if k not in ("domrand_checkpoint", "format_version")},
    )
    with pytest.raises(ValueError, match="does not match the model"):
        load_model(tmp_path / "shape.pt")
    truncated = tmp_path / "cut.pt"
    truncated.write_bytes((tiny / "run" / "best.pt").read_bytes()[:1000])
    with pytest.raises(ValueError, match="not a readable"):
        load_model(truncated)


def test_dataset_of_another_target_is_refused(tiny, tmp_path):
    with pytest.raises(ValueError, match="has target 'cube' but --target is 'cylinder'"):
        train_pose(str(tiny / "train"), str(tmp_path / "r"), target="cylinder", config=TINY, quiet=True)


def test_peak_readout_picks_the_stronger_of_two_peaks_instead_of_their_midpoint():
    """An unsure heatmap (two places) must not be read out as a point between them, where nothing is."""
    from domrand.tasks.pose.model import peak_soft_argmax, soft_argmax

    logits = torch.full((1, 16, 16), -20.0)
    logits[0, 2, 3], logits[0, 12, 13] = 5.0, 4.6  # cells (row, col); the first is the stronger
    centre = lambda r, c: [(c + 0.5) / 16 * 2 - 1, (r + 0.5) / 16 * 2 - 1]  # noqa: E731
    assert torch.allclose(peak_soft_argmax(logits, 3)[0], torch.tensor(centre(2, 3)), atol=1e-4)
    soft = soft_argmax(logits)[0]  # the whole-map soft-argmax lands between the two
    assert float((soft - torch.tensor(centre(2, 3))).norm()) > 0.5


def test_checkpoints_from_before_the_readout_fields_load_as_they_were_trained(tmp_path):
    """A model_config without `readout` / `context_heat` (checkpoints before they existed) reads out the
    whole-map soft-argmax and has no context-to-heatmap layer, so its weights load and predict as before."""
    from domrand.tasks.pose.model import PoseNet, PoseNetConfig

    old = {
        k: v
        for k, v in PoseNetConfig(image_size=32).to_json().items()
        if k not in ("readout", "peak_radius", "context_heat")
    }
    cfg = PoseNetConfig.from_json(old)
    assert cfg.readout == "soft" and cfg.context_heat is False
    net = PoseNet(cfg)
    assert not any(k.startswith("lift.") for k in net.state_dict())
    ckpt.save(tmp_path / "old.pt", "pose", {"model": net.state_dict(), "model_config": old})
    model, _ = load_model(tmp_path / "old.pt")
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(model(x), net.eval()(x))
    assert PoseNetConfig().readout == "peak" and PoseNetConfig().context_heat  # new models


def test_precision_is_resolved_and_checked():
    from domrand.tasks.pose.trainer import resolve_precision

    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    assert resolve_precision("auto") in ("fp32", "bf16")
    with pytest.raises(ValueError, match="precision"):
        PoseTrainConfig(precision="half")


def test_plane_points_and_homography_match_opencv():
    """`project` against cv2.projectPoints, `homography` against cv2.getPerspectiveTransform, and the camera
    head's geometry end to end: the true image points of the plane map a projected point back to itself."""
    import cv2
    from domrand.generators.transforms import intrinsics_from_fov, look_at

    from domrand.tasks.pose.model import apply_homography, homography, project

    g = torch.Generator().manual_seed(0)
    k = intrinsics_from_fov(torch.tensor([0.8]), 128, 128)
    c2w = look_at(torch.tensor([[0.02, -0.68, 0.61]]), torch.tensor([[0.01, 0.02, 0.0]]))
    pts = torch.rand(10, 3, generator=g) * torch.tensor([0.6, 0.4, 0.05]) - torch.tensor([0.3, 0.2, 0.0])
    w2c = torch.linalg.inv(c2w[0]).double().numpy()
    ref, _ = cv2.projectPoints(
        pts.double().numpy(), cv2.Rodrigues(w2c[:3, :3])[0], w2c[:3, 3], k[0].double().numpy(), None
    )
    ours = project(pts, k, c2w, 128, 128)[0]
    px = (ours + 1) / 2 * 128 - 0.5  # back to pixel centres
    assert np.allclose(px.double().numpy(), ref[:, 0], atol=1e-3)

    src, dst = torch.rand(3, 4, 2, generator=g), torch.rand(3, 4, 2, generator=g)
    for i in range(3):
        h_cv = cv2.getPerspectiveTransform(src[i].numpy(), dst[i].numpy())
        assert np.allclose(homography(src[i : i + 1], dst[i : i + 1])[0].numpy(), h_cv, atol=1e-4)

    plane = torch.tensor([[-0.3, -0.2, 0.025], [0.3, -0.2, 0.025], [0.3, 0.2, 0.025], [-0.3, 0.2, 0.025]])
    h = homography(project(plane, k, c2w, 128, 128), plane[None, :, :2])
    target = torch.tensor([[0.12, -0.07, 0.025]])
    back = apply_homography(h, project(target, k, c2w, 128, 128)[0])
    assert torch.allclose(back, target[:, :2], atol=1e-5)


def test_mirror_average_by_position_is_the_mean_of_the_image_and_its_mirror_image():
    from domrand.tasks.pose.model import PoseNet, PoseNetConfig

    torch.manual_seed(0)
    net = PoseNet(PoseNetConfig(image_size=32, mirror_fusion="position")).eval()
    assert net.config.mirror_average  # the task's camera is symmetric about x = 0
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        one, mirrored = net(x, mirror=False), net(x.flip(-1), mirror=False)
        expect = (one + mirrored * torch.tensor([-1.0, 1.0, 1.0])) / 2
        assert torch.allclose(net(x), expect, atol=1e-6)
        assert torch.allclose(net(x.flip(-1)) * torch.tensor([-1.0, 1.0, 1.0]), net(x), atol=1e-6)  # symmetric
    assert PoseNetConfig(camera_eye=(0.1, -0.7, 0.6)).mirror_average is False  # auto: off when asymmetric
    with pytest.raises(ValueError, match="mirror_average"):
        PoseNetConfig(camera_eye=(0.1, -0.7, 0.6), mirror_average=True)


def _two_peaks(net, strong_in_image: tuple[int, int], strong_in_mirror: tuple[int, int]):
    """Replace `net.features` by heatmaps with two peaks A and B: the image's own view favours A a little, its
    mirror view (flipped back) favours B by less, so their mean favours A. The mirrored input is recognised
    by a marker column."""
    h = w = net.config.image_size // 4
    ctx = torch.zeros(1, net.config.widths[4], h // 4, h // 4)

    def features(images):
        mirrored = bool(images[0, 0, 0, -1] > 0.5)  # the marker is in the left column of the original
        heat = torch.full((images.shape[0], h, w), -10.0)
        (ay, ax), (by, bx) = strong_in_image, strong_in_mirror
        a, b = (8.0, 7.0) if not mirrored else (7.5, 8.0)
        if mirrored:  # the mirror view sees everything flipped
            ax, bx = w - 1 - ax, w - 1 - bx
        heat[:, ay, ax], heat[:, by, bx] = a, b
        return heat, ctx.expand(images.shape[0], -1, -1, -1)

    net.features = features


def test_regression_mirror_average_landed_between_two_objects():
    """The position-level mirror average put the prediction halfway between two objects when the two views
    picked different ones (a misdetection in one view became a miss in both); heatmap fusion picks the
    place the two views' evidence agrees on."""
    from domrand.tasks.pose.model import PoseNet, PoseNetConfig

    x = torch.zeros(1, 3, 64, 64)
    x[..., 0] = 1.0  # marker column
    points = {}
    for fusion in ("heatmap", "position"):
        net = PoseNet(PoseNetConfig(image_size=64, mirror_fusion=fusion)).eval()
        _two_peaks(net, (8, 3), (8, 12))
        with torch.no_grad():
            points[fusion] = net(x)[0]
            a = net.locate(net.read_out(net.features(x)[0]), net.features(x)[1])[0][0] * net.scale + net.mean
    assert torch.allclose(points["heatmap"], a, atol=1e-4)  # the fused read-out is at A
    assert abs(float(points["position"][0])) < abs(float(a[0])) / 2  # the old average: near the middle
    assert float((points["heatmap"] - points["position"]).norm()) > 0.05


def test_heatmap_mirror_fusion_is_symmetric_and_reads_the_mean_heatmap():
    from domrand.tasks.pose.model import PoseNet, PoseNetConfig

    torch.manual_seed(0)
    net = PoseNet(PoseNetConfig(image_size=32)).eval()
    assert net.config.mirror_fusion == "heatmap"
    x = torch.rand(3, 3, 32, 32)
    flip = torch.tensor([-1.0, 1.0, 1.0])
    with torch.no_grad():
        assert torch.allclose(net(x.flip(-1)) * flip, net(x), atol=1e-5)
        (h1, c1), (h2, c2) = net.features(x), net.features(x.flip(-1))
        uv = net.read_out((h1 + h2.flip(-1)) / 2)
        one = net.locate(uv, c1)[0] * net.scale + net.mean
        two = (net.locate(uv * torch.tensor([-1.0, 1.0]), c2)[0] * net.scale + net.mean) * flip
        assert torch.allclose(net(x), (one + two) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="mirror_fusion"):
        PoseNetConfig(mirror_fusion="average")


def test_checkpoints_without_mirror_fusion_keep_the_position_average():
    from domrand.tasks.pose.model import PoseNetConfig

    old = PoseNetConfig(image_size=32).to_json()
    del old["mirror_fusion"]
    assert PoseNetConfig.from_json(old).mirror_fusion == "position"


def test_init_fine_tunes_from_a_checkpoint_with_a_fresh_schedule(tiny, tmp_path):
    short = PoseTrainConfig(steps=1, batch_size=8, lr=1e-9, image_size=32, eval_every=1, checkpoint_every=1, warmup=1)
    train_pose(str(tiny / "train"), str(tmp_path / "a"), config=short, quiet=True)
    base = ckpt.load(tmp_path / "a" / "last.pt", "pose")
    train_pose(str(tiny / "train"), str(tmp_path / "b"), config=short, quiet=True, init=str(tmp_path / "a" / "last.pt"))
    tuned = ckpt.load(tmp_path / "b" / "last.pt", "pose")
    assert tuned["step"] == 1  # a fresh schedule, not a resume
    weights = [k for k in base["model"] if "running_" not in k and "num_batches" not in k]  # not BN statistics
    diff = max(float((tuned["model"][k] - base["model"][k]).abs().max()) for k in weights)
    assert diff < 1e-6  # started from the checkpoint's weights (lr 1e-9: one step moves them by ~nothing)
    fresh = ckpt.load(tmp_path / "a" / "best.pt", "pose")["model"]
    assert json.loads((tmp_path / "b" / "config.json").read_text())["init"] == str(tmp_path / "a" / "last.pt")
    assert max(float((fresh[k] - tuned["model"][k]).abs().max()) for k in weights) < 1e-6
    other = PoseTrainConfig(steps=1, batch_size=8, lr=1e-9, image_size=32, eval_every=1, checkpoint_every=1, seed=5)
    train_pose(str(tiny / "train"), str(tmp_path / "e"), config=other, quiet=True)
    seeded = ckpt.load(tmp_path / "e" / "last.pt", "pose")["model"]
    assert max(float((seeded[k] - tuned["model"][k]).abs().max()) for k in weights) > 1e-2  # not a fresh start
    with pytest.raises(ValueError, match="target"):
        train_pose(str(tiny / "train"), str(tmp_path / "c"), target="prism", config=short, quiet=True,
                   init=str(tmp_path / "a" / "last.pt"))  # fmt: skip
    with pytest.raises(ValueError, match="not a readable"):
        bad = tmp_path / "bad.pt"
        bad.write_bytes(b"garbage")
        train_pose(str(tiny / "train"), str(tmp_path / "d"), config=short, quiet=True, init=str(bad))
    with pytest.raises(ValueError, match="pass --size 32"):
        wrong = PoseTrainConfig(steps=1, batch_size=8, image_size=48, eval_every=1, checkpoint_every=1)
        train_pose(
            str(tiny / "train"), str(tmp_path / "f"), config=wrong, quiet=True, init=str(tmp_path / "a" / "last.pt")
        )
    assert not (tmp_path / "f").exists()  # nothing written for a refused fine-tune


def test_pretrained_brings_another_task_s_layers_and_takes_this_data_s_geometry(tiny, tmp_path):
    """Pre-training (issue 33): a checkpoint for another target and camera gives its layers; the nominal camera,
    target height and position normalisation come from the data (its own would back-project to the wrong plane)."""
    from domrand.tasks.pose.model import PoseNet, PoseNetConfig

    short = PoseTrainConfig(steps=1, batch_size=8, lr=1e-9, image_size=32, eval_every=1, checkpoint_every=1, warmup=1)
    train_pose(str(tiny / "train"), str(tmp_path / "a"), config=short, quiet=True)
    state = ckpt.load(tmp_path / "a" / "last.pt", "pose")
    own = PoseNetConfig.from_json(state["model_config"])
    other = dataclasses.replace(own, camera_eye=(0.0, -0.8, 0.7), target_height=0.04, position_mean=(0.0, 0.0, 0.04))
    buffers = PoseNet(other).state_dict()
    model = {k: buffers[k] if k in ("mean", "scale", "k", "c2w") else v for k, v in state["model"].items()}
    pre = tmp_path / "prism.pt"
    keep = {k: v for k, v in state.items() if k not in ("domrand_checkpoint", "format_version")}
    ckpt.save(pre, "pose", {**keep, "target": "prism", "model_config": other.to_json(), "model": model})

    train_pose(str(tiny / "train"), str(tmp_path / "b"), config=short, quiet=True, pretrained=str(pre))
    tuned = ckpt.load(tmp_path / "b" / "last.pt", "pose")
    cfg = PoseNetConfig.from_json(tuned["model_config"])
    assert cfg.camera_eye == own.camera_eye and cfg.target_height == own.target_height == pytest.approx(0.025)
    for k in ("mean", "c2w"):  # this data's geometry, not the pre-trained checkpoint's
        assert torch.allclose(tuned["model"][k], state["model"][k]) and not torch.allclose(tuned["model"][k], model[k])
    layers = [
        k for k in model if k not in ("mean", "scale", "k", "c2w") and "running_" not in k and "num_batches" not in k
    ]
    assert max(float((tuned["model"][k] - model[k]).abs().max()) for k in layers) < 1e-6  # its layers
    assert json.loads((tmp_path / "b" / "config.json").read_text())["pretrained"] == str(pre)
    with pytest.raises(ValueError, match="--pretrained starts from another target"):
        train_pose(str(tiny / "train"), str(tmp_path / "c"), config=short, quiet=True, init=str(pre))
    with pytest.raises(ValueError, match="alternatives"):
        train_pose(
            str(tiny / "train"), str(tmp_path / "d"), config=short, quiet=True, init=str(pre), pretrained=str(pre)
        )
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()
