"""Labels read by other tools as they expect: one meaning of "visible", COCO's keypoint flags and
`num_keypoints`, mask values equal to object ids, YOLO labels that match the masks. A regression test for
each convention that was wrong, named after it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from domrand.config import load_config
from domrand.generate import GenerateOptions, generate
from domrand.io import NativeDataset, read_labels_folder
from domrand.io.images import read_png_any
from domrand.labels import KEYPOINT_TOL_EXTENT, KEYPOINT_TOL_M, KEYPOINT_TOL_PX

pycocotools = pytest.importorskip("pycocotools")

OVERRIDES = {
    "image_size": 64,
    "chunk_size": 16,
    "camera": {"eye": [0.0, -0.6, 0.25]},  # low: objects hide each other and reach past the borders
    "placement": {"distractor_count": {"kind": "intuniform", "low": 6, "high": 10}},
}


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    out = tmp_path_factory.mktemp("conv") / "ds"
    cfg = load_config(overrides=OVERRIDES)
    generate(
        cfg, GenerateOptions(out=out, num=32, formats=("native", "jsonl", "coco", "bop", "yolo"), quiet=True, seed=2)
    )
    return out


def depth_test_flags(obj, instance, depth, fx):
    """The keypoint rule of the README, written again: 0 outside the image; for a corner, 2 when a pixel of
    the object within one pixel has the keypoint's depth (within 2 mm + a pixel footprint, at most a quarter
    of the object's smallest extent); else 1 (the centre, inside the object, always)."""
    h, w = instance.shape
    flags = []
    for j, (u, v, z) in enumerate(obj["keypoints"]):
        px, py = int(np.floor(u + 0.5)), int(np.floor(v + 0.5))
        if not (z > 0 and 0 <= px < w and 0 <= py < h):
            flags.append(0)
            continue
        if j == 8:
            flags.append(1)
            continue
        tol = min(KEYPOINT_TOL_M + KEYPOINT_TOL_PX * z / fx, KEYPOINT_TOL_EXTENT * min(obj["extents"]))
        ys, xs = slice(max(py - 1, 0), py + 2), slice(max(px - 1, 0), px + 2)
        on = (instance[ys, xs] == obj["id"]) & (np.abs(depth[ys, xs] - z) <= tol)
        flags.append(2 if on.any() else 1)
    return flags


def test_cocoeval_of_the_ground_truth_as_detections_gives_ap_1(ds):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt = COCO(str(ds / "coco" / "annotations.json"))
    anns = gt.loadAnns(gt.getAnnIds())
    assert len({a["category_id"] for a in anns}) > 3
    fields = {"bbox": ("bbox",), "segm": ("segmentation",), "keypoints": ("keypoints",)}
    for iou_type, keep in fields.items():
        dets = [
            {"image_id": a["image_id"], "category_id": a["category_id"], "score": 1.0, **{k: a[k] for k in keep}}
            for a in anns
        ]
        if iou_type == "segm":
            dets = [{**d, "bbox": a["bbox"]} for d, a in zip(dets, anns)]
        e = COCOeval(gt, gt.loadRes(dets), iou_type)
        if iou_type == "keypoints":
            e.params.kpt_oks_sigmas = np.full(9, 0.05)
        e.evaluate()
        e.accumulate()
        e.summarize()
        assert e.stats[0] == pytest.approx(1.0), iou_type


def test_coco_keypoint_flags_agree_with_a_depth_test(ds):
    coco = json.loads((ds / "coco" / "annotations.json").read_text())
    native = NativeDataset(ds)
    counts = np.zeros(3, dtype=int)
    for a in coco["annotations"]:
        i = a["image_id"]
        rec = native.label(i)
        obj = next(o for o in rec["objects"] if a["id"] == i * len(native.manifest["slots"]) + o["id"] + 1)
        ref = depth_test_flags(obj, native.array(i, "instance"), native.array(i, "depth"), rec["camera"]["fx"])
        flags = a["keypoints"][2::3]
        assert flags == ref, (i, obj["id"])
        assert a["num_keypoints"] == sum(f > 0 for f in flags)
        counts += np.bincount(flags, minlength=3)
    assert counts.min() > 20, counts  # every flag occurs


