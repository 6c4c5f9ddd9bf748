"""Shared pieces of the grasping recipes: folders, the object sets, labelling, training, evaluation, results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]  # the experiment folder


RESULTS = HERE / "results"


# Training labels scale each scene's object to a largest extent in this range (metres); at 0.08 m the
# 0.085 m gripper closes across almost anything, from about 0.10 m on where to grasp matters.
LABEL_SCALES = (0.08, 0.14)


# Every model is evaluated at the task's default extent and at HARD, where the objects no longer fit the
# opening every way (the centroid baseline then fails on a quarter of the trials); chosen before training.
HARD = 0.12


# The realistic split (meshes that ship with pybullet_data), all scaled to a largest extent of 0.08 m. The jenga
# block is its URDF (the mesh is a unit cube that the URDF scales to 0.15 x 0.05 x 0.03); the mesh beside it
# is loaded through the URDF only.
REALISTIC_TEST = {
    "duck.obj": "duck.obj", "teddy.obj": "teddy2_VHACD_CHs.obj", "mug.obj": "objects/mug.obj", "lego.obj": "lego/lego.obj",
    "jenga.urdf": "jenga/jenga.urdf", "jenga.obj": "jenga/jenga.obj", "bunny.obj": "bunny.obj", "stone.obj": "stone.obj", "torus.obj": "torus/torus_textured.obj",
    "soccerball.obj": "soccerball.obj", "toy_cylinder.obj": "toys/cylinder.obj",
}  # fmt: skip


REALISTIC_TRAIN = {
    **{f"kuka_link_{i}.obj": f"kuka_iiwa/meshes/link_{i}.obj" for i in range(8)},
    **{f"panda_{n}.obj": f"franka_panda/meshes/collision/{n}.obj" for n in ("finger", "hand", "link0", "link1", "link2", "link3", "link4", "link5", "link6", "link7")},
    "toy_prism.obj": "toys/prism.obj", "toy_cube.obj": "toys/cube.obj", "shape_sorter.obj": "toys/shape_sorter.obj",
    "concave_box.obj": "toys/concave_box.obj", "domino.obj": "domino/domino.obj", "sphere.obj": "sphere_smooth.obj", "cube.obj": "cube.obj",
}  # fmt: skip


def objects(work: Path) -> dict[str, Path]:
    import pybullet_data

    src = Path(pybullet_data.getDataPath())
    out = {}
    for name, files in (("realistic_test", REALISTIC_TEST), ("realistic_train", REALISTIC_TRAIN)):
        folder = work / name
        folder.mkdir(parents=True, exist_ok=True)
        for dst, rel in files.items():
            if not (folder / dst).is_file():
                shutil.copy(src / rel, folder / dst)
        out[name] = folder
    return out


def label(
    work: Path,
    name: str,
    scenes: int,
    procedural: int | None = None,
    folder: Path | None = None,
    seed: int = 1,
    focus: Path | None = None,
    focus_top: int = 8,
    scales: tuple[float, float] = LABEL_SCALES,
    family: str | None = None,
    first_seed: int = 0,
    executions: int = 1,
) -> Path:
    from domrand.tasks.grasp.dataset import GraspDataConfig, generate

    out = work / "labels" / name
    cfg = GraspDataConfig(
        objects=str(folder) if folder else "procedural", num_objects=procedural or 1, scenes=scenes, seed=seed,
        scale_to=scales[0], scale_to_max=scales[1], focus=str(focus) if focus else None,
        focus_top=focus_top, family=family, first_seed=first_seed, executions=executions,
    )  # fmt: skip
    generate(cfg, out, workers=2, quiet=True)
    return out


def train(
    work: Path, name: str, data: Path | list[Path], steps: int, members: int = 1, views: int = 2, **more: float
) -> Path:
    """Train a ranker (reused if its run finished). The count and realistic experiments were run with one
    ranker trained on two views (fingers swapped) and evaluated on one (`views=2` is that recipe). `more`: other
    `GraspTrainConfig` fields (`PICK`)."""
    from domrand.tasks.grasp.trainer import GraspTrainConfig, train_grasp

    run = work / "runs" / name
    if not (run / "done.json").is_file():
        shutil.rmtree(run, ignore_errors=True)
        (run / "done.json").parent.mkdir(parents=True, exist_ok=True)
        cfg = GraspTrainConfig(steps=steps, members=members, views=views, **more)
        summary = train_grasp(
            str(data) if isinstance(data, Path) else [str(d) for d in data], str(run), cfg, quiet=True
        )
        (run / "done.json").write_text(json.dumps(summary))
    return run / "best.pt"


def evaluate(ckpt: Path, folder: Path | None, procedural: int | None, trials: int, scale: float = 0.08) -> dict:
    """Evaluate a run's checkpoint once; the report is kept beside it and reused."""
    scale_tag = "" if scale == 0.08 else f"_scale{scale:g}"
    cache = ckpt.parent / f"eval_{folder.name if folder else f'procedural{procedural}'}_{trials}trials{scale_tag}.json"
    if cache.is_file() and cache.stat().st_mtime > ckpt.stat().st_mtime:
        return json.loads(cache.read_text())
    report = _evaluate(ckpt, folder, procedural, trials, scale)
    cache.write_text(json.dumps(report))
    return report


