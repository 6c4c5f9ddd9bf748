"""Where a grasp ranker's misses come from: every candidate of every drop executed in physics.

    python experiments/grasping/diagnose.py label --objects DIR --scale-to 0.12 --trials 8 --out dense.npz
    python experiments/grasping/diagnose.py label --procedural 1500000-1500100 --scale-to 0.12 --trials 2 --out dense.npz
    python experiments/grasping/diagnose.py label --objects DIR --scale-to 0.12 --trials 20 --jitter 4 --only lego.obj --out j.npz
    python experiments/grasping/diagnose.py rank dense.npz CKPT [CKPT ...] [--wide]

`label` makes the drops exactly as `domrand evaluate grasp` does (same seeds, nominal camera, depth noise, the
same candidates: the sampler's and the centroid grasp) and executes every candidate from the rested state.
`rank` then reads, per object and overall: `oracle` (some candidate succeeds: the best any ranker of these
candidates can do), `centroid` (the baseline), `candidates` (the mean candidate's success) and, per checkpoint, the
success of the candidate it would pick (from a jittered file, also `robust oracle`: the drops' best candidate's rate
over its K + 1 executions, and each pick's such rate; with `--wide`, also over the drops whose section across the
centroid is wider than the gripper opens, and the others). No physics runs again, so rankers are compared on exactly
the same outcomes; each checkpoint's picks are cached in DENSE.picks/ (keyed by both files' bytes), so a rerun takes
seconds. Pick rankers on drops of objects that are not the test objects (the realistic training meshes, procedural
seeds outside the training and test ranges).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

_W: dict = {}


def _init(objects: list) -> None:
    from domrand.grasp.sim import GraspSim

    torch.set_num_threads(1)
    _W.update(sim=GraspSim(), objects=objects)


def _drop(job: tuple[int, int, int, int]) -> dict:
    """Object i, drop t: the evaluation's depth image and candidates, each executed (and `jitter` times more,
    jittered)."""
    from domrand.eval.grasp import trial_view
    from domrand.grasp.sim import jittered
    from domrand.rng import derive_seed

    i, t, seed, jitter = job
    sim, obj = _W["sim"], _W["objects"][i]
    v = trial_view(sim, obj, i, t, seed)
    rng = np.random.default_rng(derive_seed(seed, i, t, 3))
    jit = np.array([[sim.grasp(jittered(g, rng)).success for _ in range(jitter)] for g in v.options], dtype=bool)
    jit = jit.reshape(len(v.options), jitter)
    success = np.array([sim.grasp(g).success for g in v.options], dtype=bool)
    has_centroid = v.centroid is not None  # then it is the last option (`trial_view`)
    return {
        "jitter": jit,
        "object": i,
        "trial": t,
        "depth": v.depth.astype(np.float32),
        "k": v.k,
        "c2w": v.c2w,
        "grasps": np.array([[g.x, g.y, g.z, g.yaw, g.width] for g in v.options], dtype=np.float32).reshape(-1, 5),
        "success": success,
        "centroid": bool(has_centroid and success[-1]),
        # the centroid grasp's rate over its plain and jittered executions
        "centroid_rate": float(np.r_[success[-1], jit[-1]].mean()) if has_centroid else 0.0,
    }


def label(
    objects: list,
    names: list[str],
    trials: int,
    seed: int,
    out: Path,
    workers: int,
    jitter: int = 0,
    only: set[str] | None = None,
) -> None:
    """Every candidate of `trials` drops of each object (of those named in `only`, if given) executed, and
    `jitter` times more jittered; written to `out` (.npz)."""
    jobs = [
        (i, t, seed, jitter) for i in range(len(objects)) if only is None or names[i] in only for t in range(trials)
    ]
    with mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(objects,)) as pool:
        rows = pool.map(_drop, jobs, chunksize=1)
    np.savez_compressed(
        out,
        names=np.array(names),
        object=np.array([r["object"] for r in rows]),
        trial=np.array([r["trial"] for r in rows]),
        depth=np.stack([r["depth"] for r in rows]),
        k=np.stack([r["k"] for r in rows]),
        c2w=np.stack([r["c2w"] for r in rows]),
        centroid=np.array([r["centroid"] for r in rows]),
        cand_drop=np.concatenate([np.full(len(r["success"]), j) for j, r in enumerate(rows)]),
        cand_grasp=np.concatenate([r["grasps"] for r in rows]),
        cand_success=np.concatenate([r["success"] for r in rows]),
        cand_jitter=np.concatenate([r["jitter"] for r in rows]),
        centroid_rate=np.array([r["centroid_rate"] for r in rows]),
    )
    print(f"wrote {len(rows)} drops, {sum(len(r['success']) for r in rows)} executed candidates to {out}")


def drop_points(data: dict, j: int) -> np.ndarray:
    """(H, W, 3) world points of drop `j`'s depth image, as the evaluation saw them."""
    from domrand.grasp import candidates as cand

    return cand.world_points(data["depth"][j], data["k"][j], data["c2w"][j])


