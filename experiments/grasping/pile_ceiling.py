"""What a clearance run leaves when it stops on failures, and whether any candidate could still lift it.

    python experiments/grasping/pile_ceiling.py --checkpoint experiments/grasping/checkpoints/grasp_clutter.pt \
        --objects assets/meshes/robosuite_grocery --piles 48 --out experiments/grasping/results/pile_ceiling_fingertips.json

Each pile's model run is replayed exactly as `domrand evaluate grasp --clutter 8 --clearance` runs it (same seeds,
the model's memory on; `--no-fingertips`: its sampler before 2026-12-06, as results/pile_ceiling.json was read);
where it stopped after three failures, the view its next attempt would have seen is taken and every candidate the
model chooses among (the sampler's and the centroid grasp) is executed from that state. `oracle`: some candidate
lifts something (the best any ranker of these candidates could do there); `oracle_clear`: some candidate that the
bin check keeps does; `left`: the objects still in the bin, by mesh name. A run that emptied its pile needs no
oracle.

With `--dense FROM.json` it reads the runs of an earlier report whose stopped state no candidate lifted and, from
each such state, executes a grid of top-down grasps that does not depend on the sampler: every 1 cm over the
objects' footprint (points seen above the floor), 8 closing directions, the fingers fully open
(`MAX_OPENING`), the fingers' centre (`Grasp.z`) at three depths below the local top (`DEPTH`, half of it, and as
low as candidates go, `LOWEST_Z`), those whose fingers land on a wall dropped first (`bin_clear`). `dense_lifts`: how many of them lift something.

    python experiments/grasping/pile_ceiling.py --checkpoint experiments/grasping/checkpoints/grasp_clutter.pt \
        --objects assets/meshes/robosuite_grocery --dense experiments/grasping/results/pile_ceiling.json \
        --out experiments/grasping/results/pile_ceiling_dense.json
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from domrand.generate import pool
from domrand.tasks.grasp import candidates as cand
from domrand.tasks.grasp.clutter import Pile, bin_clear
from domrand.tasks.grasp.evaluate_clutter import PileRunner
from domrand.tasks.grasp.objects import GraspObject, load_folder
from domrand.tasks.grasp.sim import MAX_OPENING, Grasp

GRID = 0.01  # metres between grid positions
GRID_YAWS = 8


def grid_grasps(points: np.ndarray) -> list[Grasp]:
    """The dense grid of top-down grasps over a view's object points (see the module's docstring)."""
    pts = cand.object_points(points)
    if len(pts) == 0:
        return []
    lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
    xs, ys = np.arange(lo[0], hi[0] + GRID, GRID), np.arange(lo[1], hi[1] + GRID, GRID)
    out = []
    for x in xs:
        for y in ys:
            near = np.linalg.norm(pts[:, :2] - [x, y], axis=1) < GRID
            if not near.any():
                continue
            top = float(pts[near, 2].max())
            for z in sorted({cand.grasp_z(top), max(top - cand.DEPTH / 2, cand.LOWEST_Z), cand.LOWEST_Z}):
                for j in range(GRID_YAWS):
                    g = Grasp(float(x), float(y), float(z), j * math.pi / GRID_YAWS, MAX_OPENING)
                    if bin_clear(g):
                        out.append(g)
    return out


class CeilingRunner(PileRunner):
    def replay(self, job: tuple[int, int]) -> tuple[Pile, dict[str, Any], list[str], tuple | None]:
        """Pile p's model run replayed (job = (p, seed); `self.sim` is left where it ended): the pile, the run's
        outcomes, the objects left by name, and the view its next attempt would have seen (points, instance,
        generator; None where the pile was emptied)."""
        p, seed = job
        pile = self.pile(p, seed)
        run = self.run(pile, p, seed, "model")
        left = sorted(pile.objects[i].name for i in self.sim.rest_poses)
        view = self.view(pile, p, seed, "model", len(run["attempts"])) if self.sim.rest_poses else None
        return pile, run, left, view

    def __call__(self, job: tuple[int, int]) -> dict[str, Any]:
        pile, run, left, view = self.replay(job)
        out = {"pile": job[0], **run, "left": left, "oracle": None, "candidates": 0, "successes": 0}
        if view is None:
            return out
        points, _, rng = view
        options = self.candidates(points, rng)
        lifted = [self.sim.grasp(g).lifted for g in options]
        held = [pile.objects[j].name for j in lifted if j is not None]
        clear = [bin_clear(g) for g in options]
        held_clear = [j for c, j in zip(clear, lifted) if j is not None and c]
        out.update(oracle=bool(held), oracle_clear=bool(held_clear), candidates=len(options), clear=sum(clear),
                   successes=len(held), liftable=sorted(set(held)))  # fmt: skip
        return out


class DenseRunner(CeilingRunner):
    def __call__(self, job: tuple[int, int]) -> dict[str, Any]:
        pile, _, left, view = self.replay(job)
        grid = grid_grasps(view[0]) if view is not None else []
        lifted = [self.sim.grasp(g).lifted for g in grid]
        held = sorted({pile.objects[j].name for j in lifted if j is not None})
        return {"pile": job[0], "left": left, "dense_grasps": len(grid), "dense_lifts": sum(j is not None for j in lifted),
                "dense_liftable": held}  # fmt: skip


def dense(checkpoint: str, objects: list[GraspObject], earlier: dict, workers: int = 2) -> dict:
    """DenseRunner on the runs of `earlier` (a pile_ceiling report) that stopped where no candidate lifted."""
    piles = [r["pile"] for r in earlier["per_pile"] if r["oracle"] is False]
    fingertips = earlier.get("fingertips", False)  # the runs are replayed with the earlier report's sampler
    runner = functools.partial(DenseRunner, checkpoint, objects, 8, True, ("model",), True, True, fingertips)
    rows = list(pool.run(runner, [(p, earlier["seed"]) for p in piles], workers, ordered=True))
    return {
        "checkpoint": checkpoint, "from": earlier["checkpoint"], "seed": earlier["seed"], "grid_m": GRID,
        "grid_yaws": GRID_YAWS, "states": len(rows), "states_with_a_lifting_grid_grasp": sum(r["dense_lifts"] > 0 for r in rows),
        "per_pile": rows,
    }  # fmt: skip


def pile_ceiling(
    checkpoint: str, objects: list[GraspObject], piles: int, seed: int = 0, workers: int = 2, fingertips: bool = True
) -> dict:
    runner = functools.partial(CeilingRunner, checkpoint, objects, 8, True, ("model",), True, True, fingertips)
    rows = list(pool.run(runner, [(p, seed) for p in range(piles)], workers, ordered=True))
    stopped = [r for r in rows if r["oracle"] is not None]
    return {
        "checkpoint": checkpoint,
        "piles": piles,
        "seed": seed,
        "fingertips": fingertips,
        "emptied": len(rows) - len(stopped),
        "stopped_on_failures": len(stopped),
        "stopped_with_a_liftable_candidate": sum(r["oracle"] for r in stopped),
        "stopped_with_a_liftable_bin_clear_candidate": sum(r["oracle_clear"] for r in stopped),
        "objects_left": dict(Counter(n for r in stopped for n in r["left"])),
        "objects_left_liftable": dict(Counter(n for r in stopped for n in r.get("liftable", []))),
        "per_pile": rows,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--objects", required=True)
    ap.add_argument("--piles", type=int, default=48)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-fingertips", action="store_true", help="the model's sampler before 2026-12-06")
    ap.add_argument("--dense", help="an earlier report: grid grasps where its runs stopped with no candidate lifting")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    objects, _ = load_folder(args.objects)
    if args.dense:
        report = dense(args.checkpoint, objects, json.loads(Path(args.dense).read_text()))
    else:
        report = pile_ceiling(args.checkpoint, objects, args.piles, args.seed, fingertips=not args.no_fingertips)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print({k: v for k, v in report.items() if k != "per_pile"})


if __name__ == "__main__":
    sys.exit(main())