def test_regression_coco_num_keypoints_counted_only_visible_ones(ds):
    coco = json.loads((ds / "coco" / "annotations.json").read_text())
    hidden = [a for a in coco["annotations"] if 1 in a["keypoints"][2::3]]
    assert hidden and all(a["num_keypoints"] > a["keypoints"][2::3].count(2) for a in hidden)


def test_regression_coco_occluded_keypoints_were_flagged_visible(ds):
    """A corner hidden by its own object or by another is flag 1 (all in-image corners were 2); the centre, inside
    the object, is never 2."""
    coco = json.loads((ds / "coco" / "annotations.json").read_text())
    centres = [a["keypoints"][26] for a in coco["annotations"]]
    assert set(centres) <= {0, 1} and 1 in centres
    cubes = [a for a in coco["annotations"] if a["role"] == "target" and a["visible_fraction"] == 1.0]
    assert cubes and all(1 in a["keypoints"][2:24:3] for a in cubes)  # a free-standing cube hides a corner


def test_regression_visible_fraction_ignored_the_part_outside_the_image(ds):
    """An object cut by the border is not fully visible: the fraction counts its whole silhouette."""
    native = NativeDataset(ds)
    cut = []
    for i in range(len(native)):
        for o in native.label(i)["objects"]:
            if o["in_frame_fraction"] < 0.9 and o["pixels"] > 0:
                cut.append(o)
                sil_in_image = o["in_frame_fraction"] * o["silhouette_pixels"]
                assert o["visible_fraction"] <= o["in_frame_fraction"] + 1e-9
                assert o["pixels"] <= sil_in_image + 1e-6
                x0, y0, x1, y1 = o["silhouette_bbox"]
                assert x0 < 0 or y0 < 0 or x1 > 64 or y1 > 64
    assert len(cut) >= 5
    coco = json.loads((ds / "coco" / "annotations.json").read_text())
    assert any(a["visible_fraction"] < 0.9 and a["in_frame_fraction"] < 0.9 for a in coco["annotations"])


def test_regression_jsonl_mask_held_slot_plus_one(ds):
    """`mask == obj["id"]` selects the object (the mask held slot + 1 while records said slot)."""
    native = NativeDataset(ds)
    for rec in read_labels_folder(ds)[:8]:
        mask = read_png_any(str(ds / rec["mask"]))
        inst = native.array(rec["index"], "instance")
        for o in rec["objects"]:
            assert np.array_equal(mask == o["id"], inst == o["id"])
        assert np.array_equal(mask == 255, inst < 0)


def test_regression_bop_bbox_obj_was_the_clipped_vertex_box(ds):
    """bbox_obj is the toolkit's: the whole silhouette, not clipped to the image (was the clipped box of
    the projected vertices); checked in full against the toolkit in test_bop_toolkit.py."""
    infos = [json.loads(p.read_text()) for p in sorted((ds / "bop" / "train_pbr").glob("*/scene_gt_info.json"))]
    boxes = [g["bbox_obj"] for info in infos for im in info.values() for g in im if g["px_count_visib"] > 0]
    assert boxes and all(b[2] >= 0 and b[3] >= 0 for b in boxes)


def test_regression_bop_bbox_visib_was_one_pixel_wider(ds):
    scene = ds / "bop" / "train_pbr" / "000000"
    info = json.loads((scene / "scene_gt_info.json").read_text())
    for im, entries in info.items():
        for j, g in enumerate(entries):
            m = read_png_any(str(scene / "mask_visib" / f"{int(im):06d}_{j:06d}.png")) > 0
            if not m.any():
                assert g["bbox_visib"] == [-1, -1, -1, -1]
                continue
            ys, xs = m.nonzero()
            assert g["bbox_visib"] == [xs.min(), ys.min(), xs.max() - xs.min(), ys.max() - ys.min()]
            assert g["px_count_visib"] == m.sum()


def test_regression_bop_px_count_valid_was_a_copy_of_px_count_visib(ds):
    """px_count_valid counts silhouette pixels with a depth value, occluded ones included."""
    infos = [json.loads(p.read_text()) for p in sorted((ds / "bop" / "train_pbr").glob("*/scene_gt_info.json"))]
    entries = [g for info in infos for im in info.values() for g in im]
    assert all(g["px_count_valid"] >= g["px_count_visib"] for g in entries)


