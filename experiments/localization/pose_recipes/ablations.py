"""The paper's ablations: data size (`datasize`), textures (`textures`), Table II (`table2`), design choices (`design`),
pre-training (`pretraining`)."""

from __future__ import annotations

from pathlib import Path

from pose_recipes.common import ABLATION_MODEL, ORIGINAL_KINDS, SEEDS, _sized, dataset, save
from pose_recipes.training import ablation_point, train_and_eval

DATASIZES = (1024, 2048, 4992, 9984, 20000)


def datasize(work: Path, steps: int) -> None:
    data = dataset(work, "train_full_20k", 20000, SEEDS["train"], [])
    rows = [ablation_point(work, f"datasize_{n}", data, steps, images=n) for n in DATASIZES]
    save("datasize", rows)


# The paper's Fig. 4 ("pre-training is not necessary") in our terms, without downloaded weights: the same network
# pre-trained on another domrand task, localizing a cylinder (10 cm tall, 6 cm across) instead of the cube, on
# 20k images of its own (another seed) for twice the ablation budget; then each data-size point of `datasize`
# again from those layers (`train pose --pretrained`), the same steps, learning rate and test sets.
PRETEXT = {"target": "cylinder", "images": 20000, "seed": 300, "steps": 4000}
PRETRAINING_SIZES = (1024, 4992, 20000)  # three of `DATASIZES`: each point is two trainings


def pretext_model(work: Path) -> Path:
    """best.pt of the pretext run (`PRETEXT`), trained once (the ablations' configuration)."""
    p = PRETEXT
    data = dataset(work, f"train_{p['target']}_20k", p["images"], p["seed"], [f"world.target={p['target']}"])
    name = f"pretext_{p['target']}_20k_{p['steps']}"
    train_and_eval(work, name, data, p["steps"], model=ABLATION_MODEL, precision="fp32", target=p["target"])
    return work / "runs" / name / "best.pt"


def pretraining(work: Path, steps: int, sizes: tuple[int, ...] = PRETRAINING_SIZES) -> None:
    """Error against training images from scratch and from the pretext model's layers, trained side by side on the
    same images, steps and test sets (results/pretraining.json; the from-scratch runs are `datasize`'s, shared)."""
    pre = pretext_model(work)
    data = dataset(work, "train_full_20k", 20000, SEEDS["train"], [])
    origin = {"start": f"pretext_{PRETEXT['target']}", "pretext": PRETEXT}
    rows = []
    for n in sizes:
        rows.append({**ablation_point(work, f"datasize_{n}", data, steps, images=n), "start": "scratch"})
        pretrained = train_and_eval(work, f"pretrained_{n}", data, steps, images=n, precision="fp32", pretrained=pre)
        rows.append({**pretrained, **origin})
    save("pretraining", rows)


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
