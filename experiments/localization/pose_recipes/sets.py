"""The test sets: randomized (objects, distractors, occluded), the reality-gap sets and the control sets."""

from __future__ import annotations

import itertools
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pose_recipes.common import CONTROL_SETS, HERE, SEEDS, SIZE, _sized, dataset, sh

# Occlusion is rare in the preset (footprints never overlap and the target's centre stays visible): about
# 0.2% of images. The occluded pool stages it: the target in the back half of the table's middle, 6 to 10
# large distractors between it and the camera (about 2.3% of images then qualify).
OCCLUDED_POOL = [
    "placement.distractor_count={kind: intuniform, low: 6, high: 10}",
    "placement.target_x=[-0.10,0.10]",
    "placement.target_y=[0.05,0.20]",
    "placement.distractor_x=[-0.25,0.25]",
    "placement.distractor_y=[-0.20,0.10]",
    "placement.distractor_extent=[0.05,0.10]",
]


def occluded_test(work: Path, num: int = 500, size: int = SIZE) -> Path:
    """Randomized images whose target is 30 to 85% visible (its centre never covered), as a labelled folder."""
    out = work / _sized("test_occluded", size)
    if (out / "labels.jsonl").is_file():
        return out
    pool = _sized("test_occluded_pool_staged", size)
    src = dataset(work, pool, 32000, SEEDS["test_occluded"], OCCLUDED_POOL, size)
    from domrand.io import NativeDataset
    from domrand.io.jsonl import write_labels_folder

    ds = NativeDataset(src, fields=("rgb",))

    def occluded() -> Iterator[tuple[np.ndarray, dict]]:
        for i in range(len(ds)):
            rec = ds.label(i)
            target = next(o for o in rec["objects"] if o["role"] == "target")
            if 0.30 <= target["visible_fraction"] <= 0.85:
                label = {"target_position": rec["target_position"], "target": "cube", "camera": rec["camera"]}
                yield np.array(ds.array(i, "rgb")), {**label, "visible_fraction": target["visible_fraction"]}

    write_labels_folder(out, itertools.islice(occluded(), num))
    return out


def gap_version() -> int:
    """The reality-gap sets' current version (make_reality_gap.GAP_VERSION)."""
    sys.path.insert(0, str(HERE))
    from make_reality_gap import GAP_VERSION

    return GAP_VERSION


def gap_camera() -> list[str]:
    """The reality-gap sets' camera spread as preset overrides (make_reality_gap.preset_overrides)."""
    sys.path.insert(0, str(HERE))
    from make_reality_gap import preset_overrides

    return preset_overrides()


def _gap_current(out: Path) -> bool:
    """Whether the reality-gap set in `out` is complete and of the current version."""
    labels = out / "labels.jsonl"
    if not labels.is_file():
        return False
    with open(labels) as f:
        return json.loads(f.readline()).get("gap_version", 1) == gap_version()


def gap_set(out: Path, mode: str, seed: int) -> Path:
    """A reality-gap set of 500 images (make_reality_gap.py `mode`, `seed`) in `out`, rendered again unless it is
    complete and of the current version."""
    if not _gap_current(out):
        shutil.rmtree(out, ignore_errors=True)
        sh(sys.executable, str(HERE / "make_reality_gap.py"), "--out", str(out), "--mode", mode,
           "--num", "500", "--seed", str(seed))  # fmt: skip
    return out


def test_sets(work: Path, size: int = SIZE) -> dict[str, Path]:
    """The six test sets; the randomized ones rendered at the model's input size (same seeds, so same scenes),
    the reality-gap ones at 128 px for every model (resized to its input by the evaluator; a set of an older
    version is rendered again)."""
    sets = {
        "test_objects": dataset(
            work, _sized("test_objects", size), 1000, SEEDS["test_objects"], ["placement.distractor_count=0"], size
        ),
        "test_distractors": dataset(work, _sized("test_distractors", size), 1000, SEEDS["test_distractors"], [], size),
        "test_occluded": occluded_test(work, size=size),
    }
    for mode in ("objects", "distractors", "occluded"):
        sets[f"gap_{mode}"] = gap_set(work / f"gap_{mode}", mode, 7)
    return sets


def control_sets(work: Path, size: int = 128) -> dict[str, Path]:
    """The control sets (`gap_camera`): 500 images each, object only and with distractors, at `size` px."""
    no_distractors = ["placement.distractor_count=0"]
    return {
        key: dataset(
            work,
            _sized(key, size),
            500,
            SEEDS[key],
            [*gap_camera(), *(no_distractors if "objects" in key else [])],
            size,
        )
        for key in CONTROL_SETS
    }
