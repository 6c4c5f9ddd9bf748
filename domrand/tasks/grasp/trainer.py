"""`domrand train grasp`: train `GraspRanker` from scratch on physics-labelled candidates.

Why a sampler with a learned ranker (rather than fully convolutional quality, angle and width maps):
the physics labels are sparse (tens of executed grasps per image), and a ranker learns from exactly
those, with no made-up dense targets; at test time the same depth-image sampler proposes candidates and
the ranker picks the most likely success.

The loss is each candidate's cross-entropy against its outcome; with `GraspTrainConfig.pick_weight` it also
has the pick loss (`pick_loss`): for a scene whose candidates both succeed and fail, a softmax over its
candidates trained to put its weight on the successes, the choice that is executed at test time.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from domrand.tasks import checkpoint as ckpt
from domrand.tasks.device import check_precision, resolve_device, resolve_precision
from domrand.tasks.grasp.dataset import load
from domrand.tasks.grasp.ranker import GraspRanker, RankerEnsemble, check_views


@dataclass(frozen=True)
class GraspTrainConfig:
    """How to train the ranker (recorded in every checkpoint).

    Attributes:
        steps, batch_size, lr, weight_decay: AdamW with cosine decay, per member.
        seed: member i uses seed + i (initialisation and batch order).
        val_fraction: the last share of the scenes, held out whole, for choosing each member's best step.
        eval_every: steps between validations.
        width: ranker channels (16: 0.18 s a step of 256 on 2 CPU cores; 32 was 3x slower, no better).
        members: rankers trained with different seeds; the checkpoint averages their logits.
        views: symmetric views (1, 2 or 4: as they are, fingers swapped, mirrored, both) each training crop is
            drawn from and the checkpoint averages at test time (`RankerEnsemble`). 2 is what checkpoints from
            before this field were trained with (fingers swapped) and are evaluated with 1 view.
        pick_weight: weight of the pick loss added to the per-candidate cross-entropy (0: none). The ranker's
            job is to choose one candidate of a scene; the pick loss (`pick_loss`) trains that choice directly,
            on the scenes whose executed candidates both succeed and fail, as a softmax over each scene's
            candidates whose expected success is maximised. With it, each member's best step is the one with
            the lowest validation cross-entropy + pick_weight x pick loss.
        pick_scenes: scenes (with both outcomes) drawn per step for the pick loss.
        precision: "fp32" (the default, which every run before this field used), "bf16" (bfloat16 autocast and
            channels-last convolutions in training and validation: 2.5 to 3x faster per step on a CPU with AMX)
            or "auto" (bf16 where the device computes it natively; `resolve_precision`). The weights stay
            float32, and a checkpoint is evaluated in float32 whatever it was trained in.
        bin_check: pile labels: leave out the candidates whose fingers would land on the bin's walls
            (`clutter.clear_of_bin`): the model never executes them in a pile, and its crops cannot show why they
            failed (the walls read as floor), so they teach it noise.
        init: a grasp checkpoint to start from (fine-tuning): member i starts from its member i modulo its
            member count; it must be a ranker of this `width`. None: fresh weights.
    """

    steps: int = 4000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    val_fraction: float = 0.1
    eval_every: int = 250
    width: int = 16
    members: int = 1
    views: int = 4
    pick_weight: float = 0.0
    pick_scenes: int = 16
    precision: str = "fp32"
    bin_check: bool = False
    init: str | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "width", "members", "pick_scenes"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")
        if not self.pick_weight >= 0:
            raise ValueError(f"pick_weight must be >= 0, got {self.pick_weight}")
        check_precision(self.precision)
        check_views(self.views)


def labels_of_piles(data: str | Path | Sequence[str | Path]) -> bool:
    """Whether any of the grasp-label folders `data` holds piles (its manifest's `clutter`)."""
    for root in [data] if isinstance(data, (str, Path)) else data:
        manifest = Path(root) / "manifest.json"
        if manifest.is_file() and json.loads(manifest.read_text()).get("config", {}).get("clutter") is not None:
            return True
    return False


def train_grasp(
    data: str | list[str],
    out: str,
    cfg: GraspTrainConfig | None = None,
    quiet: bool = False,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """Train `cfg.members` rankers on one grasp-label folder or several (`dataset.load`); writes RUN/best.pt
    (every member at its best validation loss, evaluated as `RankerEnsemble`) and RUN/log.jsonl. Validation
    holds out whole scenes (the last `val_fraction` of them, so the last folder's). `device`: where the
    rankers train (`domrand.tasks.device.resolve_device`); batches and weights are the same on every device, the
    arithmetic is not, so runs are bit-for-bit reproducible on one kind of device."""
    cfg = cfg or GraspTrainConfig()
    dev = resolve_device(device)
    run = Path(out)
    if run.exists() and any(run.iterdir()):
        raise ValueError(f"run folder {out!r} is not empty; choose another folder")
    starts = _initial_weights(cfg)  # as a bad --init
    d = load(data)  # a bad --data fails before the run folder is made
    if cfg.bin_check:
        d = _clear_of_bin(d)
    run.mkdir(parents=True, exist_ok=True)
    scenes = np.unique(d["scene"])
    val_scenes = scenes[-max(1, int(len(scenes) * cfg.val_fraction)) :]
    is_val = np.isin(d["scene"], val_scenes)
    x, w, y = (
        torch.from_numpy(d["crops"]),
        torch.from_numpy(d["grasp"][:, 4]),
        torch.from_numpy(d["target"]),
    )
    tr, va = torch.from_numpy(~is_val), torch.from_numpy(is_val)
    train_set, val_set = (x[tr], w[tr], y[tr]), (x[va], w[va], y[va])
    scene = torch.from_numpy(d["scene"])
    tables = (mixed_scenes(scene[tr], y[tr]), mixed_scenes(scene[va], y[va]))
    if cfg.pick_weight > 0 and len(tables[0]) == 0:
        raise ValueError(
            f"pick_weight {cfg.pick_weight}: no training scene of {data!r} has candidates that both succeed and "
            "fail, so there is no pick to learn"
        )
    t0 = time.perf_counter()
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps * cfg.members, unit="step", file=sys.stderr)
    members = [
        _train_member(i, train_set, val_set, cfg, run, bar, dev, tables, starts[i % len(starts)] if starts else None)
        for i in range(cfg.members)
    ]
    if bar is not None:
        bar.close()
    ensemble = RankerEnsemble([m for m, _ in members], cfg.views).eval()
    logits = _logits(ensemble, *val_set[:2])
    precision = resolve_precision(cfg.precision, dev)
    vl, acc = _bce(logits, val_set[2])
    pl, ps = pick_metrics(logits, val_set[2], tables[1])
    ckpt.save(
        run / "best.pt",
        "grasp",
        {
            "members": [m.state_dict() for m, _ in members],
            "width": cfg.width,
            "views": cfg.views,
            "train_config": asdict(cfg),
            **({"init_sha256": hashlib.sha256(Path(cfg.init).read_bytes()).hexdigest()} if cfg.init else {}),
            "precision": precision,
            "data": str(data) if isinstance(data, (str, Path)) else [str(d) for d in data],
            "piles": labels_of_piles(data),  # `predict grasp` then reads its depth images as piles in the bin
            "steps": [step for _, step in members],
            "val_loss": vl,
            "val_accuracy": acc,
            "val_pick_loss": pl,
            "val_pick_success": ps,
        },
    )
    return {
        "run": str(run),
        "best_val_loss": vl,
        "val_accuracy": acc,
        "val_pick_loss": pl,
        "val_pick_success": ps,
        "val_pick_scenes": len(tables[1]),
        "candidates": len(y),
        "positives": float(y.mean()),
        "seconds": time.perf_counter() - t0,
        "device": str(dev),
        "precision": precision,
    }


def _initial_weights(cfg: GraspTrainConfig) -> list[dict[str, torch.Tensor]]:
    """The members' weights of `cfg.init` (none without it); one clear error for a checkpoint that is not a grasp
    ranker's or is of another width."""
    if cfg.init is None:
        return []
    state = ckpt.load(cfg.init, "grasp")
    width = int(state.get("width", 32))
    if width != cfg.width:
        raise ValueError(
            f"--init {cfg.init!r} is a ranker of width {width}, this run's is {cfg.width}: start from a checkpoint "
            "of the same width, or leave --init out"
        )
    return list(state["members"]) if "members" in state else [state["model"]]


def _clear_of_bin(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The labels (`dataset.load`'s arrays) of the candidates `clutter.clear_of_bin` keeps, scene by scene (a
    scene none of whose candidates is clear keeps them all, as the check does)."""
    from domrand.tasks.grasp.clutter import bin_clear_rows

    clear = bin_clear_rows(d["grasp"])
    scenes, index = np.unique(d["scene"], return_inverse=True)
    any_clear = np.zeros(len(scenes), bool)
    np.logical_or.at(any_clear, index, clear)
    keep = clear | ~any_clear[index]
    return {k: v[keep] for k, v in d.items()}


def _logits(model: torch.nn.Module, x: torch.Tensor, w: torch.Tensor, bf16: bool = False) -> torch.Tensor:
    """(N,) float32 logits of `model` for crops `x` (N, 2, C, C) and openings `w` (N,), on the CPU, without
    gradients; with `bf16`, under bfloat16 autocast in channels-last layout."""
    dev = next(model.parameters()).device  # the crops go where the model is; the logits come back
    out = []
    with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(x), 1024):
            xb = x[i : i + 1024].to(dev)
            xb = xb.contiguous(memory_format=torch.channels_last) if bf16 else xb
            out.append(model(xb, w[i : i + 1024].to(dev)).float().cpu())
    return torch.cat(out)


def _bce(logits: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Cross-entropy and accuracy of `logits` (N,) against targets `y` (N,) in [0, 1]."""
    loss = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y))
    return loss, float(((logits > 0) == (y > 0.5)).float().mean())


