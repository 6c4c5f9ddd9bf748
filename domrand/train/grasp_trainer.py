"""`domrand train grasp`: train `GraspRanker` from scratch on physics-labelled candidates.

Why a sampler with a learned ranker (rather than fully convolutional quality, angle and width maps):
the physics labels are sparse (tens of executed grasps per image), and a ranker learns from exactly
those, with no made-up dense targets; at test time the same depth-image sampler proposes candidates and
the ranker picks the most likely success.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from domrand.grasp.dataset import load
from domrand.grasp.ranker import GraspRanker, RankerEnsemble, check_views
from domrand.train import checkpoint as ckpt
from domrand.train.device import resolve_device


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

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "width", "members"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")
        check_views(self.views)


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
    rankers train (`domrand.train.device.resolve_device`); batches and weights are the same on every device, the
    arithmetic is not, so runs are bit-for-bit reproducible on one kind of device."""
    cfg = cfg or GraspTrainConfig()
    dev = resolve_device(device)
    run = Path(out)
    if run.exists() and any(run.iterdir()):
        raise ValueError(f"run folder {out!r} is not empty; choose another folder")
    run.mkdir(parents=True, exist_ok=True)
    d = load(data)
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
    t0 = time.perf_counter()
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps * cfg.members, unit="step", file=sys.stderr)
    members = [_train_member(i, train_set, val_set, cfg, run, bar, dev) for i in range(cfg.members)]
    if bar is not None:
        bar.close()
    ensemble = RankerEnsemble([m for m, _ in members], cfg.views).eval()
    vl, acc = _validate(ensemble, *val_set)
    ckpt.save(
        run / "best.pt",
        "grasp",
        {
            "members": [m.state_dict() for m, _ in members],
            "width": cfg.width,
            "views": cfg.views,
            "train_config": asdict(cfg),
            "data": str(data) if isinstance(data, (str, Path)) else [str(d) for d in data],
            "steps": [step for _, step in members],
            "val_loss": vl,
            "val_accuracy": acc,
        },
    )
    return {
        "run": str(run),
        "best_val_loss": vl,
        "val_accuracy": acc,
        "candidates": len(y),
        "positives": float(y.mean()),
        "seconds": time.perf_counter() - t0,
        "device": str(dev),
    }


def _validate(model: torch.nn.Module, x: torch.Tensor, w: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Validation loss and accuracy of `model` (logits) on held-out candidates."""
    dev = next(model.parameters()).device  # the crops go where the model is; the logits come back
    with torch.no_grad():
        logits = torch.cat(
            [model(x[i : i + 1024].to(dev), w[i : i + 1024].to(dev)).cpu() for i in range(0, len(y), 1024)]
        )
    loss = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y))
    return loss, float(((logits > 0) == (y > 0.5)).float().mean())


def _train_member(
    i: int, train_set: tuple, val_set: tuple, cfg: GraspTrainConfig, run: Path, bar: Any, dev: torch.device
) -> tuple[GraspRanker, int]:
    """Member i (seed cfg.seed + i): the ranker at its best validation loss (over `cfg.views` views) and that
    step, on the CPU (trained on `dev`)."""
    xt, wt, yt = train_set
    seed = cfg.seed + i
    torch.manual_seed(seed)
    model = GraspRanker(cfg.width).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)
    best, best_state, best_step, t0 = float("inf"), None, 0, time.perf_counter()
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(0, len(yt), (cfg.batch_size,), generator=gen)
        xb = xt[idx]
        if cfg.views >= 2:  # swapping the fingers gives the same grasp
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        if cfg.views == 4:  # so does the mirror image across the closing line
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip[:, None, None, None], xb.flip(-2), xb)
        for g in opt.param_groups:
            g["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        logits = model(xb.to(dev), wt[idx].to(dev))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, yt[idx].to(dev))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            model.eval()
            vl, acc = _validate(RankerEnsemble([model], cfg.views), *val_set)
            model.train()
            entry = {
                "member": i,
                "step": step,
                "train_loss": float(loss.detach()),
                "val_loss": vl,
                "val_accuracy": acc,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            with open(run / "log.jsonl", "a") as f:
                f.write(json.dumps(entry) + "\n")
            if vl < best:
                best, best_step = vl, step
                best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            if bar is not None:
                bar.set_postfix(member=i, val_loss=f"{vl:.3f}", val_acc=f"{acc:.3f}")
        if bar is not None:
            bar.update(1)
    model = model.cpu()
    model.load_state_dict(best_state)
    return model.eval(), best_step


def load_ranker(path: str | Path) -> tuple[RankerEnsemble, dict[str, Any]]:
    """The checkpoint's rankers as one `RankerEnsemble` (eval mode) and its metadata. Checkpoints from before
    ensembles hold one ranker ("model") and are evaluated as they were: one view."""
    state = ckpt.load(path, "grasp")
    width = int(state.get("width", 32))  # checkpoints from before the width was stored had 32
    members = []
    for weights in state["members"] if "members" in state else [state["model"]]:
        m = GraspRanker(width)
        ckpt.load_state(m, weights, path)
        members.append(m)
    try:
        model = RankerEnsemble(members, int(state.get("views", 1)))
    except ValueError as e:
        raise ValueError(f"checkpoint {str(path)!r}: {e}") from None
    model.eval()
    return model, {k: v for k, v in state.items() if k not in ("model", "members")}


def main_train(args: argparse.Namespace) -> int:
    if not args.data:
        raise ValueError("domrand train grasp needs --data (folders from `domrand label grasps`)")
    cfg = GraspTrainConfig(
        steps=args.steps, batch_size=max(args.batch_size, 1), lr=args.lr, seed=args.seed, members=args.members
    )
    data = [args.data] if isinstance(args.data, str) else list(args.data)
    s = train_grasp(data[0] if len(data) == 1 else data, args.out, cfg, quiet=args.quiet, device=args.device)
    print(
        f"trained on {s['candidates']} labelled grasps ({100 * s['positives']:.0f}% successes) in {s['seconds']:.0f} s; best validation loss {s['best_val_loss']:.3f}; {s['run']}/best.pt"
    )
    return 0
