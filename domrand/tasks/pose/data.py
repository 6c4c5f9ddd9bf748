"""Pose training and evaluation data: images and target positions from a native dataset or a labelled folder."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor

from domrand.io.images import read_image
from domrand.io.jsonl import read_labels_folder
from domrand.tasks.pose.camera import CameraBatch, PinholeCamera
from domrand.world import TARGET


def resize(images: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W, 3) uint8 -> (N, size, size, 3) uint8 (area interpolation when shrinking)."""
    if images.shape[1] == size and images.shape[2] == size:
        return images
    interp = cv2.INTER_AREA if images.shape[1] > size else cv2.INTER_LINEAR
    return np.stack([cv2.resize(im, (size, size), interpolation=interp) for im in images])


def _array(index: dict, data: np.ndarray, name: str) -> np.ndarray:
    """Array `name` of a shard (its index and memory-mapped bytes)."""
    meta = index["arrays"][name]
    dtype = np.dtype(np.uint8 if meta["dtype"] == "bool" else meta["dtype"])
    n = int(np.prod(meta["shape"])) * dtype.itemsize
    return data[meta["offset"] : meta["offset"] + n].view(dtype).reshape(meta["shape"])


def _shards(root: Path):
    """Each native shard of a dataset, in order: its index (JSON) and an array reader (`_array` by name)."""
    for index_path in sorted((root / "native").glob("*.json")):
        index = json.loads(index_path.read_text())
        data = np.memmap(index_path.with_suffix(".bin"), dtype=np.uint8, mode="r")
        yield index, functools.partial(_array, index, data)


def load_native(
    root: str | Path,
    size: int,
    limit: int | None = None,
    with_uv: bool = False,
    plane: Tensor | None = None,
    target: str | None = None,
) -> tuple:
    """All images (N, size, size, 3) uint8 and target positions (N, 3) float32 of a native dataset, read
    shard by shard straight from the raw arrays, and the manifest; with `with_uv`, also the target
    centre's image position (N, 2) in [-1, 1] (pixel-edge convention), after the manifest, and with
    `plane` (P, 3) world points, their image positions (N, P, 2) through each image's camera, after that.
    In a world of user classes, `target` names the class: its first instance is the target, and images
    without it are left out."""
    from domrand.tasks.pose.model import project

    root = Path(root)
    mpath = root / "manifest.json"
    if not mpath.is_file():
        raise ValueError(
            f"{str(root)!r} is neither a domrand dataset (no manifest.json) nor a labelled folder (no labels.jsonl)"
        )
    manifest = json.loads(mpath.read_text())
    if "native" not in manifest.get("formats", []):
        raise ValueError(
            f"dataset {str(root)!r} has no native shards (formats: {manifest.get('formats')}); read its labels.jsonl instead"
        )
    slot = target_slot(manifest, target)
    images, positions, uvs, planes = [], [], [], []
    count = 0
    for index, arr in _shards(root):
        keep = np.asarray(arr("label.present")[:, slot], dtype=bool)
        images.append(resize(np.array(arr("rgb"))[keep], size))
        positions.append(np.array(arr("label.position")[:, slot], dtype=np.float32)[keep])
        if with_uv:
            h, w = index["arrays"]["rgb"]["shape"][1:3]
            kp = np.array(arr("label.keypoints")[:, slot, 8, :2], dtype=np.float32)[keep]
            uvs.append(np.stack([(kp[:, 0] + 0.5) / w * 2 - 1, (kp[:, 1] + 0.5) / h * 2 - 1], -1))
            if plane is not None:
                k = torch.from_numpy(np.array(arr("label.intrinsics"), dtype=np.float32)[keep])
                c2w = torch.from_numpy(np.array(arr("label.cam_to_world"), dtype=np.float32)[keep])
                planes.append(project(plane, k, c2w, w, h).numpy())
        count += len(images[-1])
        if limit is not None and count >= limit:
            break
    if not images:
        raise ValueError(f"dataset {str(root)!r} holds no finished chunks")
    img, pos = np.concatenate(images), np.concatenate(positions)
    uv = np.concatenate(uvs) if with_uv else None
    pl = np.concatenate(planes) if with_uv and plane is not None else None
    if limit is not None:
        img, pos = img[:limit], pos[:limit]
        uv = None if uv is None else uv[:limit]
        pl = None if pl is None else pl[:limit]
    if with_uv and pl is not None:
        return torch.from_numpy(img), torch.from_numpy(pos), manifest, torch.from_numpy(uv), torch.from_numpy(pl)
    if with_uv:
        return torch.from_numpy(img), torch.from_numpy(pos), manifest, torch.from_numpy(uv)
    return torch.from_numpy(img), torch.from_numpy(pos), manifest


