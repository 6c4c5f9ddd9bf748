"""BOP output read with the BOP toolkit's own definitions and an independent ray cast of the models.

The toolkit's functions below are re-implemented from https://github.com/thodan/bop_toolkit (MIT licence,
Copyright (c) 2019 Tomas Hodan): `bop_toolkit_lib/misc.py` (`calc_2d_bbox`, `depth_im_to_dist_im_fast`),
`bop_toolkit_lib/visibility.py` (`_estimate_visib_mask`, mode "bop19") and the loop of
`scripts/calc_gt_info.py` (the model drawn alone on a 3W x 3H canvas, here by trimesh ray casts at the pixel
centres instead of OpenGL). Nothing here imports domrand's BOP code: it reads the files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from domrand.config import load_config
from domrand.generate import GenerateOptions, generate
from domrand.io.images import read_png_any

trimesh = pytest.importorskip("trimesh")
pytest.importorskip("rtree")

DELTA = 15  # mm, the toolkit's default for every dataset but ITODD


def calc_2d_bbox(xs, ys):
    return [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]


def depth_im_to_dist_im(depth, k):
    xs, ys = np.meshgrid(np.arange(depth.shape[1]), np.arange(depth.shape[0]))
    pre_xs = (xs - k[0, 2]) / np.float64(k[0, 0])
    pre_ys = (ys - k[1, 2]) / np.float64(k[1, 1])
    return np.sqrt(np.multiply(pre_xs, depth) ** 2 + np.multiply(pre_ys, depth) ** 2 + depth.astype(np.float64) ** 2)


def estimate_visib_mask_gt(d_test, d_model, delta):
    d_diff = d_model.astype(np.float32) - d_test.astype(np.float32)
    return np.logical_and(np.logical_or(d_diff <= delta, d_test == 0), d_model > 0)


def ray_cast_depth(mesh, r, t, k, h, w):
    """(3H, 3W) depth (mm) of the model at pose (r, t) by ray casts through the canvas's pixel centres."""
    cam = trimesh.Trimesh(mesh.vertices @ r.T + t, mesh.faces, process=False)
    u = k[0, 0] * cam.vertices[:, 0] / cam.vertices[:, 2] + k[0, 2]
    v = k[1, 1] * cam.vertices[:, 1] / cam.vertices[:, 2] + k[1, 2]
    x0, x1 = max(int(np.floor(u.min())) - 1, -w), min(int(np.ceil(u.max())) + 1, 2 * w - 1)
    y0, y1 = max(int(np.floor(v.min())) - 1, -h), min(int(np.ceil(v.max())) + 1, 2 * h - 1)
    out = np.zeros((3 * h, 3 * w))
    if x0 > x1 or y0 > y1:
        return out
    ys, xs = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
    dirs = np.stack([(xs - k[0, 2]) / k[0, 0], (ys - k[1, 2]) / k[1, 1], np.ones(xs.shape)], -1).reshape(-1, 3)
    loc, ray, _ = cam.ray.intersects_location(np.zeros_like(dirs), dirs, multiple_hits=True)
    z = np.full(len(dirs), np.inf)
    if len(ray):
        np.minimum.at(z, ray, loc.reshape(-1, 3)[:, 2])
    z = np.where(np.isfinite(z), z, 0.0).reshape(xs.shape)
    out[y0 + h : y1 + h + 1, x0 + w : x1 + w + 1] = z
    return out


@pytest.fixture(scope="module")
def bop(tmp_path_factory):
    out = tmp_path_factory.mktemp("bop") / "ds"
    return _tabletop(out)


@pytest.fixture(scope="module")
def bop_user(tmp_path_factory):
    """A world of three user classes (pybullet_data's mug, duck and bunny) and a 160 x 120 camera off centre."""
    from userworld import write_config

    folder = tmp_path_factory.mktemp("bop_user")
    cfg = load_config(
        path=write_config(folder, width=160, height=120),
        overrides={"chunk_size": 8, "camera": {"eye": [0.0, -0.45, 0.2]}},
    )
    generate(cfg, GenerateOptions(out=folder / "ds", num=16, formats=("bop",), quiet=True, seed=5))
    return folder / "ds" / "bop"


def _tabletop(out):
    cfg = load_config(
        overrides={
            "image_size": 64,
            "chunk_size": 12,
            "output": {"bop_distractors": True},
            "camera": {"eye": [0.0, -0.6, 0.2]},  # low, so that objects hide each other
            "placement": {
                "distractor_extent_step": 0.02,
                "distractor_count": {"kind": "intuniform", "low": 8, "high": 10},
            },
        }
    )
    generate(cfg, GenerateOptions(out=out, num=24, formats=("bop",), quiet=True, seed=5))
    return out / "bop"


