"""Grasping in clutter (experiments/tasks/grasping_clutter.md): the first models trained on piles.

The existing ranker (depth crops around each candidate, which show the neighbours and the bin wall too) trained
on grasp labels of piles (`domrand label grasps --clutter 8`: the clutter trial, every object and the bin in
the way), then evaluated as the task says on the held-out grocery piles, with clearance, beside the baselines.
The commands are the CLI's, so the recipe is what a user would type: 240 piles (seed 11), then 240 more (seed
12) and a ranker on all 480:

    domrand label grasps --procedural 100 --clutter 8 --scenes 240 --seed 11 --out WORK/clutter/piles
    domrand label grasps --procedural 100 --clutter 8 --scenes 240 --seed 12 --out WORK/clutter/piles2
    domrand train grasp --data WORK/clutter/piles --out WORK/clutter/run --steps 2000
    domrand train grasp --data WORK/clutter/piles WORK/clutter/piles2 --out WORK/clutter/run480 --steps 2000
    domrand evaluate grasp --checkpoint WORK/clutter/run480/best.pt --objects assets/meshes/robosuite_grocery \
        --clutter 8 --piles 12 --clearance --report results/clutter_480.json      (and run/ -> clutter_first.json)

The 480-pile ranker was checkpoints/grasp_clutter.pt until `clutter_model` (grasp_recipes/clutter_model.py),
which chooses the committed checkpoint on validation piles, with this one among the candidates.

`clutter_experiments` runs the paper's two experiments on piles, every arm labelled on the same pile seeds with
the same trial and trained the same way (2,000 steps), all read on the same 48 held-out grocery piles with
clearance (the baselines once, with run480), the model with its failure memory and bin check. Object count: 10,
100 and 1,000 procedural objects on 240 piles each (seed 11), 10 and 100 on 480 (seeds 11 and 12); procedural
(100 objects) against realistic (the 25 pybullet_data training meshes): 240 piles each (seed 11):

    domrand label grasps --procedural 10 --clutter 8 --scenes 240 --seed 11 --out WORK/clutter/count10_11
    ... (--procedural 1000; --objects WORK/realistic_train; --procedural 10 --seed 12)
    domrand train grasp --data WORK/clutter/count10_11 --out WORK/clutter/run_count10 --steps 2000
    domrand evaluate grasp --checkpoint WORK/clutter/run480/best.pt --objects assets/meshes/robosuite_grocery \
        --clutter 8 --piles 48 --clearance --report results/clutter_48.json

The 100-object arms are `clutter_first`'s piles and rankers (run480 on 480 piles, run on the first 240).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from domrand.tasks.grasp.clutter import METHODS
from grasp_recipes.common import HERE, RESULTS, objects

ROOT = HERE.parents[1]
GROCERY = ROOT / "assets" / "meshes" / "robosuite_grocery"


def _domrand(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "domrand.cli", *args], check=True)


def clutter_first(work: Path, scenes: int = 240) -> Path:
    """Label, train (both reused when done), evaluate on the grocery piles; returns the committed run's report."""
    root = work / "clutter"
    folders = {11: root / "piles", 12: root / "piles2"}
    for seed, folder in folders.items():
        _domrand("label", "grasps", "--procedural", "100", "--clutter", "8", "--scenes", str(scenes), "--seed",
                 str(seed), "--out", str(folder), "--quiet")  # fmt: skip
    runs = {"clutter_first": (root / "run", [folders[11]]), "clutter_480": (root / "run480", list(folders.values()))}
    RESULTS.mkdir(exist_ok=True)
    for name, (run, data) in runs.items():
        if not (run / "best.pt").is_file():
            _domrand("train", "grasp", "--data", *map(str, data), "--out", str(run), "--steps", "2000", "--quiet")
        # the ranker alone, as these first readings were made
        _domrand("evaluate", "grasp", "--checkpoint", str(run / "best.pt"), "--objects", str(GROCERY), "--clutter",
                 "8", "--piles", "12", "--clearance", "--no-memory", "--no-bin-check", "--no-fingertips", "--workers",
                 "2", "--report", str(RESULTS / f"{name}.json"))  # fmt: skip
    return RESULTS / "clutter_480.json"


TEST_PILES = 48  # the experiments' held-out grocery piles (seed 0): the first 12 are clutter_480's
#: arm -> (label flags, pile seeds, folder stem). Object count: 10, 100 and 1,000 objects on 240 piles each (seed
#: 11), and 10 and 100 on 480 (seeds 11, 12); procedural against realistic: 240 piles each (seed 11). The
#: 100-object arms are clutter_first's labels (folders piles, piles2) and rankers (run, run480).
ARMS: dict[str, tuple[list[str], tuple[int, ...], str]] = {
    "10": (["--procedural", "10"], (11,), "count10"),
    "100": (["--procedural", "100"], (11,), "piles"),
    "1000": (["--procedural", "1000"], (11,), "count1000"),
    "10_480": (["--procedural", "10"], (11, 12), "count10"),
    "100_480": (["--procedural", "100"], (11, 12), "piles"),
    "realistic": (["--objects", "{realistic_train}"], (11,), "realistic"),
}
RUNS = {"100": "run", "100_480": "run480"}  # the arms whose ranker clutter_first trains


