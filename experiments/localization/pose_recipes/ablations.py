"""The paper's ablations: data size (`datasize`), textures (`textures`), Table II (`table2`), design choices (`design`)."""

from __future__ import annotations

from pathlib import Path

from pose_recipes.common import ORIGINAL_KINDS, SEEDS, _sized, dataset, save
from pose_recipes.training import ablation_point, train_and_eval


def datasize(work: Path, steps: int) -> None:
    data = dataset(work, "train_full_20k", 20000, SEEDS["train"], [])
    rows = [ablation_point(work, f"datasize_{n}", data, steps, images=n) for n in (1024, 2048, 4992, 9984, 20000)]
    save("datasize", rows)


def textures(work: Path, steps: int) -> None:
    rows = []
    for pool in (1, 10, 100, 1000, 10000):
        data = dataset(work, f"train_tex{pool}_10k", 9984, SEEDS["train"], [f"textures.pool_size={pool}"])
        rows.append({**ablation_point(work, f"textures_{pool}", data, steps), "unique_textures": pool})
    full = dataset(work, "train_full_20k", 20000, SEEDS["train"], [])
    rows.append({**ablation_point(work, "datasize_9984", full, steps, images=9984), "unique_textures": "unlimited"})
    save("textures", rows)


def table2(work: Path, steps: int) -> None:
    full = dataset(work, "train_full_20k", 20000, SEEDS["train"], [])
    rows = [{**ablation_point(work, "datasize_20000", full, steps, images=20000), "variant": "full method"}]
    variants = {
        "no noise": ["noise.enabled=false"],
        "no camera randomization": [
            "camera.eye_jitter=0",
            "camera.target_jitter=0",
            "camera.roll_deg=0",
            "camera.fov_jitter_deg=0",
        ],
        "no distractors": ["placement.distractor_count=0"],
    }
    for label, sets in variants.items():
        key = label.replace(" ", "_")
        data = dataset(work, f"train_{key}_20k", 20000, SEEDS["train"], sets)
        rows.append({**ablation_point(work, f"table2_{key}", data, steps), "variant": label})
    save("table2", rows)


DESIGN = {  # name: (dataset overrides, architecture overrides); 20k images at 128 px, 3,000 steps each
    "design_original_textures": ([ORIGINAL_KINDS], {}),
    "design_photo_textures": ([], {}),
    "design_homography": ([], {"geometry": "homography"}),
}


def design(work: Path, steps: int = 3000, size: int = 128) -> None:
    """The design choices behind the headline model, each against the last: the photograph-like texture
    kinds, then the supervised camera head instead of the learned correction (results/design.json)."""
    rows = []
    for name, (sets, model) in DESIGN.items():
        folder = _sized("train_original_textures_20k" if sets else "train_full_20k", size)  # the preset's set is shared
        data = dataset(work, folder, 20000, SEEDS["train"], sets, size)
        rows.append({**train_and_eval(work, name, data, steps, size=size, model=model), "sets": sets, "model": model})
    save("design", rows)
