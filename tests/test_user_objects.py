"""Users' own objects and cameras (`world.objects`, `world.distractors`, `world.scene`, `camera.intrinsics`,
`generate --objects`): labels against cv2 and pycocotools, and every bad input refused by name before any work."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
import trimesh
from userworld import write_config

from domrand.cli import main
from domrand.config import load_config
from domrand.generate import GenerateOptions, generate
from domrand.labels import compute

SMALL_CAMERA = {"width": 160, "height": 120}


def small_config(folder, **extra):
    return write_config(folder, width=SMALL_CAMERA["width"], height=SMALL_CAMERA["height"], **extra)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("user")
    out = folder / "ds"
    cfg = load_config(path=small_config(folder), overrides={"chunk_size": 6})
    generate(
        cfg, GenerateOptions(out=out, num=12, seed=2, formats=("native", "jsonl", "coco", "bop", "yolo"), quiet=True)
    )
    return out


@pytest.mark.parametrize("distortion", [None, [-0.28, 0.09, 0.0015, -0.001, -0.01]], ids=["pinhole", "distorted"])
def test_keypoints_match_cv2_project_points_with_the_users_intrinsics(tmp_path, distortion):
    over = {} if distortion is None else {"camera": {"distortion": distortion}}
    cfg = load_config(path=write_config(tmp_path), overrides=over)
    pipe = cfg.pipeline()
    frame = pipe.render(pipe.sample(2, rng=torch.Generator().manual_seed(1)))
    labels = compute(frame.scene, frame.instance, frame.silhouette, frame.clean_depth)
    k = frame.scene.camera.intrinsics.double().numpy()
    assert k[0, 0, 2] != (640 - 1) / 2 and k[0, 1, 2] != (480 - 1) / 2
    worst, n = 0.0, 0
    for b in range(2):
        for s in torch.nonzero(labels.present[b]).reshape(-1).tolist():
            half = labels.extents[b, s].double().numpy() / 2
            corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)] + [[0, 0, 0]]) * half
            pose = labels.pose_camera[b, s].double().numpy()
            rvec, _ = cv2.Rodrigues(pose[:3, :3])
            d = np.zeros(5) if distortion is None else np.array(distortion)
            uv, _ = cv2.projectPoints(corners, rvec, pose[:3, 3], k[b], d)
            worst = max(worst, float(np.abs(uv.reshape(-1, 2) - labels.keypoints[b, s, :, :2].double().numpy()).max()))
            n += 1
    assert n >= 6 and worst < 0.01, (n, worst)


def test_every_format_carries_every_class(dataset):
    m = json.loads((dataset / "manifest.json").read_text())
    assert m["classes"] == m["object_classes"] == ["mug", "duck", "bunny"]
    assert m["image_size"] == [120, 160] and m["nominal_camera"]["cx"] == 0.45 * 160 + 0.5
    records = [json.loads(line) for line in (dataset / "labels.jsonl").read_text().splitlines()]
    seen = {o["class"] for r in records for o in r["objects"] if o["role"] == "object"}
    assert seen == {"mug", "duck", "bunny"}, seen
    assert all(o["class"].startswith("distractor:") for r in records for o in r["objects"] if o["role"] == "distractor")
    from pycocotools.coco import COCO

    coco = COCO(str(dataset / "coco" / "annotations.json"))
    assert [c["name"] for c in coco.loadCats(coco.getCatIds())] == ["mug", "duck", "bunny"]
    by_class = {c: sum(1 for r in records for o in r["objects"] if o["class"] == c) for c in ("mug", "duck", "bunny")}
    for cid, name in zip(coco.getCatIds(), ("mug", "duck", "bunny")):
        assert len(coco.getAnnIds(catIds=[cid])) == by_class[name] > 0
    info = json.loads((dataset / "bop" / "models" / "models_info.json").read_text())
    assert [v["name"] for v in info.values()] == ["mug", "duck", "bunny"]
    mug = trimesh.load(dataset / "bop" / "models" / "obj_000001.ply", process=False)
    assert 80 < mug.extents.max() < 130  # millimetres
    yolo = (dataset / "yolo" / "data.yaml").read_text()
    assert "0: mug" in yolo and "2: bunny" in yolo


def test_generate_objects_shortcut_names_classes_after_files(tmp_path, capsys):
    trimesh.creation.box((80.0, 60.0, 40.0)).export(tmp_path / "part.stl")  # millimetres, as CAD exports
    trimesh.creation.cylinder(0.03, 0.1).export(tmp_path / "can.ply")
    out = tmp_path / "out"
    code = main(
        [
            "generate",
            "--objects",
            str(tmp_path / "part.stl"),
            str(tmp_path / "can.ply"),
            "--num",
            "4",
            "--out",
            str(out),
            "--size",
            "32",
            "--quiet",
        ]
    )
    assert code == 0, capsys.readouterr()
    m = json.loads((out / "manifest.json").read_text())
    assert m["object_classes"] == ["part", "can"]
    part = m["config"]["world"]["objects"][0]
    assert part["units"] == "mm" and "reads as mm" in capsys.readouterr().out


def bad_mesh(tmp_path, kind):
    p = tmp_path / f"{kind}.obj"
    if kind == "empty":
        p.write_text("# nothing\n")
    elif kind == "nan":
        p.write_text("v 0 0 0\nv 1 0 0\nv nan 1 0\nf 1 2 3\n")
    elif kind == "flat":
        p.write_text("v 0 0 0\nv 0.1 0 0\nv 0.2 0 0\nf 1 2 3\n")
    elif kind == "huge":
        trimesh.creation.cylinder(50.0, 500.0).export(p)  # a 500 m mug: a file in mm read as metres
    elif kind == "notexture":
        p.write_text(
            "mtllib m.mtl\nusemtl a\nv 0 0 0\nv 0.1 0 0\nv 0 0.1 0\nv 0 0 0.1\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\nf 1/1 2/2 4/3\nf 1/1 3/2 4/3\nf 2/1 3/2 4/3\n"
        )
        (tmp_path / "m.mtl").write_text("newmtl a\nmap_Kd missing.png\n")
    return p


@pytest.mark.parametrize(
    ("case", "expect"),
    [
        ("missing", "does not exist"),
        ("empty", "no triangles"),
        ("nan", "NaN or infinite"),
        ("flat", "degenerate"),
        ("huge", "units: mm"),
        ("notexture", "texture image"),
        ("crowd", "lower the counts"),
        ("principal", "principal point"),
        ("focal", "positive focal"),
        ("count", "count must be"),
        ("units", "units must be one of"),
    ],
)
def test_bad_user_input_is_one_line_naming_it_before_any_output(tmp_path, capsys, case, expect):
    obj = {"name": "thing", "mesh": "thing.obj", "count": [1, 1]}
    camera = {"intrinsics": {"fx": 100.0, "fy": 100.0, "cx": 40.0, "cy": 30.0, "width": 80, "height": 60}}
    trimesh.creation.box((0.05, 0.05, 0.05)).export(tmp_path / "thing.obj")
    if case == "missing":
        obj["mesh"] = "nowhere/thing.obj"
    elif case in ("empty", "nan", "flat", "huge", "notexture"):
        obj["mesh"] = bad_mesh(tmp_path, case).name
        obj["appearance"] = "original" if case == "notexture" else "random"
    elif case == "crowd":
        obj["count"] = [30, 30]
        obj["extent"] = 0.2
    elif case == "principal":
        camera["intrinsics"]["cx"] = 95.0
    elif case == "focal":
        camera["intrinsics"]["fx"] = 0.0
    elif case == "count":
        obj["count"] = [3, 1]
    elif case == "units":
        obj["units"] = "inch"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps({"world": {"objects": [obj]}, "camera": camera}))
    out = tmp_path / "out"
    assert main(["generate", "--config", str(cfg), "--num", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()


def test_huge_meshes_are_refused_with_their_triangle_count(tmp_path, monkeypatch, capsys):
    import domrand.meshfile

    monkeypatch.setattr(domrand.meshfile, "MAX_TRIANGLES", 100)
    domrand.meshfile._read.cache_clear()
    trimesh.creation.icosphere(subdivisions=2, radius=0.05).export(tmp_path / "scan.ply")  # 320 triangles
    assert main(["generate", "--objects", str(tmp_path / "scan.ply"), "--num", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "320 triangles" in err and "decimate" in err


@pytest.mark.parametrize("scene", ["bin", "none", "mesh"])
def test_scenes_other_than_the_table(tmp_path, scene):
    if scene == "mesh":  # a static scene: a shelf board at z = 0 with a back wall
        board = trimesh.creation.box((1.0, 0.8, 0.02))
        board.apply_translation((0, 0, -0.01))
        wall = trimesh.creation.box((1.0, 0.02, 0.4))
        wall.apply_translation((0, 0.41, 0.2))
        trimesh.util.concatenate([board, wall]).export(tmp_path / "shelf.obj")
        scene = "shelf.obj"
    path = small_config(tmp_path, **{})
    cfg = load_config(
        path=path, overrides={"world": {"scene": scene if scene != "shelf.obj" else str(tmp_path / scene)}}
    )
    pipe = cfg.pipeline()
    frame = pipe.render(pipe.sample(2, rng=torch.Generator().manual_seed(0)))
    inst = frame.instance.numpy()
    if scene == "none":
        assert not np.isin(inst, [0, 1]).any() and (inst >= 2).any()  # no table or floor: objects over the background
    else:
        assert (inst == 0).mean() > 0.2 and (inst >= 2).any()
    if scene == "bin":
        faces = int(cfg.world.mesh_bank().num_faces[0])
        assert faces == 12 * 5  # the table and four walls


def test_train_pose_target_is_a_user_class_and_reads_its_first_instance(tmp_path, capsys):
    import yaml

    data = yaml.safe_load(write_config(tmp_path).read_text())
    del data["camera"]["intrinsics"]  # the pose model reads square images
    data["image_size"] = 32
    cfg = tmp_path / "square.yaml"
    cfg.write_text(yaml.safe_dump(data))
    out = tmp_path / "ds"
    assert main(["generate", "--config", str(cfg), "--num", "24", "--out", str(out), "--quiet"]) == 0
    from domrand.io.native import NativeDataset

    ds = NativeDataset(out)
    slot = json.loads((out / "manifest.json").read_text())["slots"].index("bunny_0")
    with_bunny = [i for i in range(len(ds)) if any(o["id"] == slot for o in ds.label(i)["objects"])]
    assert 0 < len(with_bunny) < 24  # bunny's count is [0, 2]: some images lack it
    run = ["train", "pose", "--data", str(out), "--target", "bunny", "--steps", "2", "--size", "32", "--quiet"]
    assert main([*run, "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    assert main(["evaluate", "pose", "--checkpoint", str(tmp_path / "run" / "best.pt"), "--data", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == len(with_bunny)
    bad = ["train", "pose", "--data", str(out), "--out", str(tmp_path / "run2"), "--target", "cube", "--steps", "2"]
    assert main(bad) == 2
    assert "not a class of this dataset" in capsys.readouterr().err and not (tmp_path / "run2").exists()


DISTORTION = [-0.28, 0.09, 0.0015, -0.001, -0.01]


def test_distorted_images_are_the_pinhole_render_remapped_through_cv2_undistort_points(tmp_path):
    """The instance mask of a distorted camera against an independent warp: the same scene rendered as a pinhole
    canvas, each image pixel looked up where `cv2.undistortPoints` sends it. Every object of 100 px or more."""
    from domrand.render import RenderConfig, Renderer
    from domrand.render.distortion import canvas

    cfg = load_config(path=write_config(tmp_path), overrides={"camera": {"distortion": DISTORTION}})
    pipe = cfg.pipeline()
    params = pipe.sample(2, rng=torch.Generator().manual_seed(5))
    frame = pipe.render(params)
    scene = pipe.scene(params)
    flat, kc = canvas(scene)
    ref_canvas = Renderer(RenderConfig(shadows=False)).render(flat).instance.numpy()
    h, w = 480, 640
    grid = np.stack(np.meshgrid(np.arange(w), np.arange(h)), -1).reshape(-1, 1, 2).astype(np.float64)
    checked = 0
    for b in range(2):
        k = scene.camera.intrinsics[b].double().numpy()
        und = cv2.undistortPoints(grid, k, np.array(DISTORTION), P=kc[b].double().numpy()).reshape(h, w, 2)
        ui, vi = np.floor(und[..., 0] + 0.5).astype(int), np.floor(und[..., 1] + 0.5).astype(int)
        ok = (ui >= 0) & (ui < ref_canvas.shape[2]) & (vi >= 0) & (vi < ref_canvas.shape[1])
        ref = np.where(ok, ref_canvas[b][vi.clip(0, ref_canvas.shape[1] - 1), ui.clip(0, ref_canvas.shape[2] - 1)], -1)
        ours = frame.instance[b].numpy()
        for s in range(2, scene.instances.mesh.shape[1]):
            a, r = ours == s, ref == s
            if r.sum() < 100:
                continue
            iou = (a & r).sum() / (a | r).sum()
            assert iou > 0.99, (b, s, iou)
            checked += 1
    assert checked >= 4 and frame.scene.camera.distortion is not None


def test_bop_refuses_a_distorted_camera_before_any_output(tmp_path, capsys):
    import yaml

    path = small_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["camera"]["distortion"] = DISTORTION
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "o"
    assert main(["generate", "--config", str(path), "--num", "2", "--out", str(out), "--format", "native,bop"]) == 2
    assert "pinhole" in capsys.readouterr().err and not out.exists()
    assert (
        main(["generate", "--config", str(path), "--num", "2", "--out", str(out), "--format", "native,coco", "--quiet"])
        == 0
    )
    coco = json.loads((out / "coco" / "annotations.json").read_text())
    assert coco["images"][0]["width"] == 160 and len(coco["annotations"]) >= 2


@pytest.mark.parametrize(
    ("terms", "expect"), [([0.1, 0.2, 0.3], "4, 5 or 8 terms"), ([-3.0, 0.0, 0.0, 0.0, 0.0], "folds")]
)
def test_bad_distortion_is_refused_by_name(tmp_path, capsys, terms, expect):
    import yaml

    path = small_config(tmp_path)
    data = yaml.safe_load(path.read_text())
    data["camera"]["distortion"] = terms
    path.write_text(yaml.safe_dump(data))
    assert main(["generate", "--config", str(path), "--num", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expect in err and "camera.distortion" in err and not (tmp_path / "o").exists()


def test_original_appearance_shows_vertex_colours(tmp_path):
    """A PLY whose vertices are pure red, `appearance: original`, flat white light: its pixels are red."""
    box = trimesh.creation.box((0.06, 0.06, 0.06))
    box.visual.vertex_colors = np.tile([255, 0, 0, 255], (len(box.vertices), 1))
    box.export(tmp_path / "red.ply")
    over = {
        "image_size": 64,
        "world": {"objects": [{"name": "red", "mesh": str(tmp_path / "red.ply"), "appearance": "original"}]},
        "noise": {"enabled": False},
        "camera": {"eye": [0.0, -0.3, 0.3]},
        "placement": {"target_x": [-0.02, 0.02], "target_y": [-0.02, 0.02]},
    }
    pipe = load_config(overrides=over).pipeline()
    frame = pipe.render(pipe.sample(2, rng=torch.Generator().manual_seed(0)))
    rgb = frame.rgb_uint8().numpy().astype(int)
    on = frame.instance.numpy() == 2
    assert on.sum(axis=(1, 2)).min() > 50
    px = rgb[on]
    assert (px[:, 0] > px[:, 1] + 20).mean() > 0.95 and (px[:, 1] - px[:, 2]).__abs__().mean() < 8


def test_drop_refuses_a_flat_mesh_that_surface_renders(tmp_path, capsys):
    pytest.importorskip("pybullet")
    trimesh.Trimesh([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0.1, 0.1, 0]], [[0, 1, 2], [1, 3, 2]]).export(
        tmp_path / "sheet.obj"
    )
    cfg = tmp_path / "c.yaml"
    obj = {"name": "sheet", "mesh": "sheet.obj"}
    cfg.write_text(json.dumps({"world": {"objects": [obj]}, "image_size": 32}))
    assert main(["generate", "--config", str(cfg), "--num", "2", "--out", str(tmp_path / "ok"), "--quiet"]) == 0
    cfg.write_text(json.dumps({"world": {"objects": [obj]}, "image_size": 32, "placement": {"mode": "drop"}}))
    assert main(["generate", "--config", str(cfg), "--num", "2", "--out", str(tmp_path / "no")]) == 2
    assert "needs a volume" in capsys.readouterr().err and not (tmp_path / "no").exists()


def test_gltf_files_are_y_up_by_default(tmp_path):
    """glTF's spec is y-up: a tall box exported to .glb stands tall in domrand's z-up world without `up: y`."""
    tall = trimesh.creation.box((0.02, 0.02, 0.10))
    tall.apply_transform(trimesh.transformations.rotation_matrix(-np.pi / 2, [1, 0, 0]))  # z-up -> y-up: tall along y
    tall.export(tmp_path / "tall.glb")
    tall.export(tmp_path / "tall.obj")
    from domrand.objects import ObjectClass

    glb = ObjectClass(name="a", mesh=str(tmp_path / "tall.glb")).load().extents
    obj = ObjectClass(name="b", mesh=str(tmp_path / "tall.obj")).load().extents
    assert float(glb[2]) == pytest.approx(0.10, abs=1e-6) and float(obj[1]) == pytest.approx(0.10, abs=1e-6)


def test_info_names_the_classes_of_a_user_world(dataset):
    from domrand.tools.preview import info

    text = info(dataset)
    assert "classes: mug (1-2 each), duck (1 each), bunny (0-2 each)" in text and "120" in text


def test_regression_a_big_scanned_mesh_made_every_render_part_take_gigabytes():
    """A 327k-triangle user mesh pads every slot's geometry to its vertex count: 64 scenes at once took 4.8 GB.
    Render parts now shrink to stay within `GEOMETRY_BUDGET` (parts change no byte: see the batch-size tests)."""
    from types import SimpleNamespace

    from domrand.render.renderer import GEOMETRY_BUDGET, part_size

    def scene(k, v):
        return SimpleNamespace(
            instances=SimpleNamespace(mesh=torch.zeros(64, k)), meshes=SimpleNamespace(vertices=torch.zeros(1, v, 3))
        )

    assert part_size(scene(13, 2_000), 64) == 64  # the tabletop: unchanged
    big = part_size(scene(14, 164_000), 64)
    assert 1 <= big < 64 and big * 14 * 164_000 * 48 <= GEOMETRY_BUDGET
    assert part_size(scene(40, 10_000_000), 64) == 1


def test_glb_textures_are_read_through_their_uvs(tmp_path):
    """The duck (OBJ + MTL + PNG) re-exported as a binary glTF keeps its colour map: `appearance: original` can use it."""
    from pathlib import Path

    from domrand.meshfile import read_mesh

    duck = Path(__file__).resolve().parents[1] / "assets" / "meshes" / "pybullet_data" / "duck.obj"
    trimesh.load(duck, force="mesh").export(tmp_path / "duck.glb")
    obj, glb = read_mesh(duck, extent=0.08, up="y"), read_mesh(tmp_path / "duck.glb", extent=0.08)
    assert glb.texture is not None and glb.texture.shape == obj.texture.shape == (512, 512, 3)
    assert glb.uvs is not None and glb.uvs.shape[0] == glb.mesh.vertices.shape[0]
    assert np.array_equal(glb.texture, obj.texture)


def test_labels_record_names_roles_of_a_user_world(tmp_path):
    cfg = load_config(path=small_config(tmp_path))
    pipe = cfg.pipeline()
    frame = pipe.render(pipe.sample(1, rng=torch.Generator().manual_seed(0)))
    rec = compute(
        frame.scene, frame.instance, frame.silhouette, frame.clean_depth, tuple(cfg.world.class_names())
    ).record(0)
    roles = {o["class"]: o["role"] for o in rec["objects"]}
    assert roles["mug"] == roles["duck"] == "object"
    assert all(r == "distractor" for c, r in roles.items() if c.startswith("distractor:"))