def mixed_scenes(scene: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(S, K) long: for each scene (`scene` (N,) the candidates' scene numbers) whose candidates' targets (N,)
    differ, the indices of its candidates, padded with -1 to the largest such scene's count K.

    >>> mixed_scenes(torch.tensor([0, 0, 1, 1, 1]), torch.tensor([1.0, 0.0, 1.0, 1.0, 1.0]))
    tensor([[0, 1]])
    """
    order = torch.argsort(scene, stable=True)
    _, counts = torch.unique_consecutive(scene[order], return_counts=True)
    row = torch.repeat_interleave(torch.arange(len(counts)), counts)
    pos = torch.arange(len(order)) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    table = torch.full((len(counts), int(counts.max()) if len(counts) else 0), -1, dtype=torch.long)
    table[row, pos] = order
    t = target[order].float()
    hi = torch.full((len(counts),), -math.inf).scatter_reduce(0, row, t, "amax")
    lo = torch.full((len(counts),), math.inf).scatter_reduce(0, row, t, "amin")
    out = table[hi > lo]
    return out[:, : int((out >= 0).sum(1).max()) if len(out) else 0]


def pick_loss(logits: torch.Tensor, target: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """(S,) the pick loss of S scenes: -log of the expected target (success) of a candidate drawn from the
    softmax of each scene's logits (S, K) over its `valid` (S, K) candidates; targets (S, K) in [0, 1], some
    above 0 in every scene. Its minimum puts all of a scene's weight on its best candidates.

    >>> float(pick_loss(torch.tensor([[0.0, 0.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([[True, True]]))[0])
    0.6931471824645996
    """
    logp = torch.log_softmax(logits.masked_fill(~valid, -1e9), 1)
    good = valid & (target > 0)
    return -torch.logsumexp((logp + torch.log(target.clamp_min(1e-12))).masked_fill(~good, -1e9), 1)


def pick_metrics(logits: torch.Tensor, target: torch.Tensor, table: torch.Tensor) -> tuple[float, float]:
    """Mean pick loss and pick success (the target of each scene's top-scored candidate) over the scenes of
    `table` (`mixed_scenes`), from every candidate's logit (N,) and target (N,); NaN for an empty table."""
    if len(table) == 0:
        return math.nan, math.nan
    valid = table >= 0
    idx = table.clamp_min(0)
    scene_logits, scene_target = logits[idx].masked_fill(~valid, -math.inf), target[idx]
    top = scene_target.gather(1, scene_logits.argmax(1, keepdim=True))
    return float(pick_loss(logits[idx], scene_target, valid).mean()), float(top.mean())


def _train_member(
    i: int,
    train_set: tuple,
    val_set: tuple,
    cfg: GraspTrainConfig,
    run: Path,
    bar: Any,
    dev: torch.device,
    tables: tuple[torch.Tensor, torch.Tensor] | None = None,
    start: dict[str, torch.Tensor] | None = None,
) -> tuple[GraspRanker, int]:
    """Member i (seed cfg.seed + i): the ranker at its best validation loss (over `cfg.views` views; plus
    `cfg.pick_weight` x the pick loss) and that step, on the CPU (trained on `dev`). `tables`: the training and
    validation sets' `mixed_scenes` (needed when `cfg.pick_weight` > 0). `start`: weights to begin from."""
    xt, wt, yt = train_set
    empty = torch.zeros(0, 0, dtype=torch.long)
    train_table, val_table = tables if tables is not None else (empty, empty)
    seed = cfg.seed + i
    torch.manual_seed(seed)
    bf16 = resolve_precision(cfg.precision, dev) == "bf16"
    layout = torch.channels_last if bf16 else torch.contiguous_format  # oneDNN's fast layout for bfloat16
    model = GraspRanker(cfg.width)
    if start is not None:
        ckpt.load_state(model, start, str(cfg.init))
    model = model.to(dev, memory_format=layout)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    best, best_state, best_step, t0 = float("inf"), None, 0, time.perf_counter()
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(0, len(yt), (cfg.batch_size,), generator=gen)
        if cfg.pick_weight > 0:  # whole scenes for the pick loss, after the cross-entropy's batch
            rows = train_table[torch.randint(0, len(train_table), (cfg.pick_scenes,), generator=gen)]
            idx = torch.cat([idx, rows[rows >= 0]])
        xb = xt[idx]
        if cfg.views >= 2:  # swapping the fingers gives the same grasp
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        if cfg.views == 4:  # so does the mirror image across the closing line
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(-2), xb)
        for g in opt.param_groups:
            g["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            logits = model(xb.to(dev).contiguous(memory_format=layout), wt[idx].to(dev)).float()
        b = cfg.batch_size
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits[:b], yt[idx[:b]].to(dev))
        if cfg.pick_weight > 0:
            valid = (rows >= 0).to(dev)
            scene_logits = torch.zeros(rows.shape, device=dev).masked_scatter(valid, logits[b:])
            scene_target = yt[rows.clamp_min(0)].to(dev)
            loss = loss + cfg.pick_weight * pick_loss(scene_logits, scene_target, valid).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            model.eval()
            val_logits = _logits(RankerEnsemble([model], cfg.views), *val_set[:2], bf16=bf16)
            model.train()
            vl, acc = _bce(val_logits, val_set[2])
            pl, ps = pick_metrics(val_logits, val_set[2], val_table)
            entry = {
                "member": i,
                "step": step,
                "train_loss": float(loss.detach()),
                "val_loss": vl,
                "val_accuracy": acc,
                "val_pick_loss": pl,
                "val_pick_success": ps,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            with open(run / "log.jsonl", "a") as f:
                f.write(json.dumps(entry) + "\n")
            score = vl + cfg.pick_weight * pl if cfg.pick_weight > 0 and len(val_table) else vl
            if score < best:
                best, best_step = score, step
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            if bar is not None:
                bar.set_postfix(member=i, val_loss=f"{vl:.3f}", val_acc=f"{acc:.3f}")
        if bar is not None:
            bar.update(1)
    model = model.cpu().to(memory_format=torch.contiguous_format)
    model.load_state_dict(best_state)
    return model.eval(), best_step
