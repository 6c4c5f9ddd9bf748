"""Every reader loads what was written, and the labels agree with each other and with projection."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from domrand.cli import main
from domrand.config import load_config
from domrand.generate import GenerateOptions, generate
from domrand.io import NativeDataset, read_labels_folder
from domrand.io.images import read_image, read_png_any
from domrand.labels import pose_matrix
from domrand.world import TARGET

pycocotools = pytest.importorskip("pycocotools")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("ds") / "ds"
    cfg = load_config(overrides={"image_size": 64, "chunk_size": 8})
    generate(cfg, GenerateOptions(out=out, num=20, formats=("native", "jsonl", "coco", "bop"), quiet=True, seed=3))
    return out


def project(pose_world, cam):
    """Project the object's origin with cv2.projectPoints (independent of domrand's projection)."""
    c2w = np.asarray(cam["cam_to_world"], dtype=np.float64)
    w2c = np.linalg.inv(c2w)
    rvec, _ = cv2.Rodrigues(w2c[:3, :3])
    k = np.array([[cam["fx"], 0, cam["cx"]], [0, cam["fy"], cam["cy"]], [0, 0, 1]], dtype=np.float64)
    pts, _ = cv2.projectPoints(np.asarray(pose_world, dtype=np.float64)[:3, 3][None], rvec, w2c[:3, 3], k, None)
    return pts[0, 0]


def test_native_dataset_loads_and_matches_the_manifest(dataset):
    ds = NativeDataset(dataset)
    manifest = json.loads((dataset / "manifest.json").read_text())
    assert len(ds) == manifest["num_images"] == 20 and manifest["complete"]
    item = ds[5]
    assert item["rgb"].shape == (64, 64, 3) and item["rgb"].dtype.is_floating_point is False
    assert item["depth"].shape == (64, 64) and item["instance"].shape == (64, 64)
    assert item["label"]["index"] == 5 and ds[-1]["index"] == 19
    with pytest.raises(IndexError):
        ds[20]


def test_pose_projects_onto_the_keypoint_and_inside_the_box(dataset):
    ds = NativeDataset(dataset)
    checked = 0
    for i in range(len(ds)):
        rec = ds.label(i)
        for obj in rec["objects"]:
            uv = project(pose_matrix(obj["position"], obj["quaternion"]), rec["camera"])
            assert np.allclose(uv, obj["keypoints"][8][:2], atol=1e-3)  # the centre keypoint
            if obj["role"] == "target":
                assert np.allclose(obj["position"], rec["target_position"], atol=1e-6)
                x0, y0, x1, y1 = obj["bbox"]
                assert x0 <= uv[0] + 0.5 <= x1 and y0 <= uv[1] + 0.5 <= y1
                # The target's centre is never covered: its pixel belongs to the target.
                u, v = np.round(uv).astype(int)
                assert ds.array(i, "instance")[v, u] == TARGET
                checked += 1
    assert checked == 20


def test_boxes_and_pixel_counts_come_from_the_mask(dataset):
    ds = NativeDataset(dataset)
    for i in range(len(ds)):
        inst = ds.array(i, "instance")
        for obj in ds.label(i)["objects"]:
            m = inst == obj["id"]
            assert m.sum() == obj["pixels"]
            if obj["pixels"]:
                ys, xs = np.nonzero(m)
                assert obj["bbox"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
                assert 0 < obj["visible_fraction"] <= 1


def test_jsonl_reader_and_images_agree_with_native(dataset):
    ds = NativeDataset(dataset)
    recs = read_labels_folder(dataset)
    assert len(recs) == len(ds)
    for i in (0, 7, 19):
        assert recs[i]["target_position"] == ds.label(i)["target_position"]
        assert np.array_equal(read_image(recs[i]["image"]), ds.array(i, "rgb"))
        depth_mm = read_png_any(str(dataset / recs[i]["depth"]))
        assert np.abs(depth_mm / 1000.0 - ds.array(i, "depth")).max() <= 0.0005 + 1e-6
        mask = read_png_any(str(dataset / recs[i]["mask"])).astype(np.int16)
        mask[mask == 255] = -1
        assert np.array_equal(mask, ds.array(i, "instance"))


def test_pycocotools_loads_coco_and_masks_match(dataset):
    from pycocotools.coco import COCO

    coco = COCO(str(dataset / "coco" / "annotations.json"))
    ds = NativeDataset(dataset)
    assert sorted(coco.getImgIds()) == list(range(20))
    anns = coco.loadAnns(coco.getAnnIds())
    assert len(anns) > 20
    for a in anns:
        img = coco.loadImgs(a["image_id"])[0]
        assert (dataset / img["file_name"]).is_file()
        inst = ds.array(a["image_id"], "instance")
        slot = (a["id"] - 1) % 13
        assert np.array_equal(coco.annToMask(a).astype(bool), inst == slot)
        x, y, w, h = a["bbox"]
        rec_obj = next(o for o in ds.label(a["image_id"])["objects"] if o["id"] == slot)
        assert [x, y, x + w, y + h] == rec_obj["bbox"] and a["area"] == rec_obj["pixels"]
        assert len(a["keypoints"]) == 27


def test_bop_follows_the_toolkit_conventions(dataset):
    ds = NativeDataset(dataset)
    scene = dataset / "bop" / "train_pbr" / "000001"
    gt = json.loads((scene / "scene_gt.json").read_text())
    cams = json.loads((scene / "scene_camera.json").read_text())
    info = json.loads((scene / "scene_gt_info.json").read_text())
    rec = ds.label(8)  # chunk 1, image 0
    target = next(o for o in rec["objects"] if o["role"] == "target")
    g = gt["0"][0]
    pose = pose_matrix(target["position_camera"], target["quaternion_camera"])
    assert np.allclose(np.asarray(g["cam_t_m2c"]), pose[:3, 3] * 1000.0, atol=1e-3)  # millimetres
    assert np.allclose(np.asarray(g["cam_R_m2c"]).reshape(3, 3), pose[:3, :3], atol=1e-6)
    assert g["obj_id"] == 1
    depth = read_png_any(str(scene / "depth" / "000000.png")).astype(np.float64) * cams["0"]["depth_scale"]  # mm
    assert np.abs(depth / 1000.0 - ds.array(8, "depth")).max() < 1e-4
    mask = read_png_any(str(scene / "mask_visib" / "000000_000000.png"))
    assert np.array_equal(mask == 255, ds.array(8, "instance") == TARGET)
    assert info["0"][0]["px_count_visib"] == target["pixels"]
    models = json.loads((dataset / "bop" / "models" / "models_info.json").read_text())
    assert abs(models["1"]["size_x"] - 50.0) < 1e-3  # the 5 cm cube, in millimetres


def test_preview_and_info_run(dataset, tmp_path, capsys):
    assert main(["preview", str(dataset), "--out", str(tmp_path / "p.png"), "--count", "4"]) == 0
    assert (tmp_path / "p.png").stat().st_size > 1000
    assert main(["info", str(dataset)]) == 0
    assert "complete: 3/3 chunks" in capsys.readouterr().out


def test_labelled_folder_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match=r"labels\.jsonl"):
        read_labels_folder(tmp_path)
    (tmp_path / "labels.jsonl").write_text('{"image": "a.png", "target_position": [0, 0, 0]}\n{"image": 3\n')
    with pytest.raises(ValueError, match=r"line 1: image 'a\.png' does not exist"):
        read_labels_folder(tmp_path)
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        read_labels_folder(tmp_path)