def test_scene_gt_info_follows_the_toolkit_for_every_object(bop: Path):
    checked, truncated, occluded = check_against_toolkit(bop)
    assert checked > 100 and truncated >= 3 and occluded >= 10, (checked, truncated, occluded)


def test_scene_gt_info_follows_the_toolkit_for_every_object_of_every_user_class(bop_user: Path):
    checked, _, occluded = check_against_toolkit(bop_user)
    ids = {
        g["obj_id"]
        for p in (bop_user / "train_pbr").glob("*/scene_gt.json")
        for im in json.loads(p.read_text()).values()
        for g in im
    }
    assert ids == {1, 2, 3} and checked >= 30 and occluded >= 1, (ids, checked, occluded)


def check_against_toolkit(bop: Path) -> tuple[int, int, int]:
    """Every ground-truth object of every image against the toolkit's definitions: (checked, truncated, occluded)."""
    models = {}
    checked, truncated, occluded = 0, 0, 0
    for scene in sorted((bop / "train_pbr").iterdir()):
        gts = json.loads((scene / "scene_gt.json").read_text())
        cams = json.loads((scene / "scene_camera.json").read_text())
        infos = json.loads((scene / "scene_gt_info.json").read_text())
        for im, gt_list in gts.items():
            k = np.array(cams[im]["cam_K"]).reshape(3, 3)
            depth = read_png_any(str(scene / "depth" / f"{int(im):06d}.png")).astype(np.float64)
            depth *= cams[im]["depth_scale"]
            h, w = depth.shape
            dist_im = depth_im_to_dist_im(depth, k)
            for gt_id, (gt, ours) in enumerate(zip(gt_list, infos[im], strict=True)):
                oid = gt["obj_id"]
                if oid not in models:
                    models[oid] = trimesh.load(bop / "models" / f"obj_{oid:06d}.ply", process=False)
                r, t = np.array(gt["cam_R_m2c"]).reshape(3, 3), np.array(gt["cam_t_m2c"])
                large = ray_cast_depth(models[oid], r, t, k, h, w)
                depth_gt = large[h : 2 * h, w : 2 * w]
                dist_gt = depth_im_to_dist_im(depth_gt, k)
                visib = estimate_visib_mask_gt(dist_im, dist_gt, DELTA)
                px_all, px_visib = int((large > 0).sum()), int(visib.sum())
                ref = {
                    "px_count_all": px_all,
                    "px_count_valid": int((dist_im[dist_gt > 0] > 0).sum()),
                    "px_count_visib": px_visib,
                    "visib_fract": px_visib / px_all if px_all else 0.0,
                    "bbox_obj": [-1] * 4,
                    "bbox_visib": [-1] * 4,
                }
                if px_visib > 0:
                    ys, xs = (large > 0).nonzero()
                    ref["bbox_obj"] = [int(x) for x in calc_2d_bbox(xs - w, ys - h)]
                    ys, xs = visib.nonzero()
                    ref["bbox_visib"] = [int(x) for x in calc_2d_bbox(xs, ys)]
                where = f"scene {scene.name} image {im} gt {gt_id} (obj {oid})"
                assert ours == ref, f"{where}: ours {ours} toolkit {ref}"
                mask_visib = read_png_any(str(scene / "mask_visib" / f"{int(im):06d}_{gt_id:06d}.png")) > 0
                mask = read_png_any(str(scene / "mask" / f"{int(im):06d}_{gt_id:06d}.png")) > 0
                assert np.array_equal(mask_visib, visib) and np.array_equal(mask, dist_gt > 0), where
                checked += 1
                truncated += (dist_gt > 0).sum() < px_all
                occluded += 0 < px_visib < (dist_gt > 0).sum()
    print(f"{checked} objects, {truncated} truncated, {occluded} occluded")
    return checked, truncated, occluded


def test_models_info_lists_the_primitives_symmetries(bop: Path):
    info = json.loads((bop / "models" / "models_info.json").read_text())
    cube = info["1"]
    assert cube["name"] == "cube" and len(cube["symmetries_discrete"]) == 23 and cube["symmetries_continuous"] == []
    for m in (np.array(s).reshape(4, 4) for s in cube["symmetries_discrete"]):
        assert np.allclose(m[:3, :3] @ m[:3, :3].T, np.eye(3)) and np.isclose(np.linalg.det(m[:3, :3]), 1)
    by_name = {v["name"]: v for v in info.values()}
    assert by_name["cylinder@20mm"]["symmetries_continuous"] == [{"axis": [0.0, 0.0, 1.0], "offset": [0.0, 0.0, 0.0]}]
    assert len(by_name["box@20mm"]["symmetries_discrete"]) == 3
    ids = {
        g["obj_id"]
        for p in (bop / "train_pbr").glob("*/scene_gt.json")
        for im in json.loads(p.read_text()).values()
        for g in im
    }
    assert 1 in ids and len(ids) > 10  # the target and distractors of many (mesh, size) pairs