def candidate_rates(data: dict) -> np.ndarray:
    """(candidates,) each candidate's success rate over its executions: as placed, and jittered (if any)."""
    jit = data.get("cand_jitter", np.zeros((len(data["cand_success"]), 0), dtype=bool))
    return (data["cand_success"] + jit.sum(1)) / (1 + jit.shape[1])


def chosen(data: dict, checkpoint: str, cache: Path | None = None) -> np.ndarray:
    """(drops,) the index (into the candidates) of the candidate `checkpoint` scores highest per drop; -1 where a
    drop has none. With `cache` (a path stem, `rank`'s: the dense file's picks folder and its bytes' hash), read
    from or written to CACHE_<hash of the checkpoint's bytes>.npy."""
    from domrand.grasp import candidates as cand
    from domrand.grasp.sim import Grasp
    from domrand.train.grasp_trainer import load_ranker

    model = load_ranker(checkpoint)[0]  # a checkpoint that does not load is one clear error, cached or not
    if cache is not None:
        cache = Path(f"{cache}_{hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()[:16]}.npy")
        if cache.is_file():
            return np.load(cache)
    out = np.full(len(data["object"]), -1, dtype=np.int64)
    for j in range(len(out)):
        sel = np.flatnonzero(data["cand_drop"] == j)
        if not len(sel):
            continue
        grasps = [Grasp(*map(float, g)) for g in data["cand_grasp"][sel]]
        out[j] = sel[int(cand.scores(model, drop_points(data, j), grasps).argmax())]
    if cache is not None:
        cache.parent.mkdir(exist_ok=True)
        tmp = cache.with_name(cache.name + ".tmp.npy")
        np.save(tmp, out)
        os.replace(tmp, cache)
    return out


def picked(idx: np.ndarray, value: np.ndarray) -> np.ndarray:
    """(drops,) `value` (candidates,) at each drop's chosen candidate `idx` (`chosen`); 0 / False where none."""
    return np.where(idx >= 0, value[np.maximum(idx, 0)], np.zeros((), dtype=value.dtype))


def wide_drops(data: dict) -> np.ndarray:
    """(drops,) bool: whether the object's section across its centroid is wider than the gripper opens
    (`candidates.centroid_section`), where the centroid baseline closes on the middle of it in vain."""
    from domrand.grasp import candidates as cand

    out = np.zeros(len(data["object"]), dtype=bool)
    for j in range(len(out)):
        pts = cand.object_points(drop_points(data, j))
        out[j] = len(pts) >= cand.MIN_OBJECT_POINTS and cand.centroid_section(pts)[3] is None
    return out


