"""YOLO (Ultralytics) layout: detection and segmentation labels, and a pose dataset of the 9 box keypoints.

    DIR/yolo/data.yaml               path, train / val (images), names: the classes (detect and segment)
    DIR/yolo/images/000012.png       images
    DIR/yolo/labels/000012.txt       one line an object: class x1 y1 x2 y2 ... (its mask's outline, normalised)
    DIR/yolo/pose/data.yaml          the same classes, kpt_shape: [9, 3] (pose)
    DIR/yolo/pose/images/000012.png  the same images (hard links where the file system allows)
    DIR/yolo/pose/labels/000012.txt  one line an object: class cx cy w h, then x y v for the 8 corners of its
                                     3D box and its centre (normalised; v: 2 visible, 1 hidden, 0 outside)

Ultralytics finds an image's labels by swapping `images` for `labels` in its path, and a detection or
segmentation label is an outline while a pose label is a box and keypoints, so the two tasks get a folder
each. Class ids index the dataset's classes (`manifest.json` "classes", sorted names). Boxes are the visible
mask's, in pixel edges; keypoints divide OpenCV pixel coordinates by the image size, as Ultralytics' COCO
converter does. One polygon per object: a mask in several parts is one outline joined by zero-width
bridges, holes filled (`io.polygons.single_polygon`). Objects with fewer visible pixels than
`output.min_visible_pixels` are left out (by default every visible one is kept). There is no `flip_idx`: a
mirrored image shows a mirrored box, which no reordering of its corners describes, so Ultralytics turns
left-right flips off for the pose dataset.

    yolo train data=DIR/yolo/data.yaml model=yolov8n-seg.yaml          # detection and segmentation
    yolo train data=DIR/yolo/pose/data.yaml model=yolov8n-pose.yaml    # box keypoints
"""

from __future__ import annotations

from typing import Any

from domrand.io.chunk import Chunk, Model
from domrand.io.files import for_each_file
from domrand.io.manifest import output_options
from domrand.io.polygons import single_polygon_corners

KPT_SHAPE = (9, 3)
#: A pose line after the class: the box (cx cy w h) and x y v of each keypoint, as "%" formats (one call a line:
#: the same text as formatting each value with "{:.6f}" or str, in about half the time).
POSE_FORMAT = " ".join(["%.6f"] * 4 + ["%.6f %.6f %d"] * KPT_SHAPE[0])
_AXES: dict[tuple[int, int], tuple[list[str], list[str]]] = {}


def _axis_text(w: int, h: int) -> tuple[list[str], list[str]]:
    """ "%.6f" of k / w for every pixel corner k in [0, w], and of k / h for [0, h] (an outline's vertices are
    pixel corners: a table lookup a vertex instead of formatting a float, the same text)."""
    if (w, h) not in _AXES:
        _AXES[(w, h)] = (["%.6f" % (k / w) for k in range(w + 1)], ["%.6f" % (k / h) for k in range(h + 1)])
    return _AXES[(w, h)]


def _yaml(classes: list[str], extra: str = "") -> bytes:
    names = "".join(f"  {i}: {name}\n" for i, name in enumerate(classes))
    text = (
        "# domrand dataset in the Ultralytics layout (see domrand.io.yolo). No `path`: Ultralytics then reads\n"
        "# train and val relative to this file's folder.\n"
        "train: images\nval: images\n"
        f"{extra}names:\n{names}"
    )
    return text.encode()


class YoloWriter:
    """Writes images and per-image label files for Ultralytics; `finalize` writes the two data.yaml files."""

    name = "yolo"

    def __init__(self, store: Any, manifest: dict[str, Any], models: tuple[Model, ...] = ()) -> None:
        self.store = store
        self.classes = list(manifest["classes"])
        self.class_id = {name: i for i, name in enumerate(self.classes)}
        self.min_pixels = max(1, int(output_options(manifest)["min_visible_pixels"]))

    def write_chunk(self, chunk: Chunk) -> None:
        h, w = chunk.rgb.shape[1:3]
        xs, ys = _axis_text(w, h)
        labels: list[tuple[int, int, str, str]] = []
        for i, rec in enumerate(chunk.records()):
            idx = chunk.first + i
            seg, pose = [], []
            for obj in rec["objects"]:
                if obj["pixels"] < self.min_pixels or obj["class"] not in self.class_id:  # user distractors: no class
                    continue
                c = self.class_id[obj["class"]]
                x0, y0, x1, y1 = obj["bbox"]
                ix, iy = int(x0), int(y0)  # the outline of the object's box alone, moved back: the same corners
                corners = single_polygon_corners(chunk.instance[i, iy : int(y1), ix : int(x1)] == obj["id"])
                seg.append(f"{c} " + " ".join([f"{xs[x + ix]} {ys[y + iy]}" for x, y in corners.tolist()]))
                line = [(x0 + x1) / 2 / w, (y0 + y1) / 2 / h, (x1 - x0) / w, (y1 - y0) / h]
                for (u, v, _), seen in zip(obj["keypoints"], obj["keypoint_visibility"]):
                    line += [u / w, v / h, int(seen)] if seen else [0.0, 0.0, 0]
                pose.append(f"{c} " + POSE_FORMAT % tuple(line))
            labels.append((idx, i, "".join(line + "\n" for line in seg), "".join(line + "\n" for line in pose)))

        def files(job: tuple[int, int, str, str]) -> None:
            idx, i, seg, pose = job
            image = f"yolo/images/{idx:06d}.png"
            png = chunk.rgb_png(i)
            self.store.write(image, png, sync=False)
            self.store.write_copy(f"yolo/pose/images/{idx:06d}.png", image, png)
            self.store.write(f"yolo/labels/{idx:06d}.txt", seg.encode(), sync=False)
            self.store.write(f"yolo/pose/labels/{idx:06d}.txt", pose.encode(), sync=False)

        for_each_file(self.store, files, labels)

    def finalize(self, num_chunks: int) -> None:
        self.store.write("yolo/data.yaml", _yaml(self.classes))
        self.store.write("yolo/pose/data.yaml", _yaml(self.classes, f"kpt_shape: [{KPT_SHAPE[0]}, {KPT_SHAPE[1]}]\n"))
