"""What a clearance run leaves when it stops on failures, and whether any candidate could still lift it.

    python experiments/grasping/pile_ceiling.py --checkpoint experiments/grasping/checkpoints/grasp_clutter.pt \
        --objects assets/meshes/robosuite_grocery --piles 48 --out experiments/grasping/results/pile_ceiling.json

Each pile's model run is replayed exactly as `domrand evaluate grasp --clutter 8 --clearance` runs it (same seeds,
the model's memory on); where it stopped after three failures, the view its next attempt would have seen is
taken and every candidate the model chooses among (the sampler's and the centroid grasp) is executed from that
state. `oracle`: some candidate lifts something (the best any ranker of these candidates could do there);
`oracle_clear`: some candidate that the bin check keeps does; `left`: the objects still in the bin, by mesh
name. A run that emptied its pile needs no oracle.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from domrand.generate import pool
from domrand.tasks.grasp.clutter import bin_clear
from domrand.tasks.grasp.evaluate_clutter import PileRunner
from domrand.tasks.grasp.objects import GraspObject, load_folder


class CeilingRunner(PileRunner):
    def __call__(self, job: tuple[int, int]) -> dict[str, Any]:
        p, seed = job
        pile = self.pile(p, seed)
        run = self.run(pile, p, seed, "model")
        sim = self.sim
        left = sorted(pile.objects[i].name for i in sim.rest_poses)
        out = {"pile": p, **run, "left": left, "oracle": None, "candidates": 0, "successes": 0}
        if not sim.rest_poses:
            return out
        points, _, rng = self.view(pile, p, seed, "model", len(run["attempts"]))  # the next attempt's view
        options = self.candidates(points, rng)
        lifted = [sim.grasp(g).lifted for g in options]
        held = [pile.objects[j].name for j in lifted if j is not None]
        clear = [bin_clear(g) for g in options]
        held_clear = [j for c, j in zip(clear, lifted) if j is not None and c]
        out.update(oracle=bool(held), oracle_clear=bool(held_clear), candidates=len(options), clear=sum(clear),
                   successes=len(held), liftable=sorted(set(held)))  # fmt: skip
        return out


def pile_ceiling(checkpoint: str, objects: list[GraspObject], piles: int, seed: int = 0, workers: int = 2) -> dict:
    runner = functools.partial(CeilingRunner, checkpoint, objects, 8, True, ("model",))
    rows = list(pool.run(runner, [(p, seed) for p in range(piles)], workers, ordered=True))
    stopped = [r for r in rows if r["oracle"] is not None]
    return {
        "checkpoint": checkpoint,
        "piles": piles,
        "seed": seed,
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
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    objects, _ = load_folder(args.objects)
    report = pile_ceiling(args.checkpoint, objects, args.piles, args.seed)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print({k: v for k, v in report.items() if k != "per_pile"})


if __name__ == "__main__":
    sys.exit(main())
