"""`domrand bench grasp`: executed grasps per second per core, the throughput of grasp labelling and of the
clutter task's trials (issue "Grasping that beats a heuristic": at least 4x today's, goal 10x).

Measured in this process on one core (PyBullet is single-threaded; labelling scales by processes):
- singulated labelling: `label_scene` of `domrand label grasps` (drop, depth view, candidates, and every
  candidate executed), executed grasps per second, and the share of the time spent executing;
- pile labelling: the same for `domrand label grasps --clutter 8` (piles settled in the bin, the clutter trial);
- clutter: piles of 3 to 8 procedural objects settled in the bin (seconds per pile), then the `centroid`
  baseline's grasp executed on each (trials per second).
"""

from __future__ import annotations

import json
import time
from typing import Any

from domrand.tools.bench.markdown import write_results


def labelling(scenes: int, clutter: int | None = None) -> dict[str, Any]:
    """Label `scenes` scenes of procedural objects as `domrand label grasps` does (with `clutter`, piles of 3 to
    that many objects: `--clutter`), timed."""
    from domrand.tasks.grasp.dataset import GraspDataConfig, ObjectPool, label_scene, sim_class

    cfg = GraspDataConfig(num_objects=8 if clutter is None else 16, scenes=scenes, seed=123, clutter=clutter)
    Sim = sim_class(cfg)
    pool = ObjectPool(cfg)
    sim = Sim()
    executing = [0.0]
    original = Sim.grasp

    def timed(self, g):  # the time inside the trials themselves
        t = time.perf_counter()
        try:
            return original(self, g)
        finally:
            executing[0] += time.perf_counter() - t

    Sim.grasp = timed  # type: ignore[method-assign]
    try:
        label_scene(sim, pool, cfg, 0)  # warm: kernels, the pool's first meshes
        executing[0] = 0.0
        t0, grasps = time.perf_counter(), 0
        for s in range(1, scenes + 1):
            out = label_scene(sim, pool, cfg, s)
            grasps += 0 if out is None else len(out["success"])
        seconds = time.perf_counter() - t0
    finally:
        Sim.grasp = original  # type: ignore[method-assign]
        sim.close()
    return {
        "measure": "singulated_labelling" if clutter is None else "pile_labelling",
        "scenes": scenes,
        "grasps": grasps,
        "grasps_per_s_per_core": round(grasps / seconds, 2),
        "executing_share": round(executing[0] / seconds, 3),
    }


def clutter(piles: int) -> dict[str, Any]:
    """Settle `piles` piles of 3 to 8 procedural objects and execute the centroid baseline's grasp on each."""
    import torch

    from domrand.tasks.grasp import candidates as cand
    from domrand.tasks.grasp.clutter import ClutterSim, centroid_topmost, in_bin, make_pile, pile_view
    from domrand.tasks.grasp.objects import from_procedural

    pool = [from_procedural(i) for i in range(16)]
    sim = ClutterSim()
    settle_s, trial_s, trials = 0.0, 0.0, 0
    try:
        for p in range(piles):
            pile = make_pile(pool, 8, seed=p)
            t = time.perf_counter()
            sim.load_pile(pile)
            sim.settle(p)
            settle_s += time.perf_counter() - t
            depth, instance, k, c2w = pile_view(pile, sim.rest_poses, torch.Generator().manual_seed(p))
            g = centroid_topmost(in_bin(cand.world_points(depth, k, c2w)), instance)
            if g is None:
                continue
            t = time.perf_counter()
            sim.grasp(g)
            trial_s += time.perf_counter() - t
            trials += 1
    finally:
        sim.close()
    return {
        "measure": "clutter",
        "piles": piles,
        "seconds_per_pile_settle": round(settle_s / max(piles, 1), 3),
        "trials": trials,
        "trials_per_s_per_core": round(trials / trial_s, 2) if trial_s else 0.0,
    }


def main(scenes: int = 20, piles: int = 10, json_out: str | None = None, readme: str | None = None) -> list[dict]:
    """Measure and report (printed table, `json_out` rows, `readme` table between BENCH_GRASP markers)."""
    rows = [labelling(scenes), clutter(piles), labelling(max(1, piles // 2), clutter=8)]
    for r in rows:
        print(json.dumps(r), flush=True)
    write_results(rows, table(rows), "BENCH_GRASP", json_out, readme)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown of the rows `main` measures."""
    s = next(r for r in rows if r["measure"] == "singulated_labelling")
    c = next(r for r in rows if r["measure"] == "clutter")
    piles = [r for r in rows if r["measure"] == "pile_labelling"]  # rows from before it have none
    return "\n".join(
        [
            "| what (one core) | rate |",
            "| --- | --- |",
            f"| singulated labelling (`label grasps`), {s['grasps']} executed grasps of {s['scenes']} scenes | "
            f"{s['grasps_per_s_per_core']} grasps/s ({100 * s['executing_share']:.0f} % of the time executing) |",
            *(
                f"| pile labelling (`label grasps --clutter 8`), {p['grasps']} executed grasps of {p['scenes']} piles | "
                f"{p['grasps_per_s_per_core']} grasps/s ({100 * p['executing_share']:.0f} % of the time executing) |"
                for p in piles
            ),
            f"| clutter trials, {c['trials']} of {c['piles']} piles of 3 to 8 objects | {c['trials_per_s_per_core']} trials/s |",
            f"| clutter pile settling | {c['seconds_per_pile_settle']} s a pile |",
        ]
    )
