"""BOP (bop.felk.cvut.cz) format: one BOP scene per chunk, millimetres, per the BOP toolkit's conventions.

    DIR/bop/camera.json                          the nominal camera (per-image cameras are in scene_camera.json)
    DIR/bop/models/obj_000001.ply, models_info.json   object models in millimetres
    DIR/bop/train_pbr/000007/rgb/000000.png      images of chunk 7
    DIR/bop/train_pbr/000007/depth/000000.png    uint16 depth; depth_mm = value * depth_scale (0.1)
    DIR/bop/train_pbr/000007/mask_visib/000000_000001.png  visible mask of GT 1 of image 0 (255 = object)
    DIR/bop/train_pbr/000007/scene_gt.json       cam_R_m2c (row-major 3x3), cam_t_m2c (mm), obj_id
    DIR/bop/train_pbr/000007/scene_camera.json   cam_K, depth_scale, cam_R_w2c, cam_t_w2c (mm)
    DIR/bop/train_pbr/000007/scene_gt_info.json  bbox_obj, bbox_visib ([x, y, w, h]), px_count_*, visib_fract

Object ids: obj_id = mesh bank index - 1 (the first object mesh, the target, is obj_id 1). BOP models
have a fixed size, so ground truth covers the objects drawn at their model's size (the targets);
randomly scaled distractors are clutter here (their pixels are not in any target's mask).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from domrand.io.chunk import Chunk, Model
from domrand.io.files import TMP_SUFFIX, dumps
from domrand.io.images import encode_png
from domrand.labels import pose_matrix

DEPTH_SCALE = 0.1  # BOP PBR convention: depth PNG value * 0.1 = millimetres
FIRST_OBJECT_MESH = 2  # bank indices 0 and 1 are the table and the floor


def _xywh(box: list[float] | None) -> list[int]:
    if box is None:
        return [-1, -1, -1, -1]
    x0, y0, x1, y1 = (math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3]))
    return [x0, y0, x1 - x0, y1 - y0]


class BopWriter:
    """Writes each chunk as a BOP scene folder, renamed into place whole."""

    name = "bop"

    def __init__(self, store: Any, manifest: dict[str, Any], models: tuple[Model, ...] = ()) -> None:
        self.store, self.manifest, self.models = store, manifest, models

    def write_chunk(self, chunk: Chunk) -> None:
        final = f"bop/train_pbr/{chunk.index:06d}"
        tmp = final + TMP_SUFFIX
        self.store.remove(tmp)
        w = lambda rel, data: self.store.write(f"{tmp}/{rel}", data)  # noqa: E731
        a = chunk.label_arrays()
        gt, cams, info = {}, {}, {}
        for i, rec in enumerate(chunk.records()):
            w(f"rgb/{i:06d}.png", encode_png(chunk.rgb[i]))
            d = np.clip(np.round(chunk.depth[i] * 1000.0 / DEPTH_SCALE), 0, 65535).astype(np.uint16)
            w(f"depth/{i:06d}.png", encode_png(d))
            c = rec["camera"]
            w2c = np.linalg.inv(np.asarray(c["cam_to_world"], dtype=np.float64))
            cams[str(i)] = {
                "cam_K": [c["fx"], 0.0, c["cx"], 0.0, c["fy"], c["cy"], 0.0, 0.0, 1.0], "depth_scale": DEPTH_SCALE,
                "cam_R_w2c": w2c[:3, :3].reshape(-1).tolist(), "cam_t_w2c": (w2c[:3, 3] * 1000.0).tolist(),
            }  # fmt: skip
            gt[str(i)], info[str(i)] = [], []
            for j, obj in enumerate(o for o in rec["objects"] if o["scale"] == [1.0, 1.0, 1.0]):
                pose = pose_matrix(obj["position_camera"], obj["quaternion_camera"])
                m = int(a["mesh"][i, obj["id"]])
                gt[str(i)].append(
                    {
                        "cam_R_m2c": pose[:3, :3].reshape(-1).tolist(),
                        "cam_t_m2c": (pose[:3, 3] * 1000.0).tolist(),
                        "obj_id": m - FIRST_OBJECT_MESH + 1,
                    }
                )
                info[str(i)].append(
                    {
                        "bbox_obj": _xywh(obj["amodal_bbox"]), "bbox_visib": _xywh(obj["bbox"]), "px_count_all": int(a["silhouette"][i, obj["id"]]),
                        "px_count_valid": obj["pixels"], "px_count_visib": obj["pixels"], "visib_fract": obj["visible_fraction"],
                    }
                )  # fmt: skip
                mask = np.where(chunk.instance[i] == obj["id"], 255, 0).astype(np.uint8)
                w(f"mask_visib/{i:06d}_{j:06d}.png", encode_png(mask))
        w("scene_gt.json", dumps(gt).encode())
        w("scene_camera.json", dumps(cams).encode())
        w("scene_gt_info.json", dumps(info).encode())
        self.store.replace_folder(tmp, final)

    def finalize(self, num_chunks: int) -> None:
        """The scene-independent files: the models of the targets and the nominal camera (from the manifest)."""
        write_models(self.store, "bop/models", self.models)
        camera = {**self.manifest["nominal_camera"], "depth_scale": DEPTH_SCALE}
        self.store.write("bop/camera.json", (json.dumps(camera, sort_keys=True, indent=2) + "\n").encode())


def write_models(store: Any, folder: str, models: tuple[Model, ...]) -> None:
    """PLY models (millimetres) and models_info.json of `models`."""
    info = {}
    for model in models:
        v = model.vertices.astype(np.float64) * 1000.0
        n = model.normals.astype(np.float64)
        f = model.faces
        obj_id = model.index - FIRST_OBJECT_MESH + 1
        header = f"ply\nformat ascii 1.0\ncomment domrand mesh {model.name}, millimetres\nelement vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\nproperty float nz\nelement face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n"
        body = "".join(
            f"{a:.6f} {b:.6f} {c:.6f} {d:.6f} {e:.6f} {g:.6f}\n" for (a, b, c), (d, e, g) in zip(v.tolist(), n.tolist())
        )
        body += "".join(f"3 {a} {b} {c}\n" for a, b, c in f.tolist())
        store.write(f"{folder}/obj_{obj_id:06d}.ply", (header + body).encode())
        lo, hi = v.min(0), v.max(0)
        diameter = (
            float(np.max(np.linalg.norm(v[:, None, :] - v[None, :, :], axis=-1)))
            if len(v) <= 2000
            else float(np.linalg.norm(hi - lo))
        )
        info[str(obj_id)] = {
            "diameter": diameter, "min_x": lo[0], "min_y": lo[1], "min_z": lo[2],
            "size_x": hi[0] - lo[0], "size_y": hi[1] - lo[1], "size_z": hi[2] - lo[2], "name": model.name,
        }  # fmt: skip
    clean = {k: {kk: (float(vv) if not isinstance(vv, str) else vv) for kk, vv in d.items()} for k, d in info.items()}
    store.write(f"{folder}/models_info.json", (json.dumps(clean, sort_keys=True, indent=2) + "\n").encode())
