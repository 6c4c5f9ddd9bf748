"""BOP (bop.felk.cvut.cz) format: one BOP scene per chunk, millimetres, per the BOP toolkit's conventions.

    DIR/bop/camera.json                          the nominal camera (per-image cameras are in scene_camera.json)
    DIR/bop/models/obj_000001.ply, models_info.json   object models in millimetres, with their symmetries
    DIR/bop/train_pbr/000007/rgb/000000.png      images of chunk 7
    DIR/bop/train_pbr/000007/depth/000000.png    uint16 depth; depth_mm = value * depth_scale (0.1)
    DIR/bop/train_pbr/000007/mask/000000_000001.png        silhouette of GT 1 of image 0 in the image (255)
    DIR/bop/train_pbr/000007/mask_visib/000000_000001.png  its visible part (the toolkit's visibility test)
    DIR/bop/train_pbr/000007/scene_gt.json       cam_R_m2c (row-major 3x3), cam_t_m2c (mm), obj_id
    DIR/bop/train_pbr/000007/scene_camera.json   cam_K, depth_scale, cam_R_w2c, cam_t_w2c (mm)
    DIR/bop/train_pbr/000007/scene_gt_info.json  bbox_obj, bbox_visib ([x, y, w, h]), px_count_*, visib_fract

`scene_gt_info.json` and the masks are the BOP toolkit's own definitions (`io.bop_gt`: its
`calc_gt_info.py` and `calc_gt_masks.py` on the written depth image, the model drawn alone on a 3W x 3H
canvas), so they agree with what the toolkit computes from this folder.

Objects: BOP models have one size, so the ground truth lists the objects drawn at a model's size. These are
the targets (obj_id 1, 2, ... in the order of the world's target meshes); the distractors, drawn at random
sizes, are clutter that hides targets (they are in no mask). With `output.bop_distractors` (and distractor
sizes on a grid, `placement.distractor_extent_step`) every distractor mesh at every size is an object of its
own, numbered after the targets (models_info.json names each one `<mesh>@<extent in mm>mm`).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from domrand.io.bop_gt import clear_canvas, gt_info, model_depth
from domrand.io.chunk import Chunk, Model
from domrand.io.files import TMP_SUFFIX, dumpb
from domrand.io.images import encode_png_depth, encode_png_masks
from domrand.io.symmetry import symmetries
from domrand.labels import pose_matrix

DEPTH_SCALE = 0.1  # BOP PBR convention: depth PNG value * 0.1 = millimetres


def obj_ids(models: tuple[Model, ...]) -> dict[tuple[int, float], int]:
    """BOP obj_id (1, 2, ...) of each model, keyed by (mesh bank index, scale)."""
    return {(m.index, m.scale): i + 1 for i, m in enumerate(models)}


def model_name(m: Model) -> str:
    return m.name if m.scale == 1.0 else f"{m.name}@{round(m.scale * 1000.0, 3):g}mm"


class BopWriter:
    """Writes each chunk as a BOP scene folder, renamed into place whole."""

    name = "bop"

    def __init__(self, store: Any, manifest: dict[str, Any], models: tuple[Model, ...] = ()) -> None:
        self.store, self.manifest, self.models = store, manifest, models
        self.ids = obj_ids(models)
        self.mm = {self.ids[(m.index, m.scale)]: _model_mm(m) for m in models}
        self.canvas: np.ndarray | None = None  # `model_depth`'s canvas, reused: zero but where the last model drew
        # jsonl or coco (which run first, `make_writers`) write this chunk's rgb/*.png: linked, not written again
        self.shares_images = bool({"jsonl", "coco"} & set(manifest.get("formats", ())))

    def _obj_id(self, mesh: int, scale: list[float]) -> int | None:
        """The obj_id of an instance of bank mesh `mesh` at per-axis `scale`, if a model has that size."""
        if not scale[0] == scale[1] == scale[2]:
            return None
        for (index, s), oid in self.ids.items():
            if index == mesh and abs(s - scale[0]) <= 1e-6 * max(1.0, s):
                return oid
        return None

    def write_chunk(self, chunk: Chunk) -> None:
        final = f"bop/train_pbr/{chunk.index:06d}"
        tmp = final + TMP_SUFFIX
        self.store.remove(tmp)
        a = chunk.label_arrays()
        records = chunk.records()
        out: list[tuple[list, dict, list]] = [([], {}, [])] * chunk.count
        depths = np.clip(np.round(chunk.depth * 1000.0 / DEPTH_SCALE), 0, 65535).astype(np.uint16)
        depths_mm = depths.astype(np.float64) * DEPTH_SCALE  # what the toolkit reads back
        h, w = depths.shape[1:]
        if self.canvas is None or self.canvas.shape != (3 * h, 3 * w):
            self.canvas = np.zeros((3 * h, 3 * w), dtype=np.float32)
        # every image's world-to-camera at once (the same LAPACK call per matrix as one at a time)
        w2cs = np.linalg.inv(np.asarray([rec["camera"]["cam_to_world"] for rec in records], dtype=np.float64))
        masks: list[np.ndarray] = []  # mask, mask_visib of every ground truth, in turn: encoded at once below
        names: list[str] = []

        def image(i: int) -> None:  # one image's ground truth and masks
            rec = records[i]
            depth_mm = depths_mm[i]
            c = rec["camera"]
            k = np.array([[c["fx"], 0.0, c["cx"]], [0.0, c["fy"], c["cy"]], [0.0, 0.0, 1.0]])
            w2c = w2cs[i]
            cam = {
                "cam_K": k.reshape(-1).tolist(), "depth_scale": DEPTH_SCALE,
                "cam_R_w2c": w2c[:3, :3].reshape(-1).tolist(), "cam_t_w2c": (w2c[:3, 3] * 1000.0).tolist(),
            }  # fmt: skip
            gt, info = [], []
            for obj in rec["objects"]:
                oid = self._obj_id(int(a["mesh"][i, obj["id"]]), obj["scale"])
                if oid is None:
                    continue
                pose = pose_matrix(obj["position_camera"], obj["quaternion_camera"])
                r, t_mm = pose[:3, :3], pose[:3, 3] * 1000.0
                entry = {"cam_R_m2c": r.reshape(-1).tolist(), "cam_t_m2c": t_mm.tolist(), "obj_id": oid}
                verts, faces = self.mm[oid]
                large, extent = model_depth(verts, faces, r, t_mm, k, depth_mm.shape, self.canvas)
                g = gt_info(depth_mm, large, extent, k)
                clear_canvas(large, extent)
                j = len(gt)
                gt.append(entry)
                info.append(g.info)
                masks.extend((g.mask, g.mask_visib))
                names.extend((f"mask/{i:06d}_{j:06d}.png", f"mask_visib/{i:06d}_{j:06d}.png"))
            out[i] = (gt, cam, info)

        for i in range(chunk.count):  # in turn: an image is mostly small numpy steps that hold the GIL, and threads
            image(i)  # fighting over it cost 60 % more CPU (1.3 ms an image of system time) for no gain in time
        # straight under their names: the folder is renamed into place whole
        w = lambda rel, data: self.store.write(f"{tmp}/{rel}", data, sync=False, atomic=False)  # noqa: E731
        mask_pngs = encode_png_masks(np.stack(masks).astype(np.uint8) * np.uint8(255)) if masks else []
        depth_pngs = encode_png_depth(depths)  # the chunk at once, on the kernel threads
        for i in range(chunk.count):
            if self.shares_images:  # a hard link where the file system allows
                shared = f"rgb/{chunk.first + i:06d}.png"
                self.store.write_copy(f"{tmp}/rgb/{i:06d}.png", shared, chunk.rgb_png(i), atomic=False)
            else:
                w(f"rgb/{i:06d}.png", chunk.rgb_png(i))
            w(f"depth/{i:06d}.png", depth_pngs[i])
        for name, png in zip(names, mask_pngs):
            w(name, png)
        gt = {str(i): o[0] for i, o in enumerate(out)}
        cams = {str(i): o[1] for i, o in enumerate(out)}
        info = {str(i): o[2] for i, o in enumerate(out)}
        self.store.write(f"{tmp}/scene_gt.json", dumpb(gt), sync=False)
        self.store.write(f"{tmp}/scene_camera.json", dumpb(cams), sync=False)
        self.store.write(f"{tmp}/scene_gt_info.json", dumpb(info), sync=False)
        self.store.replace_folder(tmp, final)

    def finalize(self, num_chunks: int) -> None:
        """The scene-independent files: the models and the nominal camera (from the manifest)."""
        write_models(self.store, "bop/models", self.models)
        camera = {**self.manifest["nominal_camera"], "depth_scale": DEPTH_SCALE}
        self.store.write("bop/camera.json", (json.dumps(camera, sort_keys=True, indent=2) + "\n").encode())


def _model_mm(model: Model) -> tuple[np.ndarray, np.ndarray]:
    """The model's vertices in millimetres as the PLY stores them (6 decimals), and its faces (int64)."""
    v = np.round(model.vertices.astype(np.float64) * 1000.0, 6)
    return v, np.ascontiguousarray(model.faces, dtype=np.int64)


