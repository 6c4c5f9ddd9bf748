"""`--device` for the trainers: names resolved or refused before anything is written; on a GPU, pose and
grasp training run there, write CPU checkpoints, and land near the CPU run (skipped without CUDA)."""

from __future__ import annotations

import pytest
import torch

from domrand.cli import main
from domrand.config import load_config
from domrand.generate import GenerateOptions, generate
from domrand.tasks.device import resolve_device
from domrand.tasks.pose.infer import errors, load_model
from domrand.tasks.pose.trainer import PoseTrainConfig, train_pose

HAS_CUDA = torch.cuda.is_available()


def test_device_names_resolve_or_are_one_clear_error():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if HAS_CUDA else "cpu")
    with pytest.raises(ValueError, match="device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got 'tpu'"):
        resolve_device("tpu")
    with pytest.raises(ValueError, match="got 'mps'"):
        resolve_device("mps")
    with pytest.raises(ValueError, match="'cuda:99'"):
        resolve_device("cuda:99")
    if not HAS_CUDA:
        with pytest.raises(ValueError, match="CUDA is not available here"):
            resolve_device("cuda")


@pytest.mark.skipif(HAS_CUDA, reason="checks the refusal on a machine without CUDA")
def test_train_on_a_missing_gpu_fails_before_writing_anything(tmp_path, capsys):
    for task in ("pose", "grasp"):
        run = tmp_path / f"run_{task}"
        args = ["train", task, "--online", "--out", str(run), "--steps", "1", "--device", "cuda"]
        if task == "grasp":
            args = ["train", task, "--data", str(tmp_path), "--out", str(run), "--steps", "1", "--device", "cuda"]
        assert main(args) == 2
        assert "device 'cuda': CUDA is not available here" in capsys.readouterr().err
        assert not run.exists()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("pose_device")
    cfg = load_config(overrides={"image_size": 32, "chunk_size": 64, "placement": {"distractor_count": 0}})
    generate(cfg, GenerateOptions(out=str(root / "data"), num=256, seed=3, quiet=True))
    return root


@pytest.mark.cuda
def test_pose_trains_on_cuda_writes_cpu_checkpoints_and_resumes_bit_for_bit(device, small):
    cfg = PoseTrainConfig(
        steps=120, batch_size=32, lr=3e-3, image_size=32, eval_every=40, checkpoint_every=40, warmup=10
    )
    cpu = train_pose(str(small / "data"), str(small / "cpu"), config=cfg, quiet=True, device="cpu")
    gpu = train_pose(str(small / "data"), str(small / "gpu"), config=cfg, quiet=True, device=device)
    assert cpu["device"] == "cpu" and gpu["device"].startswith("cuda")
    state = torch.load(small / "gpu" / "best.pt", map_location="meta", weights_only=True)
    assert all(v.device.type == "meta" for v in state["model"].values())  # loadable with no GPU: CPU tensors
    raw = torch.load(small / "gpu" / "last.pt", weights_only=True)
    assert {v.device.type for v in raw["model"].values()} == {"cpu"}
    model, _ = load_model(small / "gpu" / "best.pt")  # on the CPU
    from domrand.tasks.pose.data import load_native

    images, positions, _ = load_native(small / "data", 32)
    err_gpu = float(errors(model, images, positions).mean())
    err_cpu = float(errors(load_model(small / "cpu" / "best.pt")[0], images, positions).mean())
    assert err_gpu < 1.5 * err_cpu + 0.01, (err_gpu, err_cpu)  # the same training, other arithmetic

    class Stop(Exception):
        pass

    def stop_at_80(entry):
        if entry["step"] == 80:
            raise Stop

    with pytest.raises(Stop):
        train_pose(str(small / "data"), str(small / "cut"), config=cfg, quiet=True, device=device, log=stop_at_80)
    train_pose(str(small / "data"), str(small / "cut"), config=cfg, quiet=True, device=device, resume=True)
    a = torch.load(small / "gpu" / "last.pt", weights_only=True)["model"]
    b = torch.load(small / "cut" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.cuda
def test_grasp_rankers_train_on_cuda_and_come_back_to_the_cpu(tmp_path, device):
    """The grasp trainer's member loop on synthetic crops (no physics, so no PyBullet needed on a GPU machine):
    the ranker comes back on the CPU, and its validation loss is near the CPU run's."""
    from domrand.tasks.grasp.trainer import GraspTrainConfig, _bce, _logits, _train_member

    g = torch.Generator().manual_seed(0)
    x = torch.rand(512, 2, 32, 32, generator=g)
    w = torch.rand(512, generator=g) * 0.08
    y = (x[:, 0, 12:20, 12:20].mean((1, 2)) > 0.5).float()  # learnable: the crop's centre is bright
    train, val = (x[:384], w[:384], y[:384]), (x[384:], w[384:], y[384:])
    cfg = GraspTrainConfig(steps=60, batch_size=32, eval_every=20)
    losses = {}
    for name, dev in (("cpu", torch.device("cpu")), ("gpu", device)):
        (tmp_path / name).mkdir()
        model, _ = _train_member(0, train, val, cfg, tmp_path / name, None, dev)
        assert {p.device.type for p in model.parameters()} == {"cpu"}
        losses[name] = _bce(_logits(model, *val[:2]), val[2])[0]
    assert abs(losses["gpu"] - losses["cpu"]) < 0.05, losses


def test_bench_train_times_each_precision_where_asked():
    from domrand.tools.bench.train import run, table

    rows = run(32, 2, 1, "cpu")
    assert [r["variant"] for r in rows] == ["fp32", "fp32 channels-last", "bf16 channels-last"]
    assert all(r["device"] == "cpu" and r["s_per_step"] > 0 for r in rows)
    assert "threads" in table(rows)
    if not HAS_CUDA:
        with pytest.raises(ValueError, match="CUDA is not available here"):
            run(32, 2, 1, "cuda")


@pytest.mark.cuda
def test_bench_train_on_cuda_names_the_gpu(device):
    from domrand.tools.bench.train import run, table

    rows = run(64, 8, 2, str(device))
    assert rows[0]["device"] == torch.cuda.get_device_name(device)
    assert rows[0]["device"] in table(rows)
