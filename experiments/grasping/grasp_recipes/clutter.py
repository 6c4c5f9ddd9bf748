"""Grasping in clutter (experiments/tasks/grasping_clutter.md): the first model trained on piles.

The existing ranker (depth crops around each candidate, which show the neighbours and the bin wall too) trained
on grasp labels of piles (`domrand label grasps --clutter 8`: the clutter trial, every object and the bin in
the way), then evaluated as the task says on the held-out grocery piles, with clearance, beside the baselines.
The commands are the CLI's, so the recipe is what a user would type:

    domrand label grasps --procedural 100 --clutter 8 --scenes 240 --seed 11 --out WORK/clutter/piles
    domrand train grasp --data WORK/clutter/piles --out WORK/clutter/run --steps 2000
    domrand evaluate grasp --checkpoint WORK/clutter/run/best.pt --objects assets/meshes/robosuite_grocery \
        --clutter 8 --piles 12 --clearance --report results/clutter_first.json

The run's best.pt becomes checkpoints/grasp_clutter.pt (the best pile model so far; the issue's bar is not met).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from grasp_recipes.common import HERE, RESULTS

ROOT = HERE.parents[1]
GROCERY = ROOT / "assets" / "meshes" / "robosuite_grocery"


def _domrand(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "domrand.cli", *args], check=True)


def clutter_first(work: Path, scenes: int = 240) -> Path:
    """Label, train (both reused when done), evaluate on the grocery piles; returns the report's path."""
    piles, run = work / "clutter" / "piles", work / "clutter" / "run"
    _domrand("label", "grasps", "--procedural", "100", "--clutter", "8", "--scenes", str(scenes), "--seed", "11",
             "--out", str(piles), "--quiet")  # fmt: skip
    if not (run / "best.pt").is_file():
        _domrand("train", "grasp", "--data", str(piles), "--out", str(run), "--steps", "2000", "--quiet")
    RESULTS.mkdir(exist_ok=True)
    report = RESULTS / "clutter_first.json"
    _domrand("evaluate", "grasp", "--checkpoint", str(run / "best.pt"), "--objects", str(GROCERY), "--clutter", "8",
             "--piles", "12", "--clearance", "--workers", "2", "--report", str(report))  # fmt: skip
    shutil.copy(run / "best.pt", HERE / "checkpoints" / "grasp_clutter.pt")
    return report