def target_slot(manifest: dict, target: str | None) -> int:
    """The slot of the pose target in a dataset: TARGET, or in a world of user classes the first instance of
    class `target` (one ValueError naming the classes when it is not one)."""
    classes = manifest.get("object_classes")
    if classes is None:
        return TARGET
    if target not in classes:
        raise ValueError(f"--target {target!r} is not a class of this dataset; its classes: {classes}")
    h, w = manifest["image_size"]
    if h != w:
        raise ValueError(
            f"the pose model reads square images and this dataset's are {w} x {h}: generate the training data with "
            "image_size and the look-at camera's fov_deg (no camera.intrinsics)"
        )
    return int(manifest["slots"].index(f"{target}_0"))


def load_folder(root: str | Path, size: int) -> tuple[Tensor, Tensor, list[dict]]:
    """Images (resized) and target positions of a labelled folder (`labels.jsonl`), with the records (each
    with "image_size": the image's [width, height] as stored)."""
    recs = read_labels_folder(root)
    images = []
    for r in recs:
        im = read_image(r["image"])
        r["image_size"] = [int(im.shape[1]), int(im.shape[0])]
        images.append(resize(im[None], size)[0])
    images = np.stack(images)
    positions = np.asarray([r["target_position"] for r in recs], dtype=np.float32)
    return torch.from_numpy(images), torch.from_numpy(positions), recs


def square_crop(image: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int] | None]:
    """The centred square of an (H, W, 3) image and its (x0, y0, side), or the image and None if it is square.

    The model reads square images of a camera centred on its optical axis: cropping (rather than squashing)
    keeps the pixels square and the principal point where it was relative to the crop's centre."""
    h, w = image.shape[:2]
    if h == w:
        return image, None
    side = min(h, w)
    x0, y0 = (w - side) // 2, (h - side) // 2
    return image[y0 : y0 + side, x0 : x0 + side], (x0, y0, side)


def load_folder_for_training(root: str | Path, size: int, plane: Tensor | None = None) -> tuple:
    """A labelled folder (your own photos, or domrand's jsonl output) as training data: what `load_native`
    gives with `with_uv` (images, positions, manifest (None), target image positions (N, 2) in [-1, 1], and
    with `plane` its points' image positions (N, P, 2)). Every record needs its "camera" (fx, fy, cx, cy,
    width, height, cam_to_world): the heatmap is taught where the target's centre is in the image. Non-square
    images are read as their centred square (`square_crop`), as `domrand predict pose` reads them."""
    from domrand.tasks.pose.camera import PinholeCamera
    from domrand.tasks.pose.model import project

    recs = read_labels_folder(root)
    images, uvs, planes = [], [], []
    for n, r in enumerate(recs, 1):
        if not isinstance(r.get("camera"), dict):
            raise ValueError(
                f'{str(Path(root) / "labels.jsonl")!r} line {n}: training needs each image\'s "camera" (fx, fy, cx, cy, '
                "width, height, cam_to_world), to know where the target's centre is in the image"
            )
        cam = PinholeCamera.from_json(r["camera"], f"line {n} of labels.jsonl")
        full = read_image(r["image"])
        if (full.shape[1], full.shape[0]) != (int(cam.width), int(cam.height)):
            raise ValueError(
                f"line {n} of labels.jsonl: image {r['image']!r} is {full.shape[1]} x {full.shape[0]} pixels but its "
                f"camera is for {int(cam.width)} x {int(cam.height)} images"
            )
        im, crop = square_crop(full)
        x0, y0, side = crop or (0, 0, im.shape[1])
        k = torch.tensor([[cam.fx, 0.0, cam.cx - x0], [0.0, cam.fy, cam.cy - y0], [0.0, 0.0, 1.0]])[None]
        c2w = torch.as_tensor(cam.cam_to_world, dtype=torch.float32)[None]
        target = torch.tensor([r["target_position"]], dtype=torch.float32)
        uvs.append(project(target, k, c2w, side, side)[0, 0].numpy())
        if plane is not None:
            planes.append(project(plane, k, c2w, side, side)[0].numpy())
        images.append(resize(im[None], size)[0])
    pos = torch.tensor([r["target_position"] for r in recs], dtype=torch.float32)
    out = (torch.from_numpy(np.stack(images)), pos, None, torch.from_numpy(np.stack(uvs)))
    return (*out, torch.from_numpy(np.stack(planes))) if plane is not None else out


