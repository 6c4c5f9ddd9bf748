"""COCO: instance boxes, RLE masks and 9 keypoints (the 8 corners of each object's 3D box and its centre).

DIR/coco/annotations.json   images, annotations, categories (assembled from the parts at the end)
DIR/coco/parts/000000.json  one chunk's images and annotations
DIR/rgb/000012.png          images (shared with the jsonl format), `file_name` is relative to DIR
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domrand.io import rle
from domrand.io.chunk import Chunk, Model
from domrand.io.files import dumps
from domrand.io.images import encode_png

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

    def write_chunk(self, chunk: Chunk) -> None:
        images, anns = [], []
        h, w = chunk.rgb.shape[1:3]
        for i, rec in enumerate(chunk.records()):
            idx = chunk.first + i
            name = f"rgb/{idx:06d}.png"
            if not self.store.exists(name):  # the jsonl writer may have written it already
                self.store.write(name, encode_png(chunk.rgb[i]))
            images.append({"id": idx, "file_name": name, "width": int(w), "height": int(h)})
            for obj in rec["objects"]:
                if obj["pixels"] == 0:
                    continue
                x0, y0, x1, y1 = obj["bbox"]
                kps = []
                for u, v, z in obj["keypoints"]:
                    seen = 2 if (z > 0 and 0 <= u < w and 0 <= v < h) else (1 if z > 0 else 0)
                    kps += [round(u, 3), round(v, 3), seen] if seen else [0, 0, 0]
                anns.append(
                    {
                        "id": idx * self.slots + obj["id"] + 1, "image_id": idx, "category_id": self.category[obj["class"]],
                        "bbox": [x0, y0, x1 - x0, y1 - y0], "area": obj["pixels"], "iscrowd": 0,
                        "segmentation": rle.encode(chunk.instance[i] == obj["id"]), "keypoints": kps,
                        "num_keypoints": sum(1 for j in range(2, len(kps), 3) if kps[j] == 2),
                        "role": obj["role"], "visible_fraction": obj["visible_fraction"],
                        "position_camera": obj["position_camera"], "quaternion_camera": obj["quaternion_camera"],
                    }
                )  # fmt: skip
        body = dumps(images)[1:-1] + "\n" + dumps(anns)[1:-1] + "\n"
        self.store.write(f"coco/parts/{chunk.index:06d}.json", body.encode())

    def finalize(self, num_chunks: int) -> None:
        """Stream the parts into annotations.json: images of every part, then annotations (constant memory)."""
        parts = [f"coco/parts/{k:06d}.json" for k in range(num_chunks)]
        info = {"description": "domrand synthetic dataset", "keypoints": KEYPOINT_NAMES}
        with self.store.stream("coco/annotations.json") as f:
            f.write(
                ('{"info":' + dumps(info) + ',"categories":' + dumps(categories(self.classes)) + ',"images":[').encode()
            )
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
