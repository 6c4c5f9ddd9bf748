"""`domrand evaluate grasp`: success rates of a ranker and of the `random` and `centroid` baselines on the
same trials (experiments/tasks/grasping.md), with Wilson 95% intervals.

Each object is dropped `trials` times from seeded poses; per trial the depth image (nominal camera, depth
noise) gives the candidates, the ranker's best one is executed, and so are both baselines' grasps, each
from the same rested state.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numpy as np
import torch

from domrand.generate import pool
from domrand.rng import derive_seed
from domrand.tasks.grasp import candidates as cand
from domrand.tasks.grasp.objects import GraspObject
from domrand.tasks.grasp.sim import Grasp

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
    from domrand.tasks.grasp.views import depth_view

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


class TrialRunner:
    """Runs drops of the objects with the checkpoint's model and the baselines; built once per process."""

    def __init__(self, checkpoint: str, objects: list[GraspObject]) -> None:
        from domrand.tasks.grasp.ranker import load_ranker
        from domrand.tasks.grasp.sim import GraspSim

        torch.set_num_threads(1)
        self.sim, self.model, self.objects = GraspSim(), load_ranker(checkpoint)[0], objects

    def __call__(self, job: tuple[int, int, int]) -> tuple[int, dict[str, bool]]:
        """Drop t of object i (job = (i, t, seed)): the outcome of each method's grasp."""
        i, t, seed = job
        sim, model = self.sim, self.model
        v = trial_view(sim, self.objects[i], i, t, seed)
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
    from domrand.tasks.grasp.ranker import load_ranker

    load_ranker(checkpoint)  # a bad checkpoint fails here, before any simulation
    if not objects:
        raise ValueError("no usable objects to evaluate")
    jobs = [(i, t, seed) for i in range(len(objects)) for t in range(trials)]
    results = list(pool.run(functools.partial(TrialRunner, checkpoint, objects), jobs, workers, ordered=True))
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
