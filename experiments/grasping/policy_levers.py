"""What surrounds the clutter model's ranker, varied one piece at a time on its validation piles (2026-12-07).

    python experiments/grasping/policy_levers.py --out experiments/grasping/results/clutter_policy_levers.json
    python experiments/grasping/policy_levers.py --anatomy --out experiments/grasping/results/clutter_failure_anatomy.json

The committed checkpoint (`grasp_recipes.clutter_model.COMMITTED`) with the sampler it is read with (`fingertips`)
runs the clearance runs of the validation piles that chose it (`clutter_model.validate`: 40 piles of held-out
procedural objects, 40 of the 25 realistic training meshes) once per variant; the first variant is the committed
policy and must give `clutter_model.validate`'s counts (checked). The variants:

- `retry_*`: the model's memory of failed grasps (`clutter.away_from`) with another radius and yaw;
- `points_*`: more sampled candidate points (`candidates.sample`'s `n_points`, 24 committed) x 8 yaws;
- `descent_*`: candidates dropped when the palm or a finger would stop the descent more than 1 or 2 cm above where
  it stops on the pinched part alone, read from the depth image's height map (`descent_rise`);
- `bin_check_tips`: the bin check (`clutter.bin_clear`) on the fingertips' height, not the fingers' centre;
- `tta_*` (test-time augmentation): each candidate scored as the mean (or the least) of the ranker's logits for it
  and for copies moved 3 or 5 mm along and across the closing direction (and turned 10 deg): a grasp whose
  neighbours score low is a grasp a small error would spoil.

`--anatomy`: the committed policy on the realistic pool, every attempt with the PyBullet contacts that ended its
descent: how far above the grasp's height it stopped and what the fingers (link 0, 1) or the palm (-1) touched.
`--hulls` adds how far the collision hulls (V-HACD) of each realistic training mesh and grocery test mesh stand
off the rendered mesh (`hull_gaps`).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import os
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from grasp_recipes.clutter_model import COMMITTED, VALIDATION_PILES, VALIDATION_SEEDS
from grasp_recipes.common import objects as recipe_objects

from domrand.generate import pool
from domrand.tasks.grasp import candidates as cand
from domrand.tasks.grasp.clutter import (
    RETRY_RADIUS,
    RETRY_YAW,
    ClutterResult,
    ClutterSim,
    away_from,
    bin_clear,
    clear_of_bin,
    model_options,
)
from domrand.tasks.grasp.evaluate_clutter import PileRunner
from domrand.tasks.grasp.objects import GraspObject, from_procedural, load_folder
from domrand.tasks.grasp.sim import FINGER, MAX_OPENING, Grasp, moved

#: The committed policy and each variant: retry radius (m) and yaw (deg), sampled points, descent limit (m, None:
#: no check), bin check on the tips, test-time augmentation (None, or the shift in metres, the turn in degrees and
#: "mean" or "min" of the copies' logits: `tta_scores`).
COMMITTED_POLICY = {
    "retry": (RETRY_RADIUS, math.degrees(RETRY_YAW)), "points": 24, "descent": None, "tips": False, "tta": None,
}  # fmt: skip
VARIANTS = {
    "committed": {},
    "retry_2cm_any_yaw": {"retry": (0.02, 90.0)},
    "retry_4cm_30deg": {"retry": (0.04, 30.0)},
    "retry_4cm_any_yaw": {"retry": (0.04, 90.0)},
    "retry_6cm_any_yaw": {"retry": (0.06, 90.0)},
    "points_48": {"points": 48},
    "points_96": {"points": 96},
    "descent_1cm": {"descent": 0.01},
    "descent_2cm": {"descent": 0.02},
    "bin_check_tips": {"tips": True},
    "tta_3mm_mean": {"tta": (0.003, 0.0, "mean")},
    "tta_3mm_10deg_mean": {"tta": (0.003, 10.0, "mean")},
    "tta_5mm_mean": {"tta": (0.005, 0.0, "mean")},
    "tta_3mm_min": {"tta": (0.003, 0.0, "min")},
}
GROCERY_MESHES = Path(__file__).resolve().parents[2] / "assets" / "meshes" / "robosuite_grocery"
PALM_HALF = (MAX_OPENING / 2 + FINGER[0] + 0.005, FINGER[1] / 2 + 0.005)  # the palm's half extents (`GraspSim`)


def tta_scores(model: Any, points: np.ndarray, options: list[Grasp], tta: tuple[float, float, str]) -> Any:
    """(N,) the ranker's logits for `options` augmented as `tta` = (shift m, turn deg, "mean" or "min") says: over
    each grasp and its copies moved `shift` along and across its closing direction (and turned by +-`turn`)."""
    shift, turn, how = tta
    moves = [(0.0, 0.0, 0.0), (shift, 0.0, 0.0), (-shift, 0.0, 0.0), (0.0, shift, 0.0), (0.0, -shift, 0.0)]
    moves += [(0.0, 0.0, math.radians(turn)), (0.0, 0.0, -math.radians(turn))] if turn else []
    copies = [moved(g, along, across, dyaw) for along, across, dyaw in moves for g in options]
    s = cand.scores(model, points, copies).reshape(len(moves), len(options))
    return s.mean(0) if how == "mean" else s.min(0).values


def descent_rise(points: np.ndarray, options: list[Grasp]) -> np.ndarray:
    """(N,) metres: how much higher each grasp's descent stops on the height map of `points` (H, W, 3) than on the
    pinched part alone. The palm (bottom `FINGER[2] / 2` above `Grasp.z`) stops on the highest point under it, a
    finger (tips as far below) on the highest point under it; on the part alone the palm meets the part's top,
    `candidates.DEPTH` above the grasp's height for the sampler's grasps (lower parts: the grasp's height)."""
    h = cand.height_map(points).reshape(-1)
    xy = np.nan_to_num(points[..., :2]).reshape(-1, 2)
    seen = h > cand.OBJECT_MIN_HEIGHT
    xy, h = xy[seen], h[seen]
    out = np.zeros(len(options))
    for i, g in enumerate(options):
        d = np.array([math.cos(g.yaw), math.sin(g.yaw)])
        rel = xy - [g.x, g.y]
        along, across = np.abs(rel @ d), np.abs(rel @ np.array([-d[1], d[0]]))
        palm = (along <= PALM_HALF[0]) & (across <= PALM_HALF[1])
        finger = (along >= g.width / 2) & (along <= g.width / 2 + FINGER[0]) & (across <= FINGER[1] / 2)
        alone = g.z + cand.DEPTH - FINGER[2] / 2
        stop = max(
            g.z,
            float(h[palm].max()) - FINGER[2] / 2 if palm.any() else -math.inf,
            float(h[finger].max()) + FINGER[2] / 2 if finger.any() else -math.inf,
        )
        out[i] = stop - alone
    return out


class ContactSim(ClutterSim):
    """The clutter trial, logging each attempt (`log`): held or not, how far above the grasp's height its descent
    stopped (metres) and the contacts that stopped it ("what@link" -> highest contact point, metres; objects as
    "object", the bin's walls as "wall", the table as "table"; link -1 the palm, 0 and 1 the fingers)."""

    log: list[dict[str, Any]]

    def grasp(self, g: Grasp) -> ClutterResult:
        r = super().grasp(g)
        self.log.append({"held": r.success, "stopped_above": r.stopped_at - g.z, "contacts": self.last_contacts})
        return r

    def _close_lift_hold(self, g: Grasp, z: float) -> None:
        p, kw = self.p, self._kw()
        names = {b: "object" for b in self.bodies.values()}
        names.update({b: "wall" for b in self.statics[1:]})
        names[self.table] = "table"
        self.last_contacts: dict[str, float] = {}
        for c in p.getContactPoints(self.gripper, **kw):
            key = f"{names.get(c[2], 'other')}@{c[3]}"
            self.last_contacts[key] = max(self.last_contacts.get(key, -1.0), round(float(c[6][2]), 4))
        super()._close_lift_hold(g, z)


class LeverRunner(PileRunner):
    """`PileRunner` with one variant of the model's policy (`VARIANTS`); with `anatomy`, every attempt recorded."""

    def __init__(self, policy: dict[str, Any], anatomy: bool, *args: Any) -> None:
        super().__init__(*args)
        self.policy, self.anatomy, self.rows = {**COMMITTED_POLICY, **policy}, anatomy, []
        if anatomy:
            self.sim.close()
            self.sim = ContactSim()

    def candidates(self, points: np.ndarray, rng: np.random.Generator) -> list[Grasp]:
        options = model_options(points, rng, self.fingertips, self.policy["points"])
        if self.policy["descent"] is not None and options:
            rise = descent_rise(points, options)
            options = [o for o, r in zip(options, rise) if r <= self.policy["descent"]] or options
        return options

    def choose(self, method, points, instance, rng, failed=None):  # type: ignore[no-untyped-def]
        options = self.candidates(points, rng)
        if self.policy["tips"]:  # the fingers' tips, half a finger below the height `bin_clear` tests
            options = [o for o in options if bin_clear(dataclasses.replace(o, z=o.z - FINGER[2] / 2))] or options
        else:
            options = clear_of_bin(options)
        radius, yaw = self.policy["retry"]
        options = away_from(options, failed or [], radius, math.radians(yaw))
        if not options:
            return None
        tta = self.policy["tta"]
        s = cand.scores(self.model, points, options) if tta is None else tta_scores(self.model, points, options, tta)
        g = options[int(s.argmax())]
        if self.anatomy:
            self.rows.append(
                {"grasp": [g.x, g.y, g.z, g.yaw, g.width], "descent_rise": float(descent_rise(points, [g])[0])}
            )
        return g

    def run(self, pile, p, seed, method):  # type: ignore[no-untyped-def]
        if not self.anatomy:
            return super().run(pile, p, seed, method)
        self.rows, self.sim.log = [], []
        out = super().run(pile, p, seed, method)
        out["anatomy"] = [{**a, **s} for a, s in zip(self.rows, self.sim.log)]
        return out


def validation_pools(work: Path, names: tuple[str, ...] = ("procedural", "realistic_train")) -> dict[str, Any]:
    """The objects of the validation pools `names` (as `clutter_model.validate` draws them), loaded once."""
    load = {
        "procedural": lambda: [from_procedural(s) for s in range(*VALIDATION_SEEDS)],
        "realistic_train": lambda: load_folder(recipe_objects(work)["realistic_train"])[0],
    }
    return {name: load[name]() for name in names}


def read(policy: dict[str, Any], pools: dict[str, list[GraspObject]], anatomy: bool = False) -> dict[str, Any]:
    """One variant's clearance runs on the validation `pools`: attempts and held per pool, the pooled rate."""
    out: dict[str, Any] = {}
    for name, objects in pools.items():
        runner = functools.partial(
            LeverRunner, policy, anatomy, str(COMMITTED), objects, 8, True, ("model",), True, True, True
        )
        runs = [
            r["methods"]["model"] for r in pool.run(runner, [(p, 1) for p in range(VALIDATION_PILES)], 2, ordered=True)
        ]
        out[name] = {"attempts": sum(len(r["attempts"]) for r in runs), "held": sum(sum(r["attempts"]) for r in runs)}
        if anatomy:
            out[name]["attempts_detail"] = [a for r in runs for a in r["anatomy"]]
    out["success_rate"] = sum(v["held"] for v in out.values()) / sum(v["attempts"] for v in out.values())
    return out


def anatomy(attempts: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts of the failed attempts by where their descent stopped and on what."""
    failed = [a for a in attempts if not a["held"]]
    high = [a for a in failed if a["stopped_above"] >= 0.025]

    def what(a: dict[str, Any]) -> str:
        keys = set(a["contacts"])
        if any(k.startswith("wall") for k in keys):
            return "fingers on a wall"
        if "object@-1" in keys:
            return "palm on an object"
        if keys & {"object@0", "object@1"}:
            return "a finger on an object"
        return "other"

    return {
        "attempts": len(attempts),
        "failed": len(failed),
        "failed_stopped_2.5cm_or_more_above": len(high),
        "of_those_by_contact": dict(Counter(map(what, high))),
        "of_those_the_depth_image_predicted_rise_over_1cm": sum(a["descent_rise"] > 0.01 for a in high),
        "failed_stopped_lower": len(failed) - len(high),
    }


def hull_gaps(work: Path, samples: int = 400) -> dict[str, dict[str, dict[str, float]]]:
    """Per mesh of the realistic training pool and of the grocery test set (at the task's 8 cm): the share of the
    outer surface of its collision hulls (V-HACD, what PyBullet collides with; faces inside another hull left out)
    more than 3 and 6 mm from the rendered mesh (what the depth image shows), and the largest distance (mm).
    Geometry only: no test pile is read."""
    import trimesh

    def exterior(h: Any, hulls: list[Any], n: int) -> np.ndarray:
        """n points on hull h's surface, less those inside another of the hulls or on its surface (within 0.5 mm:
        where two hulls meet inside the object)."""
        pts = h.sample(n, seed=0)
        inside = np.zeros(len(pts), bool)
        for other in hulls:
            if other is not h:
                # signed distance to each face's plane (outward normals): all below 0.5 mm is inside or on it
                signed = np.einsum("fk,pk->pf", other.face_normals, pts) - np.einsum(
                    "fk,fk->f", other.face_normals, other.vertices[other.faces[:, 0]]
                )
                inside |= signed.max(1) < 0.0005
        return pts[~inside]

    folders = {"realistic_train": recipe_objects(work)["realistic_train"], "grocery_test": GROCERY_MESHES}
    out: dict[str, dict[str, dict[str, float]]] = {}
    for pool_name, folder in folders.items():
        out[pool_name] = {}
        for o in load_folder(folder)[0]:
            mesh = trimesh.Trimesh(o.mesh.vertices.double().numpy(), o.mesh.faces.numpy())
            hulls = [trimesh.convex.convex_hull(np.asarray(q, np.float64)) for q in o.parts]
            pts = np.concatenate([exterior(h, hulls, samples) for h in hulls])
            d = trimesh.proximity.closest_point(mesh, pts)[1]
            out[pool_name][o.name] = {
                "hulls": len(hulls), "over_3mm": float(np.mean(d > 0.003)), "over_6mm": float(np.mean(d > 0.006)),
                "max_mm": round(float(d.max() * 1000), 2),
            }  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="work/grasping", help="where the realistic training meshes are copied")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--anatomy", action="store_true", help="the committed policy's attempts on the realistic pool")
    ap.add_argument("--hulls", action="store_true", help="with --anatomy: the meshes' hulls against the meshes")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    work = Path(args.work)
    if args.anatomy:
        reading = read({}, validation_pools(work, ("realistic_train",)), anatomy=True)
        report: dict[str, Any] = {
            "checkpoint": os.path.relpath(COMMITTED),
            **anatomy(reading["realistic_train"]["attempts_detail"]),
        }
        report["attempts_detail"] = reading["realistic_train"]["attempts_detail"]
        if args.hulls:
            report["hulls"] = hull_gaps(work)
    else:
        committed = json.loads((COMMITTED.parent.parent / "results" / "clutter_fingertips.json").read_text())
        report = {"checkpoint": os.path.relpath(COMMITTED), "validation_piles": {"procedural": list(VALIDATION_SEEDS),
                  "realistic_train": "the 25 pybullet_data training meshes", "piles_each": VALIDATION_PILES}, "readings": {}}  # fmt: skip
        pools = validation_pools(work)
        for name in args.variants:
            reading = read(VARIANTS[name], pools)
            report["readings"][name] = {"policy": {**COMMITTED_POLICY, **VARIANTS[name]}, **reading}
            print(name, {k: v for k, v in reading.items()}, flush=True)
            if name == "committed":
                want = committed["validation"]["fingertips"]
                got = {k: (reading[k]["attempts"], reading[k]["held"]) for k in ("procedural", "realistic_train")}
                if got != {k: (want[k]["attempts"], want[k]["held"]) for k in got}:
                    raise SystemExit(f"the committed policy read {got}, not results/clutter_fingertips.json's counts")
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    print({k: v for k, v in report.items() if k not in ("attempts_detail", "readings")})


if __name__ == "__main__":
    main()