def _folders(root: Path, stem: str, seeds: tuple[int, ...]) -> list[Path]:
    if stem == "piles":
        return [root / ("piles" if s == 11 else "piles2") for s in seeds]
    return [root / f"{stem}_{s}" for s in seeds]


def label_facts(folders: list[Path]) -> dict[str, Any]:
    """Labelled piles, executed grasps, the share held, and how many distinct objects the piles drew."""
    from domrand.tasks.grasp.dataset import GraspDataConfig, load_summary, pile_draw

    drawn: set[tuple[str, int]] = set()
    for folder in folders:
        manifest = json.loads((folder / "manifest.json").read_text())
        cfg = GraspDataConfig(**manifest["config"])
        for s in range(cfg.scenes):
            drawn.update((str(cfg.objects), int(i)) for i in pile_draw(cfg, s, len(manifest["objects"]))[1])
    summary = load_summary(folders)
    return {
        "piles": summary["scenes"],
        "grasps": summary["candidates"],
        "held": summary["success_rate"],
        "objects_drawn": len(drawn),
    }


def _evaluate(checkpoint: Path, out: Path, methods: tuple[str, ...], fingertips: bool = False) -> dict[str, Any]:
    """The grocery test piles (cached in `out`: each arm's reading is made once); `fingertips`: the model's
    sampler (`evaluate_clutter`), off for the readings made before it."""
    from domrand.tasks.grasp.evaluate_clutter import evaluate_clutter
    from domrand.tasks.grasp.objects import load_folder

    if not out.is_file():
        pool, skipped = load_folder(GROCERY)
        report = evaluate_clutter(
            str(checkpoint), pool, 8, TEST_PILES, True, 0, 2, skipped, methods, fingertips=fingertips
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({**report, "source": "assets/meshes/robosuite_grocery"}, indent=2) + "\n")
    return json.loads(out.read_text())


def clutter_experiments(work: Path) -> list[Path]:
    """Object count (10, 100, 1,000 procedural objects on 240 piles; 10 and 100 on 480) and procedural against
    realistic training objects (240 piles each), on piles; returns the result files (results/clutter_count.json,
    clutter_realistic.json, clutter_48.json)."""
    root = work / "clutter"
    realistic_train = objects(work)["realistic_train"]
    clutter_first(work)  # the 100-object piles and rankers
    rows: dict[str, dict[str, Any]] = {}
    for arm, (flags, seeds, stem) in ARMS.items():
        folders = _folders(root, stem, seeds)
        flags = [f.format(realistic_train=realistic_train) for f in flags]
        for seed, folder in zip(seeds, folders):
            _domrand("label", "grasps", *flags, "--clutter", "8", "--scenes", "240", "--seed", str(seed), "--out",
                     str(folder), "--quiet")  # fmt: skip
        run = root / RUNS.get(arm, f"run_{stem}" + ("_480" if len(seeds) == 2 else ""))
        if not (run / "best.pt").is_file():
            _domrand("train", "grasp", "--data", *map(str, folders), "--out", str(run), "--steps", "2000", "--quiet")
        methods = METHODS if arm == "100_480" else ("model",)  # the baselines once, with run480
        report = _evaluate(run / "best.pt", root / "eval48" / f"{run.name}.json", methods)
        rows[arm] = {"arm": arm, **label_facts(folders), "run": str(run), "test": report}
    full = rows["100_480"]["test"]  # as `domrand evaluate grasp --clutter 8 --piles 48 --clearance` reports it
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "clutter_48.json").write_text(json.dumps(full, indent=2) + "\n")
    baselines = full["baselines"]
    count = [
        {**rows[a], "unique_objects": int(a.split("_")[0]), "baselines": baselines}
        for a in ("10", "100", "1000", "10_480", "100_480")
    ]
    realistic = [
        {**rows["100"], "training objects": "procedural (100 objects)", "baselines": baselines},
        {**rows["realistic"], "training objects": "realistic (25 pybullet_data meshes)", "baselines": baselines},
    ]
    out = [RESULTS / "clutter_count.json", RESULTS / "clutter_realistic.json", RESULTS / "clutter_48.json"]
    out[0].write_text(json.dumps(count, indent=2) + "\n")
    out[1].write_text(json.dumps(realistic, indent=2) + "\n")
    return out