def _evaluate(ckpt: Path, folder: Path | None, procedural: int | None, trials: int, scale: float) -> dict:
    from domrand.tasks.grasp.dataset import TEST_SEED_OFFSET
    from domrand.tasks.grasp.evaluate import evaluate as run_eval
    from domrand.tasks.grasp.objects import from_procedural, load_folder

    if folder is not None:
        objs, skipped = load_folder(folder, scale)
    else:
        objs, skipped = [from_procedural(TEST_SEED_OFFSET + i, scale) for i in range(procedural or 0)], []
    report = run_eval(str(ckpt), objs, trials=trials, seed=0, workers=2, skipped=skipped)
    report["scale_to"] = scale
    return report


def save(name: str, rows: list[dict] | dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(rows, indent=2) + "\n")


def committed_copy(work: Path) -> Path:
    """checkpoints/grasp.pt copied to WORK/runs/committed/best.pt, so that evaluation caches stay out of the
    repository."""
    ckpt = work / "runs" / "committed" / "best.pt"
    committed = (HERE / "checkpoints" / "grasp.pt").read_bytes()
    if not ckpt.is_file() or ckpt.read_bytes() != committed:
        ckpt.parent.mkdir(parents=True, exist_ok=True)
        ckpt.write_bytes(committed)
    return ckpt


def committed_name() -> str:
    """The run that checkpoints/grasp.pt is (results/selection.json's "committed"), "grasp" if unrecorded."""
    sel = RESULTS / "selection.json"
    return json.loads(sel.read_text()).get("committed", "grasp") if sel.is_file() else "grasp"


def held_out(ckpt: Path, folders: dict[str, Path], trials: int) -> dict:
    """A recipe's test figures: the realistic test objects at 0.08 m and at HARD, 50 procedural test objects at HARD."""
    return {
        "realistic_test": evaluate(ckpt, folders["realistic_test"], None, trials),
        "realistic_test_hard": evaluate(ckpt, folders["realistic_test"], None, trials, HARD),
        "procedural_test_hard": evaluate(ckpt, None, 50, 2, HARD),
    }


def add_row(name: str, row: dict, key: str) -> None:
    """Put `row` into results/NAME.json in place of any row with the same `key`, rows sorted by it."""
    path = RESULTS / f"{name}.json"
    rows = [r for r in (json.loads(path.read_text()) if path.is_file() else []) if r[key] != row[key]]
    save(name, sorted([*rows, row], key=lambda r: r[key]))
