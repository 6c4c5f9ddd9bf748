"""One training run and its evaluation on every test set, cached per run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from pose_recipes.common import ABLATION_MODEL, SIZE, TEST_SETS, TEST_VERSION, _count, subset
from pose_recipes.sets import gap_version, test_sets


def train_and_eval(
    work: Path,
    name: str,
    data: Path,
    steps: int,
    images: int | None = None,
    size: int = SIZE,
    model: dict | None = None,
    precision: str = "auto",
    init: Path | None = None,
    lr: float = 1e-3,
    pretrained: Path | None = None,
    target: str = "cube",
) -> dict:
    """Train one model (reused if its run finished) and evaluate it on every test set; `model` overrides
    fields of the architecture (`PoseNetConfig`) that the dataset's camera and target imply (or that `init`,
    a checkpoint to fine-tune from, has); `precision` and `lr` are `PoseTrainConfig`'s; `pretrained` starts from
    another target's checkpoint (`train_pose(pretrained=...)`: its architecture and layers). A model of another
    `target` (a pretext task) is trained only: the test sets are the cube's."""
    from dataclasses import replace

    from domrand.tasks.pose.trainer import PoseTrainConfig, model_config_for, train_pose

    run = work / "runs" / name
    if not (run / "done.json").is_file():
        if images is not None:  # the first `images` images of the dataset, as their own folder view
            data = subset(work, data, images)
        resume = (run / "last.pt").is_file()  # an interrupted run continues from its last checkpoint
        if not resume:
            shutil.rmtree(run, ignore_errors=True)
        mcfg = None
        if model and not resume:
            if init is not None:
                from domrand.tasks.pose.infer import load_model

                base = load_model(init)[0].config
            else:
                base = model_config_for(json.loads((data / "manifest.json").read_text())["config"], size)
            mcfg = replace(base, **model)
        summary = train_pose(
            str(data),
            str(run),
            target=target,
            config=PoseTrainConfig(
                steps=steps, image_size=size, eval_every=250, checkpoint_every=250, precision=precision, lr=lr
            ),
            model_config=mcfg,
            resume=resume,
            quiet=True,
            init=None if init is None else str(init),
            pretrained=None if pretrained is None else str(pretrained),
        )
        (run / "done.json").write_text(json.dumps(summary))
    if target != "cube":  # a pretext model: the test sets are the cube's
        return {"name": name}
    sets = test_sets(work, size)
    out = {"name": name, "train_images": images or _count(data), "steps": steps, "image_size": size,
           "test_version": 1 if size == SIZE else TEST_VERSION, "gap_version": gap_version()}  # fmt: skip
    for key in TEST_SETS:
        out[key] = _evaluate_once(run, key, sets[key])
    return out


def _evaluate_once(run: Path, key: str, data: Path) -> dict:
    """A run's report on one test set, kept in the run folder until the checkpoint or the set changes."""
    from domrand.tasks.pose.evaluate import evaluate_pose

    cache = run / f"eval_{key}.json"
    labels = data / "labels.jsonl" if (data / "labels.jsonl").is_file() else data / "manifest.json"
    newest = max((run / "best.pt").stat().st_mtime, labels.stat().st_mtime)
    if cache.is_file() and cache.stat().st_mtime > newest:
        return json.loads(cache.read_text())
    report = evaluate_pose(str(run / "best.pt"), str(data))
    cache.write_text(json.dumps(report))
    return report


def ablation_point(work: Path, name: str, data: Path, steps: int, images: int | None = None) -> dict:
    """One ablation model: the ablations' configuration (`ABLATION_MODEL`, float32, 64 px)."""
    return train_and_eval(work, name, data, steps, images=images, model=ABLATION_MODEL, precision="fp32")
