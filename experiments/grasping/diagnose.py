"""Where a grasp ranker's misses come from: every candidate of every drop executed in physics.

    python experiments/grasping/diagnose.py label --objects DIR --scale-to 0.12 --trials 8 --out dense.npz
    python experiments/grasping/diagnose.py label --procedural 1500000-1500100 --scale-to 0.12 --trials 2 --out dense.npz
    python experiments/grasping/diagnose.py label --objects DIR --scale-to 0.12 --trials 20 --jitter 4 --only lego.obj --out j.npz
    python experiments/grasping/diagnose.py rank dense.npz CKPT [CKPT ...] [--wide]
    python experiments/grasping/diagnose.py smooth dense.npz CKPT

`label` makes the drops exactly as `domrand evaluate grasp` does (same seeds, nominal camera, depth noise, the
same candidates: the sampler's and the centroid grasp) and executes every candidate from the rested state.
`rank` then reads, per object and overall: `oracle` (some candidate succeeds: the best any ranker of these
candidates can do), `centroid` (the baseline), `candidates` (the mean candidate's success) and, per checkpoint, the
success of the candidate it would pick (from a jittered file, also `robust oracle`: the drops' best candidate's rate
over its K + 1 executions, and each pick's such rate; with `--wide`, also over the drops whose section across the
centroid is wider than the gripper opens, and the others). No physics runs again, so rankers are compared on exactly
the same outcomes; each checkpoint's picks are cached in DENSE.picks/ (keyed by both files' bytes), so a rerun takes
seconds. `smooth` reads the pick success of other ways to score a candidate with the same rankers (`SCORINGS`:
the mean probability, the least member, and scores averaged over the candidate moved a few millimetres or turned
a few degrees, `SHIFTS`), to see whether a smoother choice avoids knife-edge grasps. Pick rankers on drops of
objects that are not the test objects (the realistic training meshes, procedural seeds outside the training and
test ranges).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

_W: dict = {}


def _init(objects: list) -> None:
    from domrand.tasks.grasp.sim import GraspSim

    torch.set_num_threads(1)
    _W.update(sim=GraspSim(), objects=objects)


def _drop(job: tuple[int, int, int, int]) -> dict:
    """Object i, drop t: the evaluation's depth image and candidates, each executed (and `jitter` times more,
    jittered)."""
    from domrand.rng import derive_seed
    from domrand.tasks.grasp.evaluate import trial_view
    from domrand.tasks.grasp.sim import jittered

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
    from domrand.tasks.grasp import candidates as cand

    return cand.world_points(data["depth"][j], data["k"][j], data["c2w"][j])


def candidate_rates(data: dict) -> np.ndarray:
    """(candidates,) each candidate's success rate over its executions: as placed, and jittered (if any)."""
    jit = data.get("cand_jitter", np.zeros((len(data["cand_success"]), 0), dtype=bool))
    return (data["cand_success"] + jit.sum(1)) / (1 + jit.shape[1])


