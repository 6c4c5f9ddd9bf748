"""A user world for tests: three of pybullet_data's meshes as classes, its clutter as distractor meshes, and a
real camera's intrinsics with the principal point off centre (what `world.objects` users write)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

#: (class, file under pybullet_data, keys) of the three classes.
CLASSES = (
    ("mug", "objects/mug.obj", {"units": "m", "count": [1, 2]}),
    ("duck", "duck.obj", {"extent": 0.08, "up": "y", "count": [1, 1]}),
    ("bunny", "bunny.obj", {"extent": 0.07, "count": [0, 2]}),
)
DISTRACTORS = ("lego/lego.obj", "random_urdfs/000/000.obj")


def data_path() -> Path:
    pybullet_data = pytest.importorskip("pybullet_data")
    return Path(pybullet_data.getDataPath())


def write_config(folder: Path, width: int = 640, height: int = 480, **extra) -> Path:
    """A YAML config in `folder` with the meshes copied beside it (paths relative to the config)."""
    src = data_path()
    meshes = folder / "meshes"
    meshes.mkdir(parents=True, exist_ok=True)
    objects = []
    for name, rel, keys in CLASSES:
        for f in (src / rel).parent.glob(Path(rel).stem + ".*"):  # the mesh with its .mtl and textures
            (meshes / f.name).write_bytes(f.read_bytes())
        objects.append({"name": name, "mesh": f"meshes/{Path(rel).name}", **keys})
    for png in ("duckCM.png",):
        (meshes / png).write_bytes((src / png).read_bytes())
    (meshes / "clutter").mkdir(exist_ok=True)
    for i, rel in enumerate(DISTRACTORS):
        (meshes / "clutter" / f"clutter_{i}.obj").write_bytes((src / rel).read_bytes())
    cfg = {
        "world": {"objects": objects, "distractors": {"meshes": "meshes/clutter", "count": [2, 4]}},
        "camera": {
            "intrinsics": {
                "fx": 1.05 * height, "fy": 1.05 * height, "cx": 0.45 * width + 0.5, "cy": 0.55 * height - 0.5,
                "width": width, "height": height,
            },
            "eye": [0.0, -0.55, 0.45],
        },
        **extra,
    }  # fmt: skip
    path = folder / "user.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path
