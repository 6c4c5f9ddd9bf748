"""`domrand bench grasp`: executed grasps per second per core, the throughput of grasp labelling and of the
clutter task's trials (issue "Grasping that beats a heuristic": at least 4x today's, goal 10x).

Measured in this process on one core (PyBullet is single-threaded; labelling scales by processes):
- singulated labelling: `label_scene` of `domrand label grasps` (drop, depth view, candidates, and every
  candidate executed), executed grasps per second, and the share of the time spent executing;
- pile labelling: the same for `domrand label grasps --clutter 8` (piles settled in the bin, the clutter trial);
- clutter: piles of 3 to 8 procedural objects settled in the bin (seconds per pile), then the `centroid`
  baseline's grasp executed on each (trials per second);
- both labellings again with the fast trial (`domrand label grasps --fast-trial`, `sim.GraspSim(fast=True)`) on
  the same scenes and candidates: its rate, its speed-up over the reference measured beside it, and how many of
  the executed grasps it decided as the reference did (`agreement`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from domrand.tools.bench.markdown import write_results


def labelling(scenes: int, clutter: int | None = None, fast: bool = False) -> dict[str, Any]:
    """Label `scenes` scenes of procedural objects as `domrand label grasps` does (with `clutter`, piles of 3 to
    that many objects: `--clutter`; `fast`: `--fast-trial`), timed. The row's `outcomes` are the executed grasps'
    successes in order (`main` compares the two trials' and leaves them out of the report)."""
    from domrand.tasks.grasp.dataset import GraspDataConfig, ObjectPool, label_scene, sim_class

    cfg = GraspDataConfig(
        num_objects=8 if clutter is None else 16, scenes=scenes, seed=123, clutter=clutter, fast_trial=fast
    )
    Sim = sim_class(cfg)
    pool = ObjectPool(cfg)
    sim = Sim(fast=fast)
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
        t0, outcomes = time.perf_counter(), []
        for s in range(1, scenes + 1):
            out = label_scene(sim, pool, cfg, s)
            outcomes += [] if out is None else [bool(v) for v in out["success"]]
        seconds = time.perf_counter() - t0
        grasps = len(outcomes)
    finally:
        Sim.grasp = original  # type: ignore[method-assign]
        sim.close()
    return {
        "measure": "singulated_labelling" if clutter is None else "pile_labelling",
        **({"trial": "fast"} if fast else {}),
        "scenes": scenes,
        "grasps": grasps,
        "grasps_per_s_per_core": round(grasps / seconds, 2),
        "executing_share": round(executing[0] / seconds, 3),
        "outcomes": outcomes,
    }


def against_reference(fast: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """The fast trial's row with its speed-up over the reference row of the same scenes and its agreement (executed
    grasps decided alike, of all); neither keeps its `outcomes`."""
    a, b = reference.pop("outcomes"), fast.pop("outcomes")
    if len(a) != len(b):
        raise RuntimeError(f"the fast trial executed {len(b)} grasps, the reference {len(a)}: not the same candidates")
    return {
        **fast,
        "speedup": round(fast["grasps_per_s_per_core"] / reference["grasps_per_s_per_core"], 2),
        "agreement": [sum(x == y for x, y in zip(a, b)), len(a)],
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
    single, pile_scenes = labelling(scenes), max(1, piles // 2)
    pile = labelling(pile_scenes, clutter=8)
    fast_single = against_reference(labelling(scenes, fast=True), single)
    fast_pile = against_reference(labelling(pile_scenes, clutter=8, fast=True), pile)
    rows = [single, clutter(piles), pile, fast_single, fast_pile]
    for r in rows:
        print(json.dumps(r), flush=True)
    write_results(rows, table(rows), "BENCH_GRASP", json_out, readme)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """Markdown of the rows `main` measures."""
    s = next(r for r in rows if r["measure"] == "singulated_labelling" and "trial" not in r)
    c = next(r for r in rows if r["measure"] == "clutter")
    piles = [r for r in rows if r["measure"] == "pile_labelling" and "trial" not in r]  # rows from before: none
    fast = [r for r in rows if r.get("trial") == "fast"]  # rows from before 2026-12-07: none
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
            *(
                f"| {'pile' if f['measure'] == 'pile_labelling' else 'singulated'} labelling with the fast trial "
                f"(`--fast-trial`), the same {f['grasps']} grasps | {f['grasps_per_s_per_core']} grasps/s "
                f"({f['speedup']:.2f}x; decided as the reference on {f['agreement'][0]} of {f['agreement'][1]}) |"
                for f in fast
            ),
            f"| clutter trials, {c['trials']} of {c['piles']} piles of 3 to 8 objects | {c['trials_per_s_per_core']} trials/s |",
            f"| clutter pile settling | {c['seconds_per_pile_settle']} s a pile |",
        ]
    )