def rank(path: Path, checkpoints: list[str], split_wide: bool = False) -> dict[str, dict[str, float]]:
    """Per object and overall ("all"): oracle, centroid, candidates and each checkpoint's pick, as rates; with
    `split_wide`, also over the wide drops ("wide", `wide_drops`) and the others ("narrow")."""
    d = dict(np.load(path))
    cache = Path(f"{path}.picks") / hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    n = len(d["object"])
    cols: dict[str, np.ndarray] = {
        "oracle": np.array([d["cand_success"][d["cand_drop"] == j].any() for j in range(n)]),
        "centroid": d["centroid"],
        "candidates": np.array(
            [d["cand_success"][d["cand_drop"] == j].mean() if (d["cand_drop"] == j).any() else 0.0 for j in range(n)]
        ),
    }
    has_jitter = d.get("cand_jitter") is not None and d["cand_jitter"].shape[1] > 0
    rates = candidate_rates(d)
    if has_jitter:
        cols["robust oracle"] = np.array([rates[d["cand_drop"] == j].max(initial=0.0) for j in range(n)])
        cols["robust centroid"] = d["centroid_rate"]
    for c in checkpoints:
        key = Path(c).parent.name if Path(c).name == "best.pt" else Path(c).stem
        idx = chosen(d, c, cache)
        cols[key] = picked(idx, d["cand_success"])
        if has_jitter:
            cols[f"robust {key}"] = picked(idx, rates)
    table: dict[str, dict[str, float]] = defaultdict(dict)
    for i, name in enumerate(d["names"]):
        sel = d["object"] == i
        if not sel.any():
            continue  # not among the labelled objects (--only)
        for key, v in cols.items():
            table[str(name)][key] = float(v[sel].mean())
    groups = {"all": np.ones(n, dtype=bool)}
    if split_wide:
        w = wide_drops(d)
        groups.update({f"wide ({w.sum()} drops)": w, f"narrow ({(~w).sum()} drops)": ~w})
    for group, sel in groups.items():
        for key, v in cols.items():
            table[group][key] = float(v[sel].mean()) if sel.any() else float("nan")
    return dict(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    lab = sub.add_parser("label")
    lab.add_argument("--objects", help="folder of meshes")
    lab.add_argument("--procedural", help="procedural seeds A-B (B excluded)")
    lab.add_argument("--scale-to", type=float, default=0.12)
    lab.add_argument("--trials", type=int, default=5)
    lab.add_argument("--seed", type=int, default=0)
    lab.add_argument("--workers", type=int, default=2)
    lab.add_argument(
        "--jitter", type=int, default=0, help="also execute each candidate K times jittered (sim.jittered: 1 mm, 1 deg)"
    )
    lab.add_argument("--only", help="comma-separated object names: label only their drops")
    lab.add_argument("--out", required=True)
    rk = sub.add_parser("rank")
    rk.add_argument("dense")
    rk.add_argument("checkpoints", nargs="*")
    rk.add_argument("--wide", action="store_true", help="also over the wide drops and the others")
    args = ap.parse_args()
    if args.cmd == "label":
        from domrand.grasp.objects import from_procedural, load_folder

        if (args.objects is None) == (args.procedural is None):
            raise SystemExit("give exactly one of --objects DIR or --procedural A-B")
        if args.objects:
            objects, _ = load_folder(args.objects, args.scale_to)
        else:
            a, b = (int(v) for v in args.procedural.split("-"))
            objects = [from_procedural(s, args.scale_to) for s in range(a, b)]
        only = set(args.only.split(",")) if args.only else None
        names = [o.name for o in objects]
        if only is not None and not only <= set(names):
            raise SystemExit(f"--only names no object of the folder: {sorted(only - set(names))}; known: {names}")
        label(objects, names, args.trials, args.seed, Path(args.out), args.workers, args.jitter, only)
    else:
        try:
            table = rank(Path(args.dense), args.checkpoints, args.wide)
        except (ValueError, FileNotFoundError) as e:
            raise SystemExit(f"diagnose.py rank: {e}") from None
        keys = list(table["all"])
        widths = [max(len(k), 7) for k in keys]
        print(f"{'object':24s} " + " ".join(f"{k:>{w}s}" for k, w in zip(keys, widths)))
        for name, row in table.items():
            print(f"{name[:24]:24s} " + " ".join(f"{100 * row[k]:{w - 1}.1f}%" for k, w in zip(keys, widths)))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
