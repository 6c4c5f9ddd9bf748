"""Shared pieces of the localization recipes: folders, seeds, datasets through `domrand generate`, subsets, results."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]  # the experiment folder


RESULTS = HERE / "results"


TEST_SETS = ("test_objects", "test_distractors", "test_occluded", "gap_objects", "gap_distractors", "gap_occluded")


SIZE = 64


# The randomized test sets follow the preset: version 2 has the photograph-like texture kinds (the preset since
# they were added). Results measured on other versions are kept and tabled, but never compared for selection.
TEST_VERSION = 2


# The ablations (data size, textures, Table II) measure the paper's factors with the configuration they were
# run with: 64 px, the original seven texture kinds (training and test sets: version 1), the whole-heatmap
# soft-argmax read-out without context in the heatmap or mirror averaging, float32. The headline model is
# what those runs taught, and differs (see the README).
ORIGINAL_KINDS = "textures.kinds=[flat,linear_gradient,radial_gradient,checker,stripes,noise,blend]"


ABLATION_MODEL = {"readout": "soft", "context_heat": False, "mirror_average": False}


SEEDS = {
    "train": 100,
    "test_objects": 200,
    "test_distractors": 201,
    "test_occluded": 202,
    "control_objects": 203,
    "control_distractors": 204,
}


# The control sets are domrand's own renders with the reality-gap sets' camera spread (+-1 cm, +-1 deg;
# make_reality_gap.preset_overrides): what the model does on its training appearance with the reality-gap sets'
# cameras, so that the camera's cost and the appearance's cost can be told apart.
CONTROL_SETS = ("control_objects", "control_distractors")


def sh(*args: str) -> None:
    print("+", " ".join(args), flush=True)
    if args[0] == "domrand":  # this interpreter's own domrand, whether or not its environment is on PATH
        args = (sys.executable, "-m", "domrand.cli", *args[1:])
    subprocess.run(args, check=True)


def dataset(work: Path, name: str, num: int, seed: int, sets: list[str], size: int = SIZE) -> Path:
    """Generate (once) a native dataset at `size` px with `--set` overrides (at the ablations' 64 px, with the
    original texture kinds unless `sets` names kinds)."""
    if size == SIZE and not any(x.startswith("textures.kinds=") for x in sets):
        sets = [*sets, ORIGINAL_KINDS]
    out = work / name
    if (out / "manifest.json").is_file() and json.loads((out / "manifest.json").read_text()).get("complete"):
        return out
    cmd = [
        "domrand",
        "generate",
        "--num",
        str(num),
        "--size",
        str(size),
        "--out",
        str(out),
        "--seed",
        str(seed),
        "--quiet",
    ]
    if out.exists():
        cmd.append("--overwrite")  # an unfinished earlier attempt
    for s in sets:
        cmd += ["--set", s]
    sh(*cmd)
    return out


def _sized(name: str, size: int) -> str:
    """Folder name of a randomized set rendered at `size` px (the ablations' 64 px sets keep their plain names)."""
    return name if size == SIZE else f"{name}_{size}px"


def _count(data: Path) -> int:
    return int(json.loads((data / "manifest.json").read_text())["num_images"])


def subset(work: Path, data: Path, n: int) -> Path:
    """A dataset folder holding the first n images of `data` (hard links to its whole chunks)."""
    from domrand.io.native import link_first_images

    return link_first_images(data, work / f"{data.name}_first{n}", n)


def save(name: str, rows: list[dict]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(rows, indent=2) + "\n")


# Committed checkpoints of runs whose folder may be gone (a fine-tune starts from them; the selection keeps them
# as candidates): run -> (commit that holds it as checkpoints/cube.pt, sha256).
INIT_FROM_GIT = {
    "finetune_128px_80k_4000": (
        "7123f61",
        "c58fd72d92cf6ebcc4ce4dd9586b342eae214a5b878930dfb4107deefb9555e5",
    ),
    "hardneg_128px_64k_6000": (
        "9859e50",
        "7e6717b0634d0874e074f32987773c551cfa37c1230256bd5d2886298a8c6cdc",
    ),
    "hardneg2_128px_64k_6000": (
        "87823bd",
        "90adf0e39612465b2c61e0e5c00a75c02ba6b322cc0ed8ecccddecfd82a2b96d",
    ),
    "spread5_128px_64k_6000": (
        "3cf596d",
        "319656bf76233c23eca9a1fe546d39916d425e4efc250b3fa23780317698f0a3",
    ),
}


def run_checkpoint(work: Path, name: str) -> Path:
    """best.pt of run `name` in work/runs; restored from git (`INIT_FROM_GIT`) when the folder is gone."""
    path = work / "runs" / name / "best.pt"
    if path.is_file() or name not in INIT_FROM_GIT:
        return path
    commit, sha = INIT_FROM_GIT[name]
    blob = subprocess.run(
        ["git", "-C", str(HERE), "show", f"{commit}:experiments/localization/checkpoints/cube.pt"],
        check=True,
        capture_output=True,
    ).stdout
    if hashlib.sha256(blob).hexdigest() != sha:
        raise SystemExit(f"checkpoints/cube.pt at {commit} is not run {name}'s best.pt (sha256 differs)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return path
