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
from domrand.grasp.ranker import GraspRanker
from domrand.train import checkpoint as ckpt


@dataclass(frozen=True)
class GraspTrainConfig:
    steps: int = 4000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    val_fraction: float = 0.1
    eval_every: int = 250
    width: int = 16  # ranker channels (16: 0.18 s a step of 256 on 2 CPU cores; 32 was 3x slower, no better)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "eval_every", "width"):
            if not getattr(self, name) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in (0, 0.5), got {self.val_fraction}")


def train_grasp(data: str, out: str, cfg: GraspTrainConfig | None = None, quiet: bool = False) -> dict[str, Any]:
    """Train a ranker on a grasp-label folder; writes RUN/best.pt (best validation loss) and RUN/log.jsonl.
    Validation holds out whole scenes (the last `val_fraction` of them)."""
    cfg = cfg or GraspTrainConfig()
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
        torch.from_numpy(d["success"].astype(np.float32)),
    )
    tr, va = torch.from_numpy(~is_val), torch.from_numpy(is_val)
    xt, wt, yt = x[tr], w[tr], y[tr]
    torch.manual_seed(cfg.seed)
    model = GraspRanker(cfg.width)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    best, t0 = float("inf"), time.perf_counter()
    bar = None
    if not quiet:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, unit="step", file=sys.stderr)
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(0, len(yt), (cfg.batch_size,), generator=gen)
        xb = xt[idx]
        flip = torch.rand(len(idx), generator=gen) < 0.5  # a grasp is symmetric under swapping the fingers
        xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        for g in opt.param_groups:
            g["lr"] = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xb, wt[idx]), yt[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % cfg.eval_every == 0 or step == cfg.steps:
            model.eval()
            with torch.no_grad():
                logits = torch.cat(
                    [model(x[va][i : i + 1024], w[va][i : i + 1024]) for i in range(0, int(va.sum()), 1024)]
                )
            model.train()
            vl = float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y[va]))
            acc = float(((logits > 0) == (y[va] > 0.5)).float().mean())
            entry = {
                "step": step,
                "train_loss": float(loss.detach()),
                "val_loss": vl,
                "val_accuracy": acc,
                "seconds": round(time.perf_counter() - t0, 1),
            }
            with open(run / "log.jsonl", "a") as f:
                f.write(json.dumps(entry) + "\n")
            if vl < best:
                best = vl
                ckpt.save(
                    run / "best.pt",
                    "grasp",
                    {
                        "model": model.state_dict(),
                        "width": cfg.width,
                        "train_config": asdict(cfg),
                        "data": str(data),
                        "step": step,
                        "val_loss": vl,
                        "val_accuracy": acc,
                    },
                )
            if bar is not None:
                bar.set_postfix(val_loss=f"{vl:.3f}", val_acc=f"{acc:.3f}")
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return {
        "run": str(run),
        "best_val_loss": best,
        "candidates": len(y),
        "positives": float(y.mean()),
        "seconds": time.perf_counter() - t0,
    }


def load_ranker(path: str | Path) -> tuple[GraspRanker, dict[str, Any]]:
    state = ckpt.load(path, "grasp")
    model = GraspRanker(int(state.get("width", 32)))  # checkpoints from before the width was stored had 32
    ckpt.load_state(model, state["model"], path)
    model.eval()
    return model, {k: v for k, v in state.items() if k != "model"}


def main_train(args: argparse.Namespace) -> int:
    if not args.data:
        raise ValueError("domrand train grasp needs --data (a folder from `domrand label grasps`)")
    cfg = GraspTrainConfig(steps=args.steps, batch_size=max(args.batch_size, 1), lr=args.lr, seed=args.seed)
    s = train_grasp(args.data, args.out, cfg, quiet=args.quiet)
    print(
        f"trained on {s['candidates']} labelled grasps ({100 * s['positives']:.0f}% successes) in {s['seconds']:.0f} s; best validation loss {s['best_val_loss']:.3f}; {s['run']}/best.pt"
    )
    return 0
