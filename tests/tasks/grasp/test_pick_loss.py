"""The grasp trainer's pick loss: a softmax over each scene's candidates, trained to put its weight on the ones
that succeed (`GraspTrainConfig.pick_weight`)."""

from __future__ import annotations

import math

import pytest
import torch

from domrand.tasks.grasp.trainer import GraspTrainConfig, _train_member, mixed_scenes, pick_loss, pick_metrics


def test_mixed_scenes_keeps_only_the_scenes_whose_candidates_both_succeed_and_fail():
    scene = torch.tensor([3, 0, 3, 0, 1, 1, 3])
    target = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.5])
    table = mixed_scenes(scene, target)
    assert table.tolist() == [[0, 2, 6]]  # scene 3 only: scene 0 all succeed, scene 1 all fail
    assert mixed_scenes(torch.tensor([0, 0]), torch.tensor([1.0, 1.0])).shape == (0, 0)


def test_pick_loss_is_minus_log_of_the_softmax_weight_on_the_successes_ignoring_padding():
    logits = torch.tensor([[2.0, 0.0, 1.0, 50.0]])
    target = torch.tensor([[1.0, 0.0, 1.0, 0.0]])
    valid = torch.tensor([[True, True, True, False]])  # the padded fourth candidate must not count
    e = [math.exp(2.0), 1.0, math.exp(1.0)]
    want = -math.log((e[0] + e[2]) / sum(e))
    assert float(pick_loss(logits, target, valid)[0]) == pytest.approx(want, rel=1e-5)
    # a success rate weighs its candidate: all weight on a candidate that succeeds half the time costs log 2
    half = pick_loss(torch.tensor([[30.0, 0.0]]), torch.tensor([[0.5, 1.0]]), torch.ones(1, 2, dtype=torch.bool))
    assert float(half[0]) == pytest.approx(math.log(2), rel=1e-4)


def test_pick_loss_gradient_raises_the_success_and_lowers_the_failure():
    logits = torch.zeros(1, 3, requires_grad=True)
    pick_loss(logits, torch.tensor([[1.0, 0.0, 0.0]]), torch.ones(1, 3, dtype=torch.bool)).sum().backward()
    g = logits.grad[0]
    assert g[0] < 0 and g[1] > 0 and g[2] > 0  # descent raises the success's logit


def test_pick_metrics_reads_the_top_scored_candidate_of_each_scene():
    table = torch.tensor([[0, 1, 2], [3, 4, -1]])
    target = torch.tensor([0.0, 1.0, 0.0, 1.0, 0.0])
    logits = torch.tensor([0.0, 3.0, 1.0, -1.0, 2.0])  # scene 0 picks its success, scene 1 its failure
    loss, success = pick_metrics(logits, target, table)
    assert success == 0.5 and loss > 0
    assert all(math.isnan(v) for v in pick_metrics(logits, target, torch.zeros(0, 0, dtype=torch.long)))


def test_training_with_the_pick_loss_learns_the_choice_within_scenes(tmp_path):
    """Synthetic scenes of 8 candidates where only the one with the brightest centre succeeds: with the pick
    loss the ranker picks it in most held-out scenes (chance: 1 in 8), and its held-out pick loss ends below
    the cross-entropy-only ranker's (a pick loss wired to the wrong candidates would train it up, not down)."""
    g = torch.Generator().manual_seed(0)
    s, k, n_train = 200, 8, 160
    x = torch.rand(s * k, 2, 32, 32, generator=g) * 0.02
    centre = torch.rand(s, k, generator=g)
    x[:, 0, 14:18, 14:18] += centre.reshape(-1, 1, 1) * 0.04
    y = torch.zeros(s, k)
    y[torch.arange(s), centre.argmax(1)] = 1.0
    y, w, scene = y.reshape(-1), torch.full((s * k,), 0.05), torch.arange(s).repeat_interleave(k)
    n = n_train * k
    train, val = (x[:n], w[:n], y[:n]), (x[n:], w[n:], y[n:])
    tables = (mixed_scenes(scene[:n], y[:n]), mixed_scenes(scene[n:], y[n:]))
    out = {}
    for weight in (0.0, 1.0):
        cfg = GraspTrainConfig(steps=100, batch_size=64, eval_every=50, lr=3e-3, pick_weight=weight, pick_scenes=8)
        (tmp_path / str(weight)).mkdir()
        model, _ = _train_member(0, train, val, cfg, tmp_path / str(weight), None, torch.device("cpu"), tables)
        with torch.no_grad():
            out[weight] = pick_metrics(model(val[0], val[1]), val[2], tables[1])
    (loss_ce, _), (loss_pick, success_pick) = out[0.0], out[1.0]
    assert success_pick > 0.6 and loss_pick < loss_ce, out