def test_regression_bop_models_had_no_symmetries(ds):
    info = json.loads((ds / "bop" / "models" / "models_info.json").read_text())
    assert info["1"]["name"] == "cube" and len(info["1"]["symmetries_discrete"]) == 23


def test_yolo_labels_match_the_masks_and_the_coco_keypoints(ds):
    from pycocotools import mask as mask_utils

    manifest = json.loads((ds / "manifest.json").read_text())
    classes = manifest["classes"]
    coco = json.loads((ds / "coco" / "annotations.json").read_text())
    by_image: dict[int, list] = {}
    for a in coco["annotations"]:
        by_image.setdefault(a["image_id"], []).append(a)
    native = NativeDataset(ds)
    ious = []
    for i in range(8):
        inst = native.array(i, "instance")
        seg = (ds / "yolo" / "labels" / f"{i:06d}.txt").read_text().splitlines()
        pose = (ds / "yolo" / "pose" / "labels" / f"{i:06d}.txt").read_text().splitlines()
        anns = by_image.get(i, [])
        assert len(seg) == len(pose) == len(anns)
        for line_s, line_p, a in zip(seg, pose, anns):
            s, p = line_s.split(), line_p.split()
            assert classes[int(s[0])] == classes[int(p[0])] == coco["categories"][a["category_id"] - 1]["name"]
            poly = (np.array(s[1:], dtype=np.float64).reshape(-1, 2) * 64).reshape(-1).tolist()
            raster = mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects([poly], 64, 64))).astype(bool)
            m = inst == (a["id"] - 1 - i * len(manifest["slots"]))
            ious.append((raster & m).sum() / (raster | m).sum())
            cx, cy, bw, bh = (float(v) * 64 for v in p[1:5])
            x, y, w, h = a["bbox"]
            assert np.allclose([cx - bw / 2, cy - bh / 2, bw, bh], [x, y, w, h], atol=1e-4)
            kps = np.array(p[5:], dtype=np.float64).reshape(9, 3)
            ref = np.array(a["keypoints"], dtype=np.float64).reshape(9, 3)
            assert np.array_equal(kps[:, 2], ref[:, 2]) and np.allclose(kps[:, :2] * 64, ref[:, :2], atol=1e-3)
    assert min(ious) > 0.9 and np.mean(ious) > 0.97, (min(ious), np.mean(ious))
    data = (ds / "yolo" / "pose" / "data.yaml").read_text()
    assert "kpt_shape: [9, 3]" in data and "names:" in data


def test_min_visible_pixels_leaves_out_tiny_objects_from_coco_and_yolo(tmp_path):
    out = tmp_path / "ds"
    cfg = load_config(overrides={**OVERRIDES, "output": {"min_visible_pixels": 30}})
    generate(cfg, GenerateOptions(out=out, num=16, formats=("native", "coco", "yolo"), quiet=True, seed=2))
    coco = json.loads((out / "coco" / "annotations.json").read_text())
    assert coco["annotations"] and min(a["area"] for a in coco["annotations"]) >= 30
    native = NativeDataset(out)
    kept = sum(o["pixels"] >= 30 for i in range(16) for o in native.label(i)["objects"])
    small = sum(0 < o["pixels"] < 30 for i in range(16) for o in native.label(i)["objects"])
    yolo = sum(len((out / "yolo" / "labels" / f"{i:06d}.txt").read_text().splitlines()) for i in range(16))
    assert len(coco["annotations"]) == kept == yolo and small > 0