def _cached(cache: Path | None, checkpoint: str, tag: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """`compute()`, read from or written to CACHE[_TAG]_<hash of the checkpoint's bytes>.npy where `cache` (a path
    stem: the dense file's picks folder and its bytes' hash) is given."""
    if cache is None:
        return compute()
    key = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()[:16]
    path = Path(f"{cache}{tag and '_' + tag}_{key}.npy")
    if path.is_file():
        return np.load(path)
    out = compute()
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npy")
    np.save(tmp, out)
    os.replace(tmp, path)
    return out


def drop_grasps(data: dict, j: int) -> tuple[np.ndarray, list]:
    """Drop `j`'s candidates: their indices (into the candidates) and `Grasp`s."""
    from domrand.tasks.grasp.sim import Grasp

    sel = np.flatnonzero(data["cand_drop"] == j)
    return sel, [Grasp(*map(float, g)) for g in data["cand_grasp"][sel]]


def chosen(data: dict, checkpoint: str, cache: Path | None = None) -> np.ndarray:
    """(drops,) the index (into the candidates) of the candidate `checkpoint` scores highest per drop; -1 where a
    drop has none. With `cache` (a path stem, `rank`'s: the dense file's picks folder and its bytes' hash), read
    from or written to CACHE_<hash of the checkpoint's bytes>.npy."""
    from domrand.tasks.grasp import candidates as cand
    from domrand.tasks.grasp.ranker import load_ranker

    model = load_ranker(checkpoint)[0]  # a checkpoint that does not load is one clear error, cached or not

    def compute() -> np.ndarray:
        out = np.full(len(data["object"]), -1, dtype=np.int64)
        for j in range(len(out)):
            sel, grasps = drop_grasps(data, j)
            if len(sel):
                out[j] = sel[int(cand.scores(model, drop_points(data, j), grasps).argmax())]
        return out

    return _cached(cache, checkpoint, "", compute)


def picked(idx: np.ndarray, value: np.ndarray) -> np.ndarray:
    """(drops,) `value` (candidates,) at each drop's chosen candidate `idx` (`chosen`); 0 / False where none."""
    return np.where(idx >= 0, value[np.maximum(idx, 0)], np.zeros((), dtype=value.dtype))


# How `smooth` moves each candidate (along the closing direction and across it, metres; yaw, degrees): as it is,
# then +-3 and +-6 mm along, +-3 and +-6 mm across, +-5 and +-10 degrees.
SHIFTS = (
    (0.0, 0.0, 0.0),
    *((0.003, 0.0, 0.0), (-0.003, 0.0, 0.0), (0.006, 0.0, 0.0), (-0.006, 0.0, 0.0)),
    *((0.0, 0.003, 0.0), (0.0, -0.003, 0.0), (0.0, 0.006, 0.0), (0.0, -0.006, 0.0)),
    *((0.0, 0.0, 5.0), (0.0, 0.0, -5.0), (0.0, 0.0, 10.0), (0.0, 0.0, -10.0)),
)


def shifted_logits(data: dict, checkpoint: str, cache: Path | None = None, workers: int = 2) -> np.ndarray:
    """(candidates, len(SHIFTS), members, views) float32: each of `checkpoint`'s rankers' logit of each symmetric
    view of each candidate moved by each of `SHIFTS` (`sim.moved`), from the drop's depth image; cached as
    `chosen`'s picks are. Drops are split over `workers` processes."""
    from domrand.tasks.grasp.ranker import load_ranker

    load_ranker(checkpoint)  # a checkpoint that does not load is one clear error, cached or not

    def compute() -> np.ndarray:
        sels = [drop_grasps(data, j)[0] for j in range(len(data["object"]))]
        jobs = [
            (checkpoint, data["depth"][j], data["k"][j], data["c2w"][j], data["cand_grasp"][sel])
            for j, sel in enumerate(sels)
        ]
        if workers <= 1:
            parts = [_shifted_drop(job) for job in jobs]
        else:
            with mp.get_context("spawn").Pool(workers, initializer=torch.set_num_threads, initargs=(1,)) as pool:
                parts = pool.map(_shifted_drop, jobs, chunksize=4)
        out = np.zeros((len(data["cand_success"]), len(SHIFTS), *parts[0].shape[2:]), dtype=np.float32)
        for sel, logits in zip(sels, parts):
            out[sel] = logits
        return out

    return _cached(cache, checkpoint, "shifted", compute)


def _shifted_drop(job: tuple) -> np.ndarray:
    """(candidates, shifts, members, views) logits of one drop's candidates (`shifted_logits`); `job`: the checkpoint,
    the drop's depth image, intrinsics, camera-to-world and candidates (N, 5)."""
    import math

    from domrand.tasks.grasp import candidates as cand
    from domrand.tasks.grasp.ranker import load_ranker, symmetric_views
    from domrand.tasks.grasp.sim import Grasp, moved

    checkpoint, depth, k, c2w, rows = job
    if checkpoint not in _W:
        _W[checkpoint] = load_ranker(checkpoint)[0]
    model = _W[checkpoint]
    if not len(rows):
        return np.zeros((0, len(SHIFTS), len(model.members), model.views), dtype=np.float32)
    grasps = [Grasp(*map(float, g)) for g in rows]
    shifted = [moved(g, a, c, math.radians(t)) for a, c, t in SHIFTS for g in grasps]
    x = symmetric_views(cand.crops(cand.world_points(depth, k, c2w), shifted), model.views)
    x = x.contiguous(memory_format=torch.channels_last)  # 2-3x faster here; logits within 1e-5 of the plain layout
    w = torch.tensor([g.width for g in shifted], dtype=torch.float32).repeat(model.views)
    with torch.no_grad():  # batches of 256 crops: as exact, and twice as fast as one batch of thousands
        logits = [torch.cat([m(x[i : i + 256], w[i : i + 256]) for i in range(0, len(x), 256)]) for m in model.members]
    shape = (model.views, len(SHIFTS), len(grasps))
    return torch.stack([v.reshape(shape) for v in logits]).permute(3, 2, 0, 1).numpy()


def _mean_over_shifts(axis: int | None) -> Callable[[np.ndarray], np.ndarray]:
    """A scoring: the mean logit over members and views, averaged over the shifts along `axis` (0 along, 1 across,
    2 yaw) and the unmoved grasp, or over all `SHIFTS` (None)."""
    keep = [i for i, s in enumerate(SHIFTS) if axis is None or not any(s) or s[axis] != 0]
    return lambda lg: lg[:, keep].mean((1, 2, 3))


# Ways to score a candidate from its `shifted_logits` (candidates, shifts, members, views) -> (candidates,):
# the committed rule first (`RankerEnsemble`: the mean logit over members and views, the grasp as it is).
SCORINGS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mean logit (committed)": lambda lg: lg[:, 0].mean((1, 2)),
    "mean probability": lambda lg: (1 / (1 + np.exp(-lg[:, 0]))).mean((1, 2)),
    "least member": lambda lg: lg[:, 0].mean(2).min(1),
    "mean - std over members x views": lambda lg: lg[:, 0].mean((1, 2)) - lg[:, 0].reshape(len(lg), -1).std(1),
    "mean over shifts along": _mean_over_shifts(0),
    "mean over shifts across": _mean_over_shifts(1),
    "mean over yaw turns": _mean_over_shifts(2),
    "mean over all shifts": _mean_over_shifts(None),
    "least over all shifts": lambda lg: lg.mean((2, 3)).min(1),
    "mean probability over all shifts": lambda lg: (1 / (1 + np.exp(-lg))).mean((1, 2, 3)),
}


