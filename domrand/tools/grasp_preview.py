"""`domrand info` and `domrand preview` for a grasp-label folder (`domrand label grasps`): a summary, and a
contact sheet of the depth images with every executed grasp drawn on them (green held, red dropped)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import cv2
import numpy as np

GREEN, RED = (40, 200, 60), (230, 40, 40)


def is_grasp_folder(root: Path) -> bool:
    path = root / "manifest.json"
    return path.is_file() and json.loads(path.read_text()).get("kind") == "grasp labels"


def _chunks(root: Path) -> list[Path]:
    return sorted((root / "chunks").glob("*.npz"))


def info(root: Path) -> str:
    """A human summary of a grasp-label folder: configuration, scenes and grasps done, success rate, layout."""
    m = json.loads((root / "manifest.json").read_text())
    cfg = m["config"]
    scenes = grasps = held = 0
    for f in _chunks(root):
        with np.load(f) as z:
            scenes += len(z["depth"])
            grasps += len(z["success"])
            held += int(z["success"].sum())
    size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    objects = m.get("objects", [])
    lines = [
        f"grasp labels {root}",
        f"status       {len(_chunks(root))} chunks: {scenes} of {cfg['scenes']} scenes labelled",
        f"grasps       {grasps} executed, {held} held ({100 * held / max(grasps, 1):.1f}%)",
        f"objects      {len(objects)} ({cfg['objects']}; {', '.join(objects[:4])}{', ...' if len(objects) > 4 else ''})",
        f"scale        largest extent {cfg['scale_to']} m" + (f" to {cfg['scale_to_max']} m" if cfg.get("scale_to_max") else ""),
        f"seed         {cfg['seed']}; {cfg['candidates']} candidates a scene"
        + (f", each executed {cfg['executions']} times" if cfg.get("executions", 1) > 1 else ""),
        "layout       chunks/00000k.npz: crops (N, 2, 32, 32), grasp (N, 5) = x, y, z, yaw, width (world frame,",
        "             metres and radians: fingers' centre (tips 25 mm lower), closing direction, opening), success (N,), scene (N,);",
        "             per scene depth (S, 128, 128) metres, intrinsics, cam_to_world, object, extent",
        f"disk         {size / 1e6:.1f} MB",
    ]  # fmt: skip
    return "\n".join(lines)


def _scenes(root: Path, start: int, count: int) -> list[dict[str, Any]]:
    """Scenes [start, start + count) in folder order: depth, camera (or None in folders from before cameras
    were stored) and grasps (M, 5) with their outcomes."""
    out: list[dict[str, Any]] = []
    seen = 0
    for f in _chunks(root):
        with np.load(f) as z:
            n = len(z["depth"])
            if seen + n <= start:
                seen += n
                continue
            for j in range(n):
                if seen + j < start or len(out) >= count:
                    continue
                s = z["depth_scene"][j]
                pick = z["scene"] == s
                cam = (z["intrinsics"][j], z["cam_to_world"][j]) if "intrinsics" in z else None
                out.append(
                    {
                        "depth": z["depth"][j].astype(np.float32),
                        "camera": cam,
                        "grasp": z["grasp"][pick],
                        "success": z["success"][pick],
                    }
                )
            seen += n
        if len(out) >= count:
            break
    return out


def _pixels(points: np.ndarray, k: np.ndarray, c2w: np.ndarray) -> np.ndarray:
    """(N, 3) world points -> (N, 2) pixels (OpenCV) through camera k, camera-to-world c2w."""
    cam = (points - c2w[:3, 3]) @ c2w[:3, :3]
    return np.stack([k[0, 0] * cam[:, 0] / cam[:, 2] + k[0, 2], k[1, 1] * cam[:, 1] / cam[:, 2] + k[1, 2]], -1)


def nominal_camera() -> tuple[np.ndarray, np.ndarray]:
    """The grasping task's unperturbed top-down camera (k (3, 3), camera-to-world (4, 4)) at 128 px."""
    from domrand.tasks.grasp.views import nominal_camera as cam

    return cam()


def draw_grasps(
    depth: np.ndarray, camera: tuple[np.ndarray, np.ndarray], grasps: np.ndarray, held: np.ndarray, scale: int = 3
) -> np.ndarray:
    """(H * scale, W * scale, 3) uint8: the depth image in grey (near bright) with each grasp's closing line
    between its fingertips and a bar for each finger, green where it held, red where it did not."""
    valid = depth > 0
    lo, hi = (np.percentile(depth[valid], 1), np.percentile(depth[valid], 99)) if valid.any() else (0.0, 1.0)
    grey = np.where(valid, 1 - (depth - lo) / max(hi - lo, 1e-6), 0).clip(0, 1)
    img = cv2.resize((grey * 230 + 10).astype(np.uint8), None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    img = np.repeat(img[..., None], 3, -1).copy()
    k, c2w = camera
    for (x, y, z, yaw, width), ok in zip(grasps.tolist(), held.tolist()):
        d, n = np.array([math.cos(yaw), math.sin(yaw), 0.0]), np.array([-math.sin(yaw), math.cos(yaw), 0.0])
        c = np.array([x, y, z])
        ends = _pixels(np.stack([c - d * width / 2, c + d * width / 2]), k, c2w)
        bars = _pixels(np.stack([c + s * d * width / 2 + t * n * 0.01 for s in (-1, 1) for t in (-1, 1)]), k, c2w)
        px = lambda p: (round((p[0] + 0.5) * scale - 0.5), round((p[1] + 0.5) * scale - 0.5))  # noqa: E731
        col = GREEN if ok else RED
        cv2.line(img, px(ends[0]), px(ends[1]), col, 1, cv2.LINE_AA)
        cv2.line(img, px(bars[0]), px(bars[1]), col, 2, cv2.LINE_AA)
        cv2.line(img, px(bars[2]), px(bars[3]), col, 2, cv2.LINE_AA)
    return img


def preview(root: Path, out: Path | None, count: int, columns: int, start: int) -> Path:
    """A contact sheet of scenes [start, start + count) with their executed grasps."""
    scenes = _scenes(root, start, count)
    if not scenes:
        raise ValueError(f"grasp-label folder {str(root)!r} has no scenes from index {start}")
    from domrand.tools.sheet import write_sheet

    tiles = [draw_grasps(s["depth"], s["camera"] or nominal_camera(), s["grasp"], s["success"]) for s in scenes]
    return write_sheet(tiles, columns, out or root / "preview.png")
