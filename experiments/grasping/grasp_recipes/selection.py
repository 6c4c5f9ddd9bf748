"""Choosing the committed model: the dense validation drops, the selection rule (`select`) and scorings (`smooth`)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from grasp_recipes.common import HARD, HERE, RESULTS, committed_copy, committed_name, objects, save

# Held-out procedural objects for choosing the committed model: seeds outside the training range (below
# 1,000,000) and the test range (from 1,000,000, 50 objects), two drops each at HARD, every candidate executed.
VALIDATION = (1_500_000, 1_500_100, 2)


def validation(work: Path) -> Path:
    """The dense validation drops (`VALIDATION`, made once): every candidate executed (diagnose.py label)."""
    out = work / "dense_procedural_val.npz"
    if not out.is_file():
        from diagnose import label as dense_label

        from domrand.tasks.grasp.objects import from_procedural

        a, b, drops = VALIDATION
        objs = [from_procedural(s, HARD) for s in range(a, b)]
        dense_label(objs, [o.name for o in objs], drops, 0, out, workers=2)
    return out


# The realistic training meshes (never test objects), 8 drops each at HARD, every candidate executed: the second
# validation set of `select`, since the procedural validation drops alone barely tell the runs apart.
REALISTIC_VALIDATION_DROPS = 8


def realistic_validation(work: Path) -> Path:
    """The dense drops of the realistic training meshes (made once; diagnose.py label)."""
    out = work / "dense_realistic_train.npz"
    if not out.is_file():
        from diagnose import label as dense_label

        from domrand.tasks.grasp.objects import load_folder

        objs, _ = load_folder(objects(work)["realistic_train"], HARD)
        dense_label(objs, [o.name for o in objs], REALISTIC_VALIDATION_DROPS, 0, out, workers=2)
    return out


def validation_sets(work: Path) -> tuple[dict[str, Path], dict[str, int]]:
    """`select`'s dense validation files by set ("procedural", "realistic_train"; made once) and their drop counts."""
    sets = {"procedural": validation(work), "realistic_train": realistic_validation(work)}
    return sets, {name: len(np.load(path)["object"]) for name, path in sets.items()}


def pooled(by_set: dict[str, dict[str, float]], drops: dict[str, int]) -> dict[str, int]:
    """Per key of `by_set` (set -> key -> pick success rate): its successful picks over all the sets' `drops`."""
    keys = next(iter(by_set.values()))
    return {k: round(sum(by_set[n][k] * drops[n] for n in by_set)) for k in keys}


# Other ways to score the committed rankers' candidates (diagnose.py `SCORINGS`: the mean probability, the least
# member, scores averaged over the candidate moved a few millimetres or turned a few degrees), read on `select`'s
# 400 dense validation drops. The rule was fixed before the first figure: a scoring replaces the committed one (the
# mean logit) only if its pick succeeds on at least SMOOTH_MARGIN more of the 400 drops and on no fewer of either
# set's. (Ten scorings read on the same drops: the best of them gains a drop or two by chance alone.)
SMOOTH_MARGIN = 6


def smooth(work: Path) -> None:
    """The committed checkpoint's pick success on the dense validation drops under each of diagnose.py's
    `SCORINGS`, and which (if any) clears `SMOOTH_MARGIN`: results/smooth.json."""
    from diagnose import SCORINGS
    from diagnose import smooth as rates

    ckpt = committed_copy(work)
    sets, drops = validation_sets(work)
    by_set = {name: rates(path, str(ckpt)) for name, path in sets.items()}
    successes = pooled(by_set, drops)
    committed = next(iter(SCORINGS))
    better = [
        k
        for k in SCORINGS
        if successes[k] - successes[committed] >= SMOOTH_MARGIN
        and all(by_set[n][k] >= by_set[n][committed] for n in sets)
    ]
    print("dense validation pick successes:", successes, "-> replaces the committed scoring:", better or "none")
    result = {"checkpoint": committed_name(), "drops": drops, "margin": SMOOTH_MARGIN, "successes": successes}
    save("smooth", {**result, "by_set": by_set, "replaces_committed_scoring": better})


# A run replaces the committed checkpoint only if its pick succeeds on at least this many more of `select`'s 400
# dense validation drops (1 point). Fixed on 2026-12-03 before any run it applies to: the pick run replaced the
# prism model with a one-drop lead, which is noise.
SELECT_MARGIN = 4