def smooth(path: Path, checkpoint: str, workers: int = 2) -> dict[str, float]:
    """Per `SCORINGS` entry: how often the candidate it scores highest succeeds over the drops of `path`."""
    d = dict(np.load(path))
    cache = Path(f"{path}.picks") / hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    logits = shifted_logits(d, checkpoint, cache, workers)
    drops = [drop_grasps(d, j)[0] for j in range(len(d["object"]))]
    out = {}
    for name, score in SCORINGS.items():
        s = score(logits)
        out[name] = float(np.mean([d["cand_success"][sel[np.argmax(s[sel])]] if len(sel) else False for sel in drops]))
    return out


def wide_drops(data: dict) -> np.ndarray:
    """(drops,) bool: whether the object's section across its centroid is wider than the gripper opens
    (`candidates.centroid_section`), where the centroid baseline closes on the middle of it in vain."""
    from domrand.tasks.grasp import candidates as cand

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
    sm = sub.add_parser("smooth")
    sm.add_argument("dense")
    sm.add_argument("checkpoint")
    sm.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    if args.cmd == "smooth":
        try:
            for name, rate in smooth(Path(args.dense), args.checkpoint, args.workers).items():
                print(f"{name:36s} {100 * rate:5.1f}%")
        except (ValueError, FileNotFoundError) as e:
            raise SystemExit(f"diagnose.py smooth: {e}") from None
    elif args.cmd == "label":
        from domrand.tasks.grasp.objects import from_procedural, load_folder

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
