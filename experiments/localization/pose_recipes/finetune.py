"""The fine-tune recipes of the committed model (`finetune`, `hardneg`, `again`, `hardneg2`)."""

from __future__ import annotations

from pathlib import Path

from domrand.world import DISTRACTOR_PRIMITIVES
from pose_recipes.common import _sized, dataset, run_checkpoint
from pose_recipes.headline import add_headline_run, headline
from pose_recipes.training import train_and_eval

# The fine-tune that continues the 40k-image headline run: twice the images, fresh ones (another seed), with four
# times the procedural distractor shapes (96: the misdetections that remain are on real objects the
# training's 24 shapes never resembled), the heatmap-level mirror fusion, half the peak learning rate.
FINETUNE = {
    "name": "finetune",
    "init": "headline_128px_40k_6000",
    "images": 80000,
    "seed": 101,
    "sets": ["world.procedural_distractors=96"],
    "model": {"mirror_fusion": "heatmap"},
    "lr": 5e-4,
    "steps": 4000,
    "data": "train_dshapes",
}


# The second fine-tune, against the misdetections the first one left. On the control set with distractors
# (domrand's own images; diagnose.py) they land on prism-like distractors of 6 to 10 cm, hexagonal prisms most
# often (4 of their 72 appearances). The first fine-tune's 96 procedural shapes had cut the primitives to 10 of 106
# distractor meshes (the preset: 10 of 34). Here each primitive is listed three times, which gives them about the
# preset's share back beside the 96 shapes (36 of 132), and the hexagonal prism six times more (9 of 132): fresh
# images (another seed) that show the model more of the shapes it mistakes for the cube. It starts from the
# committed first fine-tune; where that run's folder is gone, its weights are taken from the commit that holds
# them as checkpoints/cube.pt (`common.INIT_FROM_GIT`, checked against its sha256).
HARDNEG = {
    "name": "hardneg",
    "init": "finetune_128px_80k_4000",
    "images": 64000,
    "seed": 102,
    "sets": [
        "world.procedural_distractors=96",
        "world.distractor_primitives=[" + ",".join([*list(DISTRACTOR_PRIMITIVES) * 3, *["hexagonal_prism"] * 6]) + "]",
    ],
    "model": {},
    "lr": 5e-4,
    "steps": 6000,
    "data": "train_hardneg",
}


# Its control: the same second fine-tune (weights, seed, image count, steps, learning rate) on the first fine-tune's
# distractor mix, so that what the prism-like shapes did can be told from what more steps on fresh images did.
AGAIN = {**HARDNEG, "name": "again", "sets": FINETUNE["sets"], "data": "train_dshapes"}


# A third, from the second's weights: the same mix and budget on 64k more fresh images (another seed).
HARDNEG2 = {**HARDNEG, "name": "hardneg2", "init": "hardneg_128px_64k_6000", "seed": 103, "data": "train_hardneg_s103"}


# Occlusion (issue 33): hardneg2's counterpart (same weights to start from, seed, image count, steps, learning rate and
# distractor mix) with a share of scenes in which a distractor is placed to hide 30 to 85% of the target
# (`occlusion` section, `randomizers.occlusion.TargetOcclusion`). The pair is the share's ablation: 0 (hardneg2)
# against `OCCLUSION_SHARE`.
OCCLUSION_SHARE = 0.3
OCCLUSION = {
    **HARDNEG2,
    "name": "occlusion",
    "sets": [*HARDNEG2["sets"], "occlusion.enabled=true", f"occlusion.share={OCCLUSION_SHARE}"],
    "data": "train_occlusion_s103",
}


# The camera's bias (issue 33). diagnose.py on images from the nominal camera (no jitter): the heatmap's point
# through the nominal camera is unbiased (mean vector -0.02 / -0.00 cm in x / y), the true image point through the
# learnt correction is not (-0.08 / +0.57 cm), and on the randomized set (the full camera spread) the model's mean
# vector is near zero (+0.08 / +0.03 cm). The correction is right on average over the training cameras and wrong
# at their centre: its y error is an even function of the camera's offset (a least-squares fit on the randomized
# set: +0.29 cm at the centre, negative quadratic terms in the eye's offsets and the field of view), and a uniform
# spread over 8 camera parameters almost never shows the centre. This fine-tune continues the occlusion run with
# half of the scenes' camera jitters scaled by 0.2 (`camera.spread`: within +-1 cm, +-0.6 deg of the nominal
# camera), fresh images, half the steps.
SPREAD = {
    **OCCLUSION,
    "name": "spread",
    "init": "occlusion_128px_64k_6000",
    "images": 32000,
    "seed": 104,
    "sets": [*OCCLUSION["sets"], "camera.spread={kind: choice, values: [0.2, 1.0]}"],
    "steps": 3000,
    "data": "train_spread_s104",
}