def winner(successes: dict[str, int]) -> str:
    """The key `select` commits, from each candidate's successful picks over the dense validation drops (in the
    order listed: the committed checkpoint, "grasp", first where there is one, then the runs, oldest first): the
    most successful run (ties: the later), unless the committed checkpoint is within `SELECT_MARGIN` of it."""
    keys = list(successes)
    best = keys[max(range(len(keys)), key=lambda i: (successes[keys[i]], i))]
    if "grasp" in successes and successes[best] - successes["grasp"] < SELECT_MARGIN:
        return "grasp"
    return best


def select(work: Path) -> None:
    """Commit the finished run whose pick succeeds most often on the dense validation drops: those of held-out
    procedural objects (`VALIDATION`) and of the realistic training meshes (`REALISTIC_VALIDATION_DROPS`), 400 in
    all (every candidate's outcome known, so every ranker meets the same outcomes; never the realistic test
    objects). Ties go to the run listed later (more data). The committed checkpoint competes too, so a rerun with
    fewer runs never replaces it with a worse one, and stays unless a run beats it by `SELECT_MARGIN` drops."""
    from diagnose import rank

    committed = HERE / "checkpoints" / "grasp.pt"
    runs = sorted((work / "runs").glob("*/best.pt"), key=lambda p: p.stat().st_mtime)
    runs = [p for p in runs if p.parent.name != "committed"]
    candidates = ([committed] if committed.is_file() else []) + runs
    if not candidates:
        raise SystemExit(f"no finished run in {work}/runs")
    keys = ["grasp" if p == committed else p.parent.name for p in candidates]
    sets, drops = validation_sets(work)
    tables = {name: rank(path, [str(p) for p in candidates])["all"] for name, path in sets.items()}
    per_set = {name: {k: tables[name][k] for k in keys} for name in sets}
    scores = {k: sum(per_set[n][k] * drops[n] for n in sets) / sum(drops.values()) for k in keys}
    best = keys.index(winner(pooled(per_set, drops)))
    print("dense validation pick success:", {k: round(v, 3) for k, v in scores.items()}, "->", keys[best])
    earlier = earlier_selection(per_set, drops)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "selection.json").write_text(
        json.dumps(
            {
                "validation": list(VALIDATION),
                "realistic_validation_drops": REALISTIC_VALIDATION_DROPS,
                "scale_to": HARD,
                "drops": drops,
                "pick_success_by_set": {n: _committed_first(per_set[n], earlier["by_set"][n]) for n in sets},
                "pick_success": _committed_first(scores, earlier["scores"]),
                "earlier": sorted(earlier["scores"]),
                "committed": keys[best],
            },
            indent=2,
        )
        + "\n"
    )
    if candidates[best] != committed:
        committed.parent.mkdir(exist_ok=True)
        shutil.copy(candidates[best], committed)


def earlier_selection(per_set: dict[str, dict[str, float]], drops: dict[str, int]) -> dict:
    """The rows of results/selection.json for runs no longer on disk ("scores" by run, "by_set" by set and run),
    kept when the committed checkpoint scores now what it scored then on the same drops (the dense drops are made
    again on each machine, so that is the check that they are the same), else none."""
    sel = RESULTS / "selection.json"
    old = json.loads(sel.read_text()) if sel.is_file() else {}
    by_set = old.get("pick_success_by_set", {})
    same = old.get("drops") == drops and set(by_set) == set(per_set)
    same = same and all(by_set[n].get(old.get("committed")) == per_set[n].get("grasp") for n in per_set)
    gone = [k for k in old.get("pick_success", {}) if k != "grasp" and k not in per_set[next(iter(per_set))]]
    if not same:
        return {"scores": {}, "by_set": {n: {} for n in per_set}}
    return {
        "scores": {k: old["pick_success"][k] for k in gone},
        "by_set": {n: {k: by_set[n][k] for k in gone} for n in per_set},
    }


def _committed_first(now: dict[str, float], earlier: dict[str, float]) -> dict[str, float]:
    """The committed checkpoint's entry ("grasp"), then the `earlier` runs', then the other runs' of `now`."""
    return {**{k: v for k, v in now.items() if k == "grasp"}, **earlier, **now}
