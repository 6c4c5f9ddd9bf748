"""`domrand evaluate grasp`: success rates of a ranker and of the `random` and `centroid` baselines on the
same trials (../shared/tasks/grasping.md), with Wilson 95% intervals.

Each object is dropped `trials` times from seeded poses; per trial the depth image (nominal camera, depth
noise) gives the candidates, the ranker's best one is executed, and so are both baselines' grasps, each
from the same rested state.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from domrand.grasp import candidates as cand
from domrand.grasp.dataset import TEST_SEED_OFFSET
from domrand.grasp.objects import GraspObject, from_procedural, load_folder
from domrand.grasp.sim import Grasp
from domrand.rng import derive_seed

METHODS = ("model", "centroid", "random")


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    d = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / d
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, centre - half), min(1.0, centre + half)


def summary(outcomes: list[bool]) -> dict[str, Any]:
    k, n = int(sum(outcomes)), len(outcomes)
    lo, hi = wilson(k, n)
    return {"n_trials": n, "success_rate": k / n if n else 0.0, "ci95_low": lo, "ci95_high": hi}


_W: dict[str, Any] = {}


def _init(checkpoint: str, objects: list[GraspObject]) -> None:
    from domrand.grasp.sim import GraspSim
    from domrand.train.grasp_trainer import load_ranker

    torch.set_num_threads(1)
    _W.update(sim=GraspSim(), model=load_ranker(checkpoint)[0], objects=objects)


class TrialView(NamedTuple):
    """What a drop shows the methods: depth (H, W) metres, intrinsics (3, 3), camera-to-world (4, 4), the
    world points (H, W, 3) of the depth image, the candidates (the sampler's and the centroid grasp), the
    centroid grasp and the random baseline's grasp (either None where the depth image shows no object)."""

    depth: np.ndarray
    k: np.ndarray
    c2w: np.ndarray
    points: np.ndarray
    options: list[Grasp]
    centroid: Grasp | None
    random: Grasp | None


def trial_view(sim: Any, obj: GraspObject, i: int, t: int, seed: int) -> TrialView:
    """Drop t of object i (seeded by seed, i, t) in `sim`, and what it shows the methods."""
    from domrand.grasp.views import depth_view

    sim.load(obj)
    pos, orn = sim.drop(derive_seed(seed, i, t) & 0xFFFFFFFF)
    depth, k, c2w = depth_view(
        obj, pos, orn, torch.Generator().manual_seed(derive_seed(seed, i, t, 1)), perturb_camera=False
    )
    points = cand.world_points(depth, k, c2w)
    rng = np.random.default_rng(derive_seed(seed, i, t, 2))
    centroid, random_g = cand.centroid_grasp(points), cand.random_grasp(points, rng)
    options = cand.sample(points, rng) + [g for g in (centroid,) if g is not None]
    return TrialView(depth, k, c2w, points, options, centroid, random_g)


def trial(args: tuple[int, int, int]) -> tuple[int, dict[str, bool]]:
    """One drop of object i: the outcome of each method's grasp."""
    i, t, seed = args
    sim, model, obj = _W["sim"], _W["model"], _W["objects"][i]
    v = trial_view(sim, obj, i, t, seed)
    out = {m: False for m in METHODS}
    if v.options:
        out["model"] = sim.grasp(v.options[int(cand.scores(model, v.points, v.options).argmax())]).success
    if v.centroid is not None:
        out["centroid"] = sim.grasp(v.centroid).success
    if v.random is not None:
        out["random"] = sim.grasp(v.random).success
    return i, out


def evaluate(
    checkpoint: str,
    objects: list[GraspObject],
    trials: int = 5,
    seed: int = 0,
    workers: int = 2,
    skipped: list | None = None,
) -> dict[str, Any]:
    """Run every object's trials; returns the report (see module docstring)."""
    from domrand.train.grasp_trainer import load_ranker

    load_ranker(checkpoint)  # a bad checkpoint fails here, before any simulation
    if not objects:
        raise ValueError("no usable objects to evaluate")
    jobs = [(i, t, seed) for i in range(len(objects)) for t in range(trials)]
    if workers <= 1:
        _init(checkpoint, objects)
        results = [trial(j) for j in jobs]
    else:
        with mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(checkpoint, objects)) as pool:
            results = pool.map(trial, jobs, chunksize=1)
    per = {m: [r[m] for _, r in results] for m in METHODS}
    report: dict[str, Any] = {
        **summary(per["model"]),
        "baselines": {m: summary(per[m]) for m in ("random", "centroid")},
    }
    report["per_object"] = {
        objects[i].name: {m: float(np.mean([r[m] for j, r in results if j == i])) for m in METHODS}
        for i in range(len(objects))
    }
    report.update(
        objects=len(objects), trials_per_object=trials, seed=seed, checkpoint=str(checkpoint), skipped=skipped or []
    )
    return report


def main_evaluate(args: argparse.Namespace) -> dict[str, Any]:
    if (args.objects is None) == (args.procedural is None):
        raise ValueError("domrand evaluate grasp needs exactly one of --objects DIR or --procedural N")
    if not args.trials >= 1:
        raise ValueError(f"--trials must be >= 1, got {args.trials}")
    if not args.scale_to > 0:
        raise ValueError(f"--scale-to must be > 0 metres, got {args.scale_to}")
    if args.objects is not None:
        objects, skipped = load_folder(args.objects, args.scale_to)
        source = args.objects
    else:
        objects, skipped = [from_procedural(TEST_SEED_OFFSET + i, args.scale_to) for i in range(args.procedural)], []
        source = f"procedural seeds {TEST_SEED_OFFSET} to {TEST_SEED_OFFSET + args.procedural - 1}"
    report = evaluate(args.checkpoint, objects, args.trials, args.seed, args.workers, skipped)
    report.update(source=source, scale_to=args.scale_to)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, indent=2) + "\n")
    return report
