"""`domrand preview` (a contact sheet with label overlays) and `domrand info` (a summary from the manifest)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from domrand.io.images import read_image, read_png_any
from domrand.io.jsonl import read_labels_folder
from domrand.io.native import NativeDataset
from domrand.labels import pose_matrix
from domrand.render.project import pinhole

MAX_TILES = 400  # images on one contact sheet (2,000 made a 55 MB PNG)
BOX_EDGES = [(a, b) for a in range(8) for b in range(a + 1, 8) if bin(a ^ b).count("1") == 1]
PALETTE = np.array(
    [
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
        [0, 128, 128],
        [220, 190, 255],
        [170, 110, 40],
    ],
    dtype=np.uint8,
)


def _items(root: Path, start: int, count: int) -> list[tuple[np.ndarray, np.ndarray | None, dict[str, Any]]]:
    """(rgb, instance mask or None, record) for images [start, start + count)."""
    if (root / "native").is_dir():
        ds = NativeDataset(root, fields=("rgb", "instance"))
        end = min(len(ds), start + count)
        return [(ds.array(i, "rgb").copy(), ds.array(i, "instance").copy(), ds.label(i)) for i in range(start, end)]
    recs = read_labels_folder(root)[start : start + count]
    out = []
    for r in recs:
        mask = _ids(read_png_any(str(root / r["mask"]))) if "mask" in r else None
        out.append((read_image(r["image"]), mask, r))
    return out


def _project(k: dict[str, float], pts: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points -> (N, 2) pixels (OpenCV)."""
    z = np.maximum(pts[:, 2], 1e-6)
    return np.stack(pinhole(pts[:, 0], pts[:, 1], z, k["fx"], k["fy"], k["cx"], k["cy"]), -1)


def draw(rgb: np.ndarray, mask: np.ndarray | None, rec: dict[str, Any], scale: int = 2) -> np.ndarray:
    """One image with overlays: tinted masks, 2D boxes, projected 3D boxes and keypoints (filled dots on the
    visible surface, rings where hidden), pose axes."""
    h, w = rgb.shape[:2]
    img = rgb.astype(np.float32)
    if mask is not None:
        for obj in rec.get("objects", []):
            m = mask == obj["id"]
            img[m] = 0.55 * img[m] + 0.45 * PALETTE[obj["id"] % len(PALETTE)]
    img = cv2.resize(img.clip(0, 255).astype(np.uint8), (w * scale, h * scale), interpolation=cv2.INTER_NEAREST)
    to_px = lambda p: (round((p[0] + 0.5) * scale - 0.5), round((p[1] + 0.5) * scale - 0.5))  # noqa: E731
    cam = rec.get("camera")
    for obj in rec.get("objects", []):
        col = tuple(int(c) for c in PALETTE[obj["id"] % len(PALETTE)])
        target = obj.get("role") == "target"
        if obj.get("bbox"):
            x0, y0, x1, y1 = obj["bbox"]
            cv2.rectangle(
                img,
                (int(x0 * scale), int(y0 * scale)),
                (int(x1 * scale) - 1, int(y1 * scale) - 1),
                (255, 255, 255) if target else col,
                1,
            )
        kp = np.asarray(obj.get("keypoints", []))
        if kp.size and (kp[:8, 2] > 0).all():
            for a, b in BOX_EDGES:
                cv2.line(img, to_px(kp[a]), to_px(kp[b]), col, 1, cv2.LINE_AA)
            flags = obj.get("keypoint_visibility") or [2] * 8
            for p, flag in zip(kp[:8], flags):  # filled: visible corner; ring: hidden (COCO flag 1)
                cv2.circle(img, to_px(p), 2 if flag == 2 else 3, col, -1 if flag == 2 else 1)
        if cam and target:
            pose = pose_matrix(obj["position_camera"], obj["quaternion_camera"])
            length = 0.6 * max(obj["extents"])
            axes = _project(cam, pose[:3, 3] + length * pose[:3, :3].T)
            origin = _project(cam, pose[None, :3, 3])[0]
            for axis, c in zip(axes, ((255, 0, 0), (0, 255, 0), (0, 0, 255))):
                cv2.line(img, to_px(origin), to_px(axis), c, 2, cv2.LINE_AA)
            cv2.circle(img, to_px(origin), 3, (255, 255, 255), -1)
    return img


