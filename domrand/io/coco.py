"""COCO: instance boxes, masks and 9 keypoints (the 8 corners of each object's 3D box and its centre).

DIR/coco/annotations.json   images, annotations, categories (one per class; assembled from the parts at the end)
DIR/coco/parts/000000.json  one chunk's images and annotations
DIR/rgb/000012.png          images (shared with the jsonl format), `file_name` is relative to DIR

Masks are RLE (exact), or polygons with `output.coco_segmentation: polygon` (pixel-edge outlines; holes
filled). Keypoints are in pixel-index coordinates (pixel centres at integers, as COCO's are) with the
spec's flags: 2 visible, 1 labelled but hidden (occluded, or off the object: the centre always is), 0
outside the image (`labels.keypoint_visibility`); `num_keypoints` counts the flags above 0. Objects with
fewer visible pixels than `output.min_visible_pixels` are left out (by default every visible one is kept).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domrand.io import rle
from domrand.io.chunk import Chunk, Model
from domrand.io.files import dumpb
from domrand.io.manifest import output_options
from domrand.io.polygons import coco_polygons

KEYPOINT_NAMES = [f"corner_{x}{y}{z}" for x in "-+" for y in "-+" for z in "-+"] + ["centre"]
# Edges of the box between corners that differ in one coordinate (1-based, COCO style).
SKELETON = [[a + 1, b + 1] for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]


def categories(classes: list[str]) -> list[dict[str, Any]]:
    return [
        {"id": i + 1, "name": name, "supercategory": "object", "keypoints": KEYPOINT_NAMES, "skeleton": SKELETON}
        for i, name in enumerate(classes)
    ]


class CocoWriter:
    """Writes images and per-chunk COCO parts; `finalize` streams them into `coco/annotations.json`."""

    name = "coco"

    def __init__(self, store: Any, manifest: dict[str, Any], models: tuple[Model, ...] = ()) -> None:
        self.store = store
        self.classes = list(manifest["classes"])
        self.category = {name: i + 1 for i, name in enumerate(self.classes)}
        self.slots = len(manifest["slots"])
        opts = output_options(manifest)
        self.min_pixels = max(1, int(opts["min_visible_pixels"]))
        self.polygons = opts["coco_segmentation"] == "polygon"
        # jsonl runs first and writes the same rgb/*.png (`make_writers`): asked once of the dataset's formats, not
        # of each file (a stat an image)
        self.writes_images = "jsonl" not in manifest.get("formats", ())

    def write_chunk(self, chunk: Chunk) -> None:
        images, anns = [], []
        h, w = chunk.rgb.shape[1:3]

        # in turn: the PNGs are encoded already (`Chunk.rgb_pngs`), threads would only add GIL switches
        for i in range(chunk.count) if self.writes_images else ():
            name = f"rgb/{chunk.first + i:06d}.png"
            self.store.write(name, chunk.rgb_png(i), sync=False)
        for i, rec in enumerate(chunk.records()):
            idx = chunk.first + i
            name = f"rgb/{idx:06d}.png"
            images.append({"id": idx, "file_name": name, "width": int(w), "height": int(h)})
            for obj in rec["objects"]:
                if obj["pixels"] < self.min_pixels or obj["class"] not in self.category:  # user distractors: no class
                    continue
                x0, y0, x1, y1 = obj["bbox"]
                kps = []
                for (u, v, _), seen in zip(obj["keypoints"], obj["keypoint_visibility"]):
                    kps += [round(u, 3), round(v, 3), seen] if seen else [0, 0, 0]
                anns.append(
                    {
                        "id": idx * self.slots + obj["id"] + 1, "image_id": idx, "category_id": self.category[obj["class"]],
                        "bbox": [x0, y0, x1 - x0, y1 - y0], "area": obj["pixels"], "iscrowd": 0,
                        "segmentation": coco_polygons(chunk.instance[i] == obj["id"]) if self.polygons else rle.encode_instance(chunk.instance[i], obj["id"], obj["bbox"]), "keypoints": kps,
                        "num_keypoints": sum(1 for j in range(2, len(kps), 3) if kps[j] > 0),
                        "role": obj["role"], "visible_fraction": obj["visible_fraction"], "in_frame_fraction": obj["in_frame_fraction"],
                        "position_camera": obj["position_camera"], "quaternion_camera": obj["quaternion_camera"],
                    }
                )  # fmt: skip
        body = dumpb(images)[1:-1] + b"\n" + dumpb(anns)[1:-1] + b"\n"
        self.store.write(f"coco/parts/{chunk.index:06d}.json", body, sync=False)

    def finalize(self, num_chunks: int) -> None:
        """Stream the parts into annotations.json: images of every part, then annotations (constant memory)."""
        parts = [f"coco/parts/{k:06d}.json" for k in range(num_chunks)]
        info = {"description": "domrand synthetic dataset", "keypoints": KEYPOINT_NAMES}
        with self.store.stream("coco/annotations.json") as f:
            f.write(b'{"info":' + dumpb(info) + b',"categories":' + dumpb(categories(self.classes)) + b',"images":[')
            for section, opener in ((0, b""), (1, b'],"annotations":[')):
                f.write(opener)
                first = True
                for p in parts:
                    with self.store.open(p) as part:
                        body = part.readline() if section == 0 else (part.readline(), part.readline())[1]
                    body = body.rstrip(b"\n")
                    if body:
                        f.write(body if first else b"," + body)
                        first = False
            f.write(b"]}\n")


def load(root: str | Path) -> dict[str, Any]:
    """The assembled annotations.json (small datasets; use pycocotools.coco.COCO for large ones)."""
    return json.loads((Path(root) / "coco" / "annotations.json").read_text())
