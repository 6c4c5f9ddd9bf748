"""Readings of the committed model: mirror fusion (`fusion`), cameras (`camera`), draws (`draws`), the reality gap again
(`regap`); issue 33's runs side by side (`occlusion_camera`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pose_recipes.common import CONTROL_SETS, HERE, RESULTS, TEST_SETS, TEST_VERSION, dataset, run_checkpoint, save
from pose_recipes.headline import headline, headline_runs
from pose_recipes.sets import control_sets, gap_set, gap_version, test_sets
from pose_recipes.training import _evaluate_once


def fusion(work: Path, size: int = 128) -> None:
    """Each finished headline run's weights read out both ways, "position" (each view's own peak, the two
    positions averaged) and "heatmap" (the two views' heatmaps averaged, one peak), on every test set
    (results/fusion.json; the rows of runs no longer on disk are kept). Same weights, so the difference is the
    fusion alone."""
    import dataclasses

    from domrand.tasks.pose.data import load_any
    from domrand.tasks.pose.evaluate import metrics
    from domrand.tasks.pose.infer import errors, load_model

    names = [r["name"] for r in headline_runs() if r.get("test_version") == TEST_VERSION]
    names = [n for n in names if (work / "runs" / n / "best.pt").is_file()]
    if not names:
        raise SystemExit(f"no finished version-{TEST_VERSION} headline run in {work}/runs: run `run.py headline` first")
    sets = test_sets(work, size)
    rows = []
    for name in names:
        model, _ = load_model(work / "runs" / name / "best.pt")
        row: dict = {"name": name, "checkpoint_fusion": model.config.mirror_fusion, "position": {}, "heatmap": {},
                     "gap_version": gap_version()}  # fmt: skip
        for key in TEST_SETS:
            images, positions, _ = load_any(str(sets[key]), model.config.image_size)  # read once, both fusions
            for fuse in ("position", "heatmap"):
                model.config = dataclasses.replace(model.config, mirror_fusion=fuse)
                row[fuse][key] = metrics(errors(model, images, positions))
        rows.append(row)
    path = RESULTS / "fusion.json"  # rows of runs whose checkpoints are gone stay as they were measured
    kept = [r for r in json.loads(path.read_text()) if r["name"] not in names] if path.is_file() else []
    save("fusion", kept + rows)


CAMERAS = {
    "learned": "roughly known (the checkpoint's learnt correction to the nominal camera)",
    "nominal": "calibrated at the nominal pose (the correction skipped)",
    "labels": "each image's true camera (perfect calibration: the heatmap's error alone)",
}


def camera(work: Path, size: int = 128) -> None:
    """The committed model (checkpoints/cube.pt) on every test set with each of `CAMERAS` (`domrand evaluate
    pose --camera`), results/camera.json. Same weights and heatmaps, so the difference is what is known of
    the camera: the randomized sets move it by up to 5 cm and 3 deg, the reality-gap sets by up to 1 cm and
    1 deg (make_reality_gap.py), and so do the control sets (`control_sets`), domrand's own renders."""
    import hashlib

    from domrand.tasks.pose.data import load_any
    from domrand.tasks.pose.evaluate import cameras, metrics
    from domrand.tasks.pose.infer import load_model, predictions

    ck = HERE / "checkpoints" / "cube.pt"
    model, _ = load_model(ck)
    sets = {**test_sets(work, size), **control_sets(work, size)}
    rows: dict[str, dict] = {c: {} for c in CAMERAS}
    for key in (*TEST_SETS, *CONTROL_SETS):
        images, positions, info = load_any(str(sets[key]), model.config.image_size)  # read once, every camera
        for cam in CAMERAS:
            d = predictions(model, images, camera=cameras(model, cam, len(images), info, str(sets[key]))) - positions
            err = d.norm(dim=1)
            rows[cam][key] = {**metrics(err, d), "frac_over_0.05": float((err > 0.05).float().mean())}
    out = {
        "checkpoint": "checkpoints/cube.pt",
        "sha256": hashlib.sha256(ck.read_bytes()).hexdigest(),
        "gap_version": gap_version(),
        "rows": [{"camera": c, "assumes": CAMERAS[c], **rows[c]} for c in CAMERAS],
    }
    (RESULTS / "camera.json").write_text(json.dumps(out, indent=2) + "\n")


# Further draws of the reality-gap sets (make_reality_gap.py with other seeds; the sets of record are seed 7):
# how much a 500-image mean moves from one draw to the next. Never used to choose or train a model.
DRAW_SEEDS = (8, 9)


def draws(work: Path, size: int = 128) -> None:
    """The committed model on the reality-gap sets of record and on `DRAW_SEEDS` draws of them (object only and
    with distractors, 500 images each), and on all draws pooled with a bootstrap 95% interval of the mean
    (results/gap_draws.json)."""
    import hashlib

    from domrand.tasks.pose.data import load_any
    from domrand.tasks.pose.evaluate import metrics
    from domrand.tasks.pose.infer import errors, load_model

    ck = HERE / "checkpoints" / "cube.pt"
    model, _ = load_model(ck)
    sets = test_sets(work, size)
    rows = []
    for mode in ("objects", "distractors"):
        folders = {7: sets[f"gap_{mode}"], **{s: gap_set(work / f"gap_{mode}_seed{s}", mode, s) for s in DRAW_SEEDS}}
        pooled = []
        for seed, folder in folders.items():
            images, positions, _ = load_any(str(folder), model.config.image_size)
            err = errors(model, images, positions).numpy()
            pooled.append(err)
            rows.append(
                {"set": f"gap_{mode}", "seed": seed, **metrics(err), "frac_over_0.05": float((err > 0.05).mean())}
            )
        err = np.concatenate(pooled)
        rng = np.random.default_rng(0)
        boot = [float(rng.choice(err, err.size).mean()) for _ in range(2000)]
        rows.append({"set": f"gap_{mode}", "seed": "pooled", **metrics(err), "frac_over_0.05": float((err > 0.05).mean()),
                     "mean_ci95_m": [float(np.percentile(boot, 2.5)), float(np.percentile(boot, 97.5))]})  # fmt: skip
    out = {"checkpoint": "checkpoints/cube.pt", "sha256": hashlib.sha256(ck.read_bytes()).hexdigest(),
           "gap_version": gap_version(), "rows": rows}  # fmt: skip
    (RESULTS / "gap_draws.json").write_text(json.dumps(out, indent=2) + "\n")


def regap(work: Path, size: int = 128) -> None:
    """Read every headline run whose checkpoint is still in work/runs on the current reality-gap sets (its row in
    results/headline_runs.json is updated; rows whose checkpoint is gone keep the version they were measured
    on), re-select cube.pt as `headline` does (on the randomized set alone, so the same model), and redo
    `fusion` and `camera`."""
    sets = test_sets(work, size)
    rows = headline_runs()
    for r in rows:
        run = work / "runs" / r["name"]
        if r.get("test_version") == TEST_VERSION and (run / "best.pt").is_file():
            for key in TEST_SETS:
                r[key] = _evaluate_once(run, key, sets[key])
            r["gap_version"] = gap_version()
    save("headline_runs", rows)
    headline(work, 0, size, 0)
    fusion(work, size)
    camera(work, size)


# Issue 33's runs and the model they started from, side by side: the occlusion share's ablation (hardneg2 against
# occlusion: the same start, seed, images and steps) and the camera spread's fine-tunes.
ISSUE33_RUNS = (
    "hardneg2_128px_64k_6000",
    "occlusion_128px_64k_6000",
    "spread_128px_32k_3000",
    "spread2_128px_48k_4000",
    "spread3_128px_32k_2000",
    "spread4_128px_64k_6000",
    "spread5_128px_64k_6000",
)


# The nominal set: domrand's images from the nominal camera itself (no jitter at all), where a learnt correction
# should add nothing; seed 205 (no other set uses it).
NOMINAL_CAMERA = [
    "camera.eye_jitter=[0,0]",
    "camera.target_jitter=[0,0]",
    "camera.roll_deg=[0,0]",
    "camera.fov_jitter_deg=[0,0]",
]


def occlusion_camera(work: Path, size: int = 128) -> None:
    """`ISSUE33_RUNS` on the six test sets, the two control sets and the nominal set (500 object-only images from
    the nominal camera): mean, median and mean error vector of each (results/occlusion_camera.json). Runs not on
    disk are left out (hardneg2's weights come back from git)."""
    sets = {**test_sets(work, size), **control_sets(work, size)}
    sets["nominal_objects"] = dataset(work, f"nominal_objects_{size}px", 500, 205,
                                      ["placement.distractor_count=0", *NOMINAL_CAMERA], size)  # fmt: skip
    rows = []
    for name in ISSUE33_RUNS:
        run = run_checkpoint(work, name).parent
        if not (run / "best.pt").is_file():
            continue
        rows.append({"name": name, **{k: _evaluate_once(run, k, folder) for k, folder in sets.items()}})
    save("occlusion_camera", rows)