def preview(
    root: Path, out: Path | None = None, count: int = 16, columns: int = 4, start: int = 0, scale: int | None = None
) -> Path:
    """Write a contact sheet of images [start, start + count) of a dataset (or of scenes of a grasp-label
    folder, with their grasps); returns its path. Images are drawn `scale` times their size (default: twice up
    to 256 pixels a side, as they are above: a sheet of 640 x 480 images stays a few MB)."""
    if not root.is_dir():
        raise ValueError(f"dataset folder {str(root)!r} does not exist")
    if count < 1 or columns < 1:
        raise ValueError(f"--count and --columns must be >= 1, got {count}, {columns}")
    if count > MAX_TILES:
        raise ValueError(
            f"--count {count} would draw one sheet of {count} images; at most {MAX_TILES} go on a sheet: page through "
            f"the dataset with --start and --count (e.g. --start {MAX_TILES} --count {MAX_TILES})"
        )
    from domrand.tools import grasp_preview

    if grasp_preview.is_grasp_folder(root):
        return grasp_preview.preview(root, out, count, columns, start)
    items = _items(root, start, count)
    if not items:
        raise ValueError(f"dataset {str(root)!r} has no images from index {start}")
    from domrand.tools.sheet import write_sheet

    if scale is None:
        scale = 2 if max(items[0][0].shape[:2]) <= 256 else 1
    return write_sheet([draw(*it, scale=scale) for it in items], columns, out or root / "preview.png")


def info(root: Path) -> str:
    """A human summary of a dataset (or a grasp-label folder) from its manifest and chunks."""
    path = root / "manifest.json"
    if not path.is_file():
        raise ValueError(f"{str(root)!r} is not a domrand dataset (no manifest.json)")
    from domrand.tools import grasp_preview

    if grasp_preview.is_grasp_folder(root):
        return grasp_preview.info(root)
    m = json.loads(path.read_text())
    done = len(list((root / "chunks").glob("*.json"))) if (root / "chunks").is_dir() else 0
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    cfg = m["config"]
    objects = cfg["world"].get("objects") or []
    what = f"target: {cfg['world']['target']}"
    if objects:
        span = lambda c: f"{c[0]}" if c[0] == c[1] else f"{c[0]}-{c[1]}"  # noqa: E731
        what = "classes: " + ", ".join(f"{o['name']} ({span(o['count'])} each)" for o in objects)
        if cfg.get("placement", {}).get("mode"):
            what += f"; placement {cfg['placement']['mode']}"
    looks = [o["name"] for o in objects if o.get("appearance", "random") != "random"]
    lines = [
        f"dataset      {root}",
        f"status       {'complete' if m.get('complete') else 'incomplete'}: {done}/{m['num_chunks']} chunks of {m['chunk_size']} images",
        f"images       {m['num_images']} at {m['image_size'][1]}x{m['image_size'][0]} px",
        f"task         {cfg['task']} ({what})",
        f"seed         {m['root_seed']}",
        f"formats      {', '.join(m['formats'])}",
        f"rendered on  {m['device']} ({m['backend']} back end)",
        f"randomizers  {', '.join([*(k for k in ('camera', 'lighting', 'placement', 'textures', 'materials', 'noise', 'depth_noise') if cfg.get(k)), *(['appearance (own looks: ' + ', '.join(looks) + ')'] if looks else [])])}",
        f"textures     {'unlimited' if not cfg.get('textures') or cfg['textures'].get('pool_size') is None else str(cfg['textures']['pool_size']) + ' unique'}",
        f"versions     {', '.join(f'{k} {v}' for k, v in m['versions'].items())}",
        f"disk         {size / 1e6:.1f} MB",
    ]
    return "\n".join(lines)


def _ids(mask: np.ndarray) -> np.ndarray:
    """A jsonl mask PNG (object ids, 255 or 65535 for no surface) -> int16 ids with -1 for none."""
    none = 255 if mask.dtype == np.uint8 else 65535
    return np.where(mask == none, -1, mask.astype(np.int32)).astype(np.int16)