def test_a_pick_weight_without_mixed_scenes_is_refused_by_name(tmp_path):
    from domrand.tasks.grasp.dataset import GraspDataConfig, generate
    from domrand.tasks.grasp.trainer import train_grasp

    with pytest.raises(ValueError, match="pick_weight must be >= 0"):
        GraspTrainConfig(pick_weight=-1.0)
    data = tmp_path / "labels"
    generate(GraspDataConfig(objects="procedural", num_objects=1, scenes=2, seed=1), data, workers=1, quiet=True)
    import numpy as np

    chunk = next((data / "chunks").glob("*.npz"))
    d = dict(np.load(chunk))
    d["success"] = np.ones_like(d["success"])  # every candidate succeeds: no pick to learn
    np.savez(chunk, **d)
    with pytest.raises(ValueError, match="has candidates that both succeed and fail"):
        train_grasp(str(data), str(tmp_path / "run"), GraspTrainConfig(steps=2, pick_weight=1.0), quiet=True)


def test_domrand_train_grasp_takes_the_pick_weight_and_the_precision_and_records_them(tmp_path, capsys):
    from domrand.cli import main
    from domrand.tasks.grasp.dataset import GraspDataConfig, generate
    from domrand.tasks.grasp.ranker import load_ranker

    data = tmp_path / "labels"
    generate(
        GraspDataConfig(objects="procedural", num_objects=2, scenes=6, seed=1, scale_to=0.12),
        data,
        workers=1,
        quiet=True,
    )
    args = ["train", "grasp", "--data", str(data), "--steps", "2", "--batch-size", "8", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "run"), "--pick-weight", "0.5"]) == 0
    _, meta = load_ranker(tmp_path / "run" / "best.pt")
    assert meta["train_config"]["pick_weight"] == 0.5 and "val_pick_success" in meta
    assert meta["train_config"]["precision"] == "fp32"  # the grasp default without --precision
    assert main([*args, "--out", str(tmp_path / "bf16"), "--precision", "bf16"]) == 0
    assert load_ranker(tmp_path / "bf16" / "best.pt")[1]["train_config"]["precision"] == "bf16"
    assert main([*args, "--out", str(tmp_path / "bad"), "--precision", "fp16"]) != 0
    assert "got 'fp16'" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def test_bf16_training_keeps_float32_weights_and_a_bad_precision_is_refused_by_name(tmp_path):
    from domrand.tasks.grasp.ranker import load_ranker

    with pytest.raises(ValueError, match="precision must be 'auto', 'bf16' or 'fp32', got 'fp16'"):
        GraspTrainConfig(precision="fp16")
    g = torch.Generator().manual_seed(0)
    x, w = torch.rand(64, 2, 32, 32, generator=g) * 0.03, torch.full((64,), 0.05)
    y = (x[:, 0, 14:18, 14:18].mean((1, 2)) > 0.015).float()
    cfg = GraspTrainConfig(steps=4, batch_size=16, eval_every=2, precision="bf16")
    model, _ = _train_member(
        0, (x[:48], w[:48], y[:48]), (x[48:], w[48:], y[48:]), cfg, tmp_path, None, torch.device("cpu")
    )
    assert all(p.dtype == torch.float32 and p.is_contiguous() for p in model.parameters())
    from domrand.tasks import checkpoint as ckpt

    ckpt.save(tmp_path / "r.pt", "grasp", {"members": [model.state_dict()], "width": 16, "views": 4})
    loaded, _ = load_ranker(tmp_path / "r.pt")
    with torch.no_grad():
        assert torch.isfinite(loaded(x, w)).all()