# From `SPREAD`: the free-standing figures back. SPREAD met the occluded and object-only bars on the reality-gap
# sets (2.10 and 1.26 cm) but not the one with distractors (2.16 cm; its median 0.98 cm, so misdetections), and
# the randomized set with distractors (2.35 cm against hardneg2's 2.08, on the same sets) does not select it. Half
# the occlusion share (0.15), 4,000 more steps on 48k fresh images.
SPREAD2 = {
    **SPREAD,
    "name": "spread2",
    "init": "spread_128px_32k_3000",
    "images": 48000,
    "seed": 105,
    "sets": [*HARDNEG2["sets"], "occlusion.enabled=true", "occlusion.share=0.15", SPREAD["sets"][-1]],
    "steps": 4000,
    "data": "train_spread2_s105",
}


# From `SPREAD2`, which met every reality-gap and control bar (1.05 / 1.56 / 2.30 cm; mean vectors under 0.1 cm on
# the control sets) but lost the selection on the randomized set with distractors by 0.06 cm (2.14 against
# hardneg2's 2.08): 2,000 more steps on 32k fresh images at half the learning rate.
SPREAD3 = {**SPREAD2, "name": "spread3", "init": "spread2_128px_48k_4000", "images": 32000, "seed": 106,
           "lr": 2.5e-4, "steps": 2000, "data": "train_spread3_s106"}  # fmt: skip


# From `SPREAD2` again (`SPREAD3`'s lower rate went the wrong way: 2.21 cm on the randomized set with distractors):
# hardneg2's whole budget (6,000 steps at its learning rate on 64k fresh images), the same occlusion share and
# spread, and the principal point randomized by up to 1.5 px in x and y (issue 33: real cameras sit pixels away
# from the image centre, PyBullet's proxies half a pixel; at 128 px, 1.5 px is about 0.5 deg of the camera's view).
SPREAD4 = {
    **SPREAD2,
    "name": "spread4",
    "init": "spread2_128px_48k_4000",
    "images": 64000,
    "seed": 107,
    "sets": [*SPREAD2["sets"], "camera.principal_jitter_px=[-1.5, 1.5]"],
    "lr": 5e-4,
    "steps": 6000,
    "data": "train_spread4_s107",
}


# From `SPREAD4`, which met every reality-gap bar by a margin (0.96 / 1.55 / 2.02 cm) and again lost the selection on
# the randomized set with distractors (2.15 against hardneg2's 2.08 cm; object only 1.97 against 1.76): that set
# spans the whole camera range without occluders, and the spread runs showed it only half of their scenes at the
# full range and a share of them occluded. A quarter of the scenes near the nominal camera and a share of 0.1
# occluded, 6,000 more steps on 64k fresh images. Result: the committed cube.pt (randomized with distractors 1.92
# cm; reality gap 1.16 / 1.39 / 2.61; control-set mean vectors under 0.2 cm: a quarter was enough for the bias).
SPREAD5 = {
    **SPREAD4,
    "name": "spread5",
    "init": "spread4_128px_64k_6000",
    "seed": 108,
    "sets": [
        *HARDNEG2["sets"],
        "occlusion.enabled=true",
        "occlusion.share=0.1",
        "camera.spread={kind: choice, values: [0.2, 1.0], p: [0.25, 0.75]}",
        "camera.principal_jitter_px=[-1.5, 1.5]",
    ],
    "data": "train_spread5_s108",
}


def finetune(work: Path, recipe: dict, steps: int | None = None, size: int = 128) -> None:
    """Fine-tune run `recipe["init"]` on fresh images (`FINETUNE`, `HARDNEG`); its row joins
    `results/headline_runs.json` and the committed model is re-selected among all runs, as `headline` does."""
    f = recipe
    steps = steps or f["steps"]
    init = run_checkpoint(work, f["init"])
    if not init.is_file():
        raise SystemExit(f"{init} is missing: run `run.py headline` first (its best.pt is checkpoints/cube.pt)")
    k = f"{f['images'] // 1000}k"
    data = dataset(work, _sized(f"{f['data']}_{k}", size), f["images"], f["seed"], f["sets"], size)
    name = f"{f['name']}_{size}px_{k}_{steps}"
    row = {
        **train_and_eval(work, name, data, steps, size=size, model=f["model"], init=init, lr=f["lr"]),
        "source": "headline",
        "init": f["init"],
        "sets": f["sets"],
    }
    add_headline_run(row)
    headline(work, 0, size, 0)
