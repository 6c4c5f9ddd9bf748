"""The clutter model, chosen on validation piles: rankers on every procedural pile labelled so far, against
`clutter`'s 480-pile ranker (run480, committed until this recipe), each read on the same validation piles
(never the grocery test piles), the choice by a margin fixed before any of these runs; the choice is then read
once on the 48 grocery test piles.

Training data (all procedural, all in piles, every folder reused when present):

    the 100-object piles of `clutter` (seeds 11, 12) and a third 240 (seed 13);
    the 10-object (seeds 11, 12) and 1,000-object (seed 11) piles of `clutter_experiments`: 1,440 piles.

Validation: clearance runs (as the test's) on 40 piles of 100 held-out procedural objects (seeds 1,500,000 to
1,500,099, outside training and test) and on 40 piles of the 25 realistic training meshes (pybullet_data), model
only; the choice by the pooled per-attempt success rate.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domrand.tasks.grasp.clutter import METHODS
from grasp_recipes.clutter import GROCERY, TEST_PILES, _domrand, _evaluate, clutter_experiments
from grasp_recipes.common import HERE, RESULTS, objects

COMMITTED = HERE / "checkpoints" / "grasp_clutter.pt"  # the clutter model the README and `evaluate` read
VALIDATION_PILES = 40  # per validation pool, each a clearance run as on the test piles
VALIDATION_SEEDS = (1_500_000, 1_500_100)
#: a run replaces run480 as the committed checkpoint only if its per-attempt success on the validation piles is
#: higher by at least this much (fixed before any run it applies to)
SELECT_MARGIN = 0.03
#: run -> (training piles: run480's 480 or all 1,440; trainer flags beyond --data/--out). Every run leaves out the
#: labels of candidates whose fingers would land on the bin's walls (`--bin-check`: the model never executes them)
RUNS: dict[str, tuple[str, list[str]]] = {
    "480_bin": ("480", ["--steps", "2000", "--bin-check"]),
    "all_bin": ("all", ["--steps", "4000", "--bin-check"]),
    "all_bin_ens3_pick": ("all", ["--steps", "2000", "--bin-check", "--members", "3", "--pick-weight", "1"]),
}


def _label_folders(root: Path) -> list[Path]:
    """Every procedural pile folder of the recipes, labelling those not done yet (the third 100-object 240)."""
    clutter_experiments(root.parent)  # 100 (11, 12), 10 (11, 12), 1,000 (11)
    _domrand("label", "grasps", "--procedural", "100", "--seed", "13", "--clutter", "8", "--scenes", "240", "--out",
             str(root / "piles3"), "--quiet")  # fmt: skip
    names = ["piles", "piles2", "piles3", "count10_11", "count10_12", "count1000_11"]
    return [root / n for n in names]


def validate(checkpoint: Path, realistic_train: Path, out: Path, fingertips: bool = False) -> dict[str, Any]:
    """`checkpoint`'s clearance runs on the validation piles, as the test reads them (cached in `out`): attempts,
    successes and objects removed per pool, and the pooled per-attempt success rate. `fingertips`: the model's
    sampler (`evaluate_clutter`), off for the readings made before it."""
    from domrand.tasks.grasp.evaluate_clutter import evaluate_clutter
    from domrand.tasks.grasp.objects import from_procedural, load_folder

    if not out.is_file():
        pools = {
            "procedural": [from_procedural(s) for s in range(*VALIDATION_SEEDS)],
            "realistic_train": load_folder(realistic_train)[0],
        }
        res: dict[str, Any] = {}
        for name, pool in pools.items():
            r = evaluate_clutter(
                str(checkpoint), pool, 8, VALIDATION_PILES, True, 1, 2, None, ("model",), fingertips=fingertips
            )
            held = sum(a for p in r["per_pile"] for a in p["model"])
            res[name] = {"attempts": r["n_trials"], "held": held, "clearance_rate": r["clearance_rate"]}
        res["success_rate"] = sum(v["held"] for v in res.values()) / sum(v["attempts"] for v in res.values())
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=2) + "\n")
    return json.loads(out.read_text())


def clutter_model(work: Path) -> Path:
    """Train the runs, validate them and run480, copy the choice to checkpoints/grasp_clutter.pt and read it on
    the test piles; returns results/clutter_model.json."""
    root = work / "clutter"
    folders = _label_folders(root)
    realistic_train = objects(work)["realistic_train"]
    readings = {"run480": validate(root / "run480" / "best.pt", realistic_train, root / "validation" / "run480.json")}
    for name, (piles, flags) in RUNS.items():
        run = root / f"run_{name}"
        data = folders if piles == "all" else folders[:2]  # piles, piles2: run480's
        if not (run / "best.pt").is_file():
            _domrand("train", "grasp", "--data", *map(str, data), "--out", str(run), *flags, "--quiet")
        readings[name] = validate(run / "best.pt", realistic_train, root / "validation" / f"{name}.json")
    best = max(RUNS, key=lambda n: readings[n]["success_rate"])
    chosen = best if readings[best]["success_rate"] >= readings["run480"]["success_rate"] + SELECT_MARGIN else "run480"
    checkpoint = root / ("run480" if chosen == "run480" else f"run_{chosen}") / "best.pt"
    test = _evaluate(checkpoint, root / "eval48" / f"model_{chosen}.json", METHODS)
    result = {
        "validation": readings,
        "validation_piles": {
            "procedural": list(VALIDATION_SEEDS),
            "realistic_train": str(realistic_train),
            "piles_each": VALIDATION_PILES,
        },
        "select_margin": SELECT_MARGIN,
        "chosen": chosen,
        "training_folders": [str(f) for f in folders],
        "test": {**test, "source": str(GROCERY.relative_to(HERE.parents[1])), "piles": TEST_PILES},
    }
    COMMITTED.write_bytes(checkpoint.read_bytes())
    out = RESULTS / "clutter_model.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out


#: folders labelled with `domrand label grasps --clutter 8 --scenes 240 --procedural 100 --bin-check` and these flags
BIN_LABELLED = {
    "piles_bc11": ["--seed", "11"],  # the piles of `480_bin`'s seeds 11, 12 (same pile draws)
    "piles_bc12": ["--seed", "12"],
    "piles_bc_prism14": ["--seed", "14", "--family", "random_prism"],  # boxes, slabs, discs
}
#: run -> the folders it trains on (`--steps 2000 --bin-check`, as `480_bin`)
BIN_LABELLED_RUNS = {
    "480_labelled_bin": ["piles_bc11", "piles_bc12"],
    "720_labelled_bin_prism": ["piles_bc11", "piles_bc12", "piles_bc_prism14"],
}


def labelled_bin(work: Path) -> Path:
    """Labelling with the bin check: the same 480 piles as `480_bin` (100 procedural objects, seeds 11 and 12)
    labelled with `domrand label grasps --bin-check` (the sampled grasps executed are drawn from those clear of
    the walls), and with 240 piles of procedural prisms added; rankers trained as `480_bin` was (`--steps 2000
    --bin-check`), read on the validation piles; returns results/clutter_labelled_bin.json (the readings beside
    `480_bin`'s and `all_bin`'s from results/clutter_model.json, and the labels each run trained on)."""
    from domrand.tasks.grasp.clutter import bin_clear_rows
    from domrand.tasks.grasp.dataset import load

    root = work / "clutter"
    for name, flags in BIN_LABELLED.items():
        _domrand("label", "grasps", "--procedural", "100", "--clutter", "8", "--scenes", "240", "--bin-check", *flags,
                 "--out", str(root / name), "--quiet")  # fmt: skip
    realistic_train = objects(work)["realistic_train"]
    before = json.loads((RESULTS / "clutter_model.json").read_text())["validation"]
    result: dict[str, Any] = {}
    for run_name, names in BIN_LABELLED_RUNS.items():
        folders = [root / n for n in names]
        run = root / f"run_{run_name}"
        if not (run / "best.pt").is_file():
            _domrand("train", "grasp", "--data", *map(str, folders), "--out", str(run), "--steps", "2000",
                     "--bin-check", "--quiet")  # fmt: skip
        reading = validate(run / "best.pt", realistic_train, root / "validation" / f"{run_name}.json")
        d = load(folders)
        clear = int(bin_clear_rows(d["grasp"]).sum())
        result[run_name] = {**reading, "folders": names, "labels": len(d["success"]), "labels_clear_of_bin": clear}
    result |= {
        "480_bin": before["480_bin"],
        "all_bin": before["all_bin"],
        "note": "480_bin: the same 480 piles labelled without the check (11,520 labels), those the check rejects left "
        "out in training (--bin-check); all_bin: 1,440 piles so labelled, the committed grasp_clutter.pt",
    }
    out = RESULTS / "clutter_labelled_bin.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out


def clutter_fingertips(work: Path) -> Path:
    """The committed grasp_clutter.pt with the sampler that pinches what the fingertips meet (`evaluate_clutter`'s
    `fingertips`, the default from 2026-12-06) against the sampler it was chosen with, on the validation piles, then
    on the test piles with the baselines; returns results/clutter_fingertips.json. No training: the ranker is the
    same, only its candidates change (a box lying flat lower than the fingers' centre gets some)."""
    root = work / "clutter"
    realistic_train = objects(work)["realistic_train"]
    validation = {
        name: validate(COMMITTED, realistic_train, root / "validation" / f"committed_{name}.json", fingertips=on)
        for name, on in (("centre", False), ("fingertips", True))
    }
    test = _evaluate(COMMITTED, root / "eval48" / "committed_fingertips.json", METHODS, fingertips=True)
    result = {
        "checkpoint": str(COMMITTED.relative_to(HERE.parents[1])),
        "validation": validation,
        "test": {**test, "source": str(GROCERY.relative_to(HERE.parents[1])), "piles": TEST_PILES},
    }
    out = RESULTS / "clutter_fingertips.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out


#: folders labelled with `domrand label grasps --clutter 8 --scenes 240 --procedural 100 --bin-check --fingertips`
FINGERTIP_LABELLED = {"piles_ft11": ["--seed", "11"], "piles_ft12": ["--seed", "12"]}  # 480_bin's pile draws


def fingertip_labels(work: Path) -> Path:
    """Labels made with the sampler the model now chooses with: the 480 piles of `480_labelled_bin` labelled with
    `--bin-check --fingertips`, a ranker trained as that run was (`480_ft`: `--steps 2000 --bin-check`), read on
    the validation piles with `fingertips` beside the committed checkpoint's reading (`clutter_fingertips`). It
    replaces the committed checkpoint only if it is `SELECT_MARGIN` better there; the choice is read on the test
    piles. Returns results/clutter_fingertip_labels.json."""
    labelled = {name: ["--procedural", "100", *flags] for name, flags in FINGERTIP_LABELLED.items()}
    return _fingertip_run(work, labelled, {"480_ft": ["--steps", "2000"]}, "clutter_fingertip_labels")


def _fingertip_run(work: Path, labelled: dict[str, list[str]], runs: dict[str, list[str]], result_name: str) -> Path:
    """Label the `labelled` folders (name -> `domrand label grasps` flags beyond `--clutter 8 --scenes 240
    --bin-check --fingertips`; done folders are kept), train each of `runs` on them (name -> `domrand train grasp`
    flags beyond `--data`, `--out` and `--bin-check`; all trained before any choice, so one that starts from the
    committed checkpoint starts from today's), read each on the validation piles with `fingertips` beside the
    committed checkpoint, and if the best is `SELECT_MARGIN` better there, read it on the test piles and commit it.
    Returns results/{result_name}.json."""
    from domrand.tasks.grasp.dataset import load

    root = work / "clutter"
    for folder, flags in labelled.items():
        _domrand("label", "grasps", "--clutter", "8", "--scenes", "240", "--bin-check", "--fingertips", *flags,
                 "--out", str(root / folder), "--quiet")  # fmt: skip
    folders = [root / n for n in labelled]
    for name, flags in runs.items():
        run = root / f"run_{name}"
        if not (run / "best.pt").is_file():
            _domrand("train", "grasp", "--data", *map(str, folders), "--out", str(run), *flags, "--bin-check",
                     "--quiet")  # fmt: skip
    realistic_train = objects(work)["realistic_train"]
    committed = "all_bin (committed)"
    readings = {
        committed: validate(COMMITTED, realistic_train, root / "validation" / "committed_fingertips.json", True),
        **{
            name: validate(
                root / f"run_{name}" / "best.pt", realistic_train, root / "validation" / f"{name}.json", True
            )
            for name in runs
        },
    }
    best = max(runs, key=lambda name: readings[name]["success_rate"])  # the first of equals
    gain = readings[best]["success_rate"] - readings[committed]["success_rate"]
    chosen = best if gain >= SELECT_MARGIN else committed
    result: dict[str, Any] = {
        "validation": readings,
        "labels": {"folders": list(labelled), "labels": len(load(folders)["success"])},
        "select_margin": SELECT_MARGIN,
        "chosen": chosen,
    }
    if chosen != committed:
        checkpoint = root / f"run_{chosen}" / "best.pt"
        test = _evaluate(checkpoint, root / "eval48" / f"model_{chosen}.json", METHODS, fingertips=True)
        result["test"] = {**test, "source": str(GROCERY.relative_to(HERE.parents[1])), "piles": TEST_PILES}
        COMMITTED.write_bytes(checkpoint.read_bytes())
    out = RESULTS / f"{result_name}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    return out


#: `FINGERTIP_LABELLED` and the rest of `all_bin`'s 1,440 pile draws (`_label_folders`: 100 objects seed 13, 10
#: objects seeds 11 and 12, 1,000 objects seed 11), labelled with `--bin-check --fingertips`
ALL_FINGERTIP_LABELLED = {
    **{name: ["--procedural", "100", *flags] for name, flags in FINGERTIP_LABELLED.items()},
    "piles_ft13": ["--procedural", "100", "--seed", "13"],
    "count10_ft11": ["--procedural", "10", "--seed", "11"],
    "count10_ft12": ["--procedural", "10", "--seed", "12"],
    "count1000_ft11": ["--procedural", "1000", "--seed", "11"],
}


def all_fingertip_labels(work: Path) -> Path:
    """The like-for-like test of `fingertip_labels`: all 1,440 of `all_bin`'s pile draws labelled with the sampler
    the model chooses with (`--bin-check --fingertips`), a ranker trained as `all_bin` was (`all_ft`: `--steps
    4000 --bin-check`), read on the validation piles with `fingertips` beside the committed checkpoint's reading.
    It replaces the committed checkpoint only if it is `SELECT_MARGIN` better there; the choice is read on the
    test piles. Returns results/clutter_all_fingertip_labels.json."""
    return _fingertip_run(work, ALL_FINGERTIP_LABELLED, {"all_ft": ["--steps", "4000"]}, "clutter_all_fingertip_labels")


#: `FINGERTIP_LABELLED`'s pile draws (those of `480_ft`) labelled with the committed model's focus: of each pile's
#: 22 sampled candidates executed, its 8 best (as it scores them on the pile as dropped) and 14 drawn at random
FOCUS_LABELLED = {
    name.replace("_ft", "_focus"): ["--procedural", "100", *flags, "--focus", str(COMMITTED), "--focus-top", "8",
                                    "--fast-trial"]
    for name, flags in FINGERTIP_LABELLED.items()
}  # fmt: skip


def focus_labels(work: Path) -> Path:
    """Focused labels, the lever that helped on single objects (`focus`), on piles: `480_ft`'s 480 pile draws
    labelled with `FOCUS_LABELLED` (the committed ranker's own best candidates among those executed, so its
    confident mistakes become labels), a ranker trained as `480_ft` was (`480_focus`: `--steps 2000 --bin-check`),
    read on the validation piles beside the committed checkpoint and against `480_ft`'s reading (the same piles
    labelled without focus). The fast trial (`--fast-trial`: the reference's outcomes on every grasp compared)
    saves a third of the labelling. Then the committed ranker fine-tuned on the same labels (`480_focus_init`:
    `--init` it, 1,000 steps at a quarter of its learning rate: its own confident mistakes taught to it), read the
    same way (both trained before either is chosen); the better replaces the committed checkpoint only if
    `SELECT_MARGIN` better. Returns results/clutter_focus_labels.json."""
    runs = {
        "480_focus": ["--steps", "2000"],
        "480_focus_init": ["--init", str(COMMITTED), "--steps", "1000", "--lr", "2.5e-4"],
    }
    return _fingertip_run(work, FOCUS_LABELLED, runs, "clutter_focus_labels")
