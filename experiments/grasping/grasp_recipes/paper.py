"""The paper's two experiments: success against the number of unique procedural objects (`count`), procedural against realistic training objects (`realistic`)."""

from __future__ import annotations

from pathlib import Path

from grasp_recipes.common import HARD, REALISTIC_TRAIN, evaluate, label, objects, save, train
from grasp_recipes.selection import select


def count(work: Path, scenes: int, steps: int, trials: int, counts: list[int]) -> None:
    folders = objects(work)
    rows = []
    for n in counts:
        ckpt = train(work, f"procedural_{n}", label(work, f"procedural_{n}", scenes, procedural=n), steps)
        rows.append(
            {
                "unique_objects": n,
                "scenes": scenes,
                "realistic_test": evaluate(ckpt, folders["realistic_test"], None, trials),
                "realistic_test_hard": evaluate(ckpt, folders["realistic_test"], None, trials, HARD),
                "procedural_test_hard": evaluate(ckpt, None, 50, 2, HARD),
            }
        )
        save("object_count", rows)
    select(work)


def realistic(work: Path, scenes: int, steps: int, trials: int, procedural_objects: int) -> None:
    folders = objects(work)
    ckpt = train(work, "realistic", label(work, "realistic", scenes, folder=folders["realistic_train"]), steps)
    proc = train(
        work,
        f"procedural_{procedural_objects}",
        label(work, f"procedural_{procedural_objects}", scenes, procedural=procedural_objects),
        steps,
    )
    rows = [
        {
            "training objects": f"procedural ({procedural_objects} unique)",
            "realistic_test": evaluate(proc, folders["realistic_test"], None, trials),
            "realistic_test_hard": evaluate(proc, folders["realistic_test"], None, trials, HARD),
        },
        {
            "training objects": f"realistic ({len(REALISTIC_TRAIN)} pybullet_data meshes)",
            "realistic_test": evaluate(ckpt, folders["realistic_test"], None, trials),
            "realistic_test_hard": evaluate(ckpt, folders["realistic_test"], None, trials, HARD),
        },
    ]
    save("procedural_vs_realistic", rows)