def write_models(store: Any, folder: str, models: tuple[Model, ...]) -> None:
    """PLY models (millimetres) and models_info.json (extents, diameter, symmetries) of `models`."""
    info = {}
    for oid, model in enumerate(models, 1):
        v, f = _model_mm(model)
        n = model.normals.astype(np.float64)
        header = f"ply\nformat ascii 1.0\ncomment domrand mesh {model_name(model)}, millimetres\nelement vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\nproperty float nx\nproperty float ny\nproperty float nz\nelement face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n"
        body = "".join(
            f"{a:.6f} {b:.6f} {c:.6f} {d:.6f} {e:.6f} {g:.6f}\n" for (a, b, c), (d, e, g) in zip(v.tolist(), n.tolist())
        )
        body += "".join(f"3 {a} {b} {c}\n" for a, b, c in f.tolist())
        store.write(f"{folder}/obj_{oid:06d}.ply", (header + body).encode())
        lo, hi = v.min(0), v.max(0)
        diameter = (
            float(np.max(np.linalg.norm(v[:, None, :] - v[None, :, :], axis=-1)))
            if len(v) <= 2000
            else float(np.linalg.norm(hi - lo))
        )
        info[str(oid)] = {
            "diameter": diameter, "min_x": float(lo[0]), "min_y": float(lo[1]), "min_z": float(lo[2]),
            "size_x": float(hi[0] - lo[0]), "size_y": float(hi[1] - lo[1]), "size_z": float(hi[2] - lo[2]),
            "name": model_name(model), **symmetries(v),
        }  # fmt: skip
    store.write(f"{folder}/models_info.json", (json.dumps(info, sort_keys=True, indent=2) + "\n").encode())