def load_any(root: str | Path, size: int, target: str | None = None) -> tuple[Tensor, Tensor, dict | list]:
    """A native dataset if `root` has one (for a world of user classes, class `target`), else a labelled folder."""
    root = Path(root)
    if not root.exists():
        raise ValueError(f"data folder {str(root)!r} does not exist")
    if (root / "manifest.json").is_file() and (root / "native").is_dir():
        return load_native(root, size, target=target)
    return load_folder(root, size)


def native_cameras(root: str | Path, target: str | None = None) -> CameraBatch:
    """Every image's camera (its intrinsics and pose, at the size it was rendered) of a native dataset, in the
    order `load_native` reads the images (with the same `target`)."""
    parts = []
    slot = target_slot(json.loads((Path(root) / "manifest.json").read_text()), target)
    for index, arr in _shards(Path(root)):
        h, w = index["arrays"]["rgb"]["shape"][1:3]
        keep = np.asarray(arr("label.present")[:, slot], dtype=bool)
        k = torch.from_numpy(np.array(arr("label.intrinsics"), dtype=np.float64)[keep])
        c2w = torch.from_numpy(np.array(arr("label.cam_to_world"), dtype=np.float64)[keep])
        parts.append(CameraBatch.from_matrices(k, c2w, w, h))
    if not parts:
        raise ValueError(f"dataset {str(root)!r} holds no finished chunks")
    return CameraBatch(*(torch.cat([getattr(p, f) for p in parts]) for f in ("intrinsics", "size", "cam_to_world")))


def folder_cameras(records: list[dict]) -> CameraBatch:
    """Every image's camera of a labelled folder (each record's "camera"); one ValueError names the first
    image without a usable one."""
    cams = []
    for r in records:
        if "camera" not in r:
            raise ValueError(
                f'{r.get("image")!r} in labels.jsonl has no "camera" (fx, fy, cx, cy, width, height, cam_to_world)'
            )
        cams.append(PinholeCamera.from_json(r["camera"], where=f"the camera of {r.get('image')!r} in labels.jsonl"))
    return CameraBatch.of(cams)


def to_input(batch: Tensor) -> Tensor:
    """(B, S, S, 3) uint8 -> (B, 3, S, S) float32 in [0, 1]."""
    return batch.permute(0, 3, 1, 2).to(torch.float32).div_(255.0)


def data_identity(manifest: dict | None) -> dict | None:
    """Which draws a dataset holds: chunk k of seed s (with chunk size c) draws its scenes from the streams of
    (s, k), each randomizer from its own, so two datasets of one seed, chunk size and target share the target
    poses of their first chunks even where other settings (textures, noise, image size, distractors) differ.

    Returns:
        {"root_seed", "chunk_size", "target", "num_chunks"}, or None for data without a manifest."""
    if not manifest or "root_seed" not in manifest:
        return None
    config = manifest.get("config", {})
    return {
        "root_seed": manifest["root_seed"],
        "chunk_size": manifest["chunk_size"],
        "target": [config.get("task"), config.get("world", {}).get("target")],
        "num_chunks": manifest["num_chunks"],
    }


def shared_chunks(train: dict | None, other: dict | None) -> int:
    """How many chunks two datasets (`data_identity`) draw from the same streams: the first min(num_chunks)
    when seed, chunk size and target agree, else 0."""
    if not train or not other:
        return 0
    same = all(train[k] == other[k] for k in ("root_seed", "chunk_size", "target"))
    return min(train["num_chunks"], other["num_chunks"]) if same else 0