def test_coco_polygons_rasterize_to_the_masks(tmp_path):
    from pycocotools.coco import COCO

    out = tmp_path / "ds"
    cfg = load_config(overrides={**OVERRIDES, "output": {"coco_segmentation": "polygon"}})
    generate(cfg, GenerateOptions(out=out, num=8, formats=("native", "coco"), quiet=True, seed=4))
    coco = COCO(str(out / "coco" / "annotations.json"))
    native = NativeDataset(out)
    slots = len(native.manifest["slots"])
    ious = []
    for a in coco.loadAnns(coco.getAnnIds()):
        assert isinstance(a["segmentation"], list) and a["iscrowd"] == 0
        m = native.array(a["image_id"], "instance") == (a["id"] - 1 - a["image_id"] * slots)
        r = coco.annToMask(a).astype(bool)
        ious.append((r & m).sum() / (r | m).sum())
    assert min(ious) > 0.85 and np.mean(ious) > 0.97, (min(ious), np.mean(ious))


def test_polygon_outline_holds_exactly_the_mask_pixel_centres():
    """Outer outlines minus holes, tested at every pixel centre (never on an edge: edges lie on integers),
    give back the mask exactly, for random masks with holes, islands and corner-touching pixels."""
    from matplotlib.path import Path as MplPath

    from domrand.io.polygons import outlines, signed_area

    rng = np.random.default_rng(1)
    ys, xs = np.mgrid[0:12, 0:15]
    centres = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], -1)
    for _ in range(50):
        m = rng.random((12, 15)) < 0.45
        count = np.zeros(m.size, np.int64)
        for loop in outlines(m):
            inside = MplPath(loop.astype(np.float64)).contains_points(centres)
            count += int(np.sign(signed_area(loop))) * inside
        assert np.array_equal(count.reshape(m.shape), m.astype(np.int64))


def test_regression_bop_distractor_rule_was_only_in_a_docstring():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme[readme.index("### Formats") : readme.index("```python\nfrom domrand.io import NativeDataset")]
    assert "ground truth = the targets" in table and "--bop-distractors" in table


def test_bop_distractors_need_sizes_on_a_grid_and_say_how():
    with pytest.raises(ValueError, match=r"placement.distractor_extent_step=0.01"):
        load_config(overrides={"output": {"bop_distractors": True}})
    cfg = load_config(overrides={"output": {"bop_distractors": True}, "placement": {"distractor_extent_step": 0.01}})
    from domrand.generate.runner import object_models

    models = object_models(cfg)
    grid = cfg.placement.extent_grid().tolist()
    assert len(models) == 1 + (len(cfg.world.mesh_bank().names) - 3) * len(grid) and models[0].name == "cube"
    assert {m.scale for m in models[1:]} == {float(g) for g in grid}


def test_compiled_outlines_equal_the_python_reference_point_for_point():
    from domrand.io.polygons import outlines, outlines_reference

    rng = np.random.default_rng(3)
    for _ in range(200):
        m = rng.random((int(rng.integers(1, 24)), int(rng.integers(1, 24)))) < rng.uniform(0.2, 0.8)
        a, b = outlines(m), outlines_reference(m)
        assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def test_yolo_lines_format_every_value_as_each_value_alone_would():
    """The YOLO writer formats a pose line with one "%" call (`POSE_FORMAT`) and an outline's vertices from a
    table of every pixel corner's text (`_axis_text`): the text must equal formatting each value alone ("{:.6f}"
    for a float of the corner divided by the image size, str for the visibility), ties and signed zeros included,
    for sizes whose corners are and are not exact binary fractions."""
    from domrand.io.yolo import KPT_SHAPE, POSE_FORMAT, _axis_text

    for w, h in ((128, 128), (96, 80), (640, 480), (7, 3)):
        xs, ys = _axis_text(w, h)
        assert xs == [f"{float(k) / float(w):.6f}" for k in range(w + 1)]
        assert ys == [f"{float(k) / float(h):.6f}" for k in range(h + 1)]
    assert _axis_text(128, 128)[0][1] == "0.007812"  # 0.0078125: a tie, to even
    rng = np.random.default_rng(0)
    tricky = [0.0, -0.0, 1e-7, -5e-7, 0.0078125, 0.5, 0.9999995, 1.0, 2.5e-7, 1 / 3, 127 / 128, -1.25]
    line = rng.uniform(0, 1, 4).tolist()
    for k in range(KPT_SHAPE[0]):
        line += [tricky[k], tricky[k + 1], k % 3]
    assert POSE_FORMAT % tuple(line) == " ".join(f"{v:.6f}" if isinstance(v, float) else str(v) for v in line)
