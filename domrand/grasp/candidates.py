"""Grasp candidates from a top-down depth image, the two baselines, and the ranker's input crops.

Everything works on the depth image and the camera (intrinsics, camera-to-world): pixels are lifted to
world points, whose heights above the table (z = 0) form a height map, median-filtered (3 x 3) against
depth noise; the object is where that height exceeds `OBJECT_MIN_HEIGHT`, without specks of fewer than
`MIN_BLOB` pixels.

- `sample`: pixels of the object x yaws; for each, the object's extent across the closing direction
  (points within `BAND` of the line through the pixel) sets the grasp's centre and opening (the extent
  plus `MARGIN` a side, at most the gripper's opening), its top sets z.
- `centroid_grasp` (baseline): the mask's centroid, fingers closing across its principal axis.
- `random_grasp` (baseline): a random mask pixel, a random yaw, the widest opening.
- `crops`: (N, 2, C, C) height patches (and object masks) around each candidate, rotated so the fingers close along x, in
  metres relative to the grasp height, for the ranker.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from domrand.grasp.sim import FINGER, MAX_OPENING, Grasp

OBJECT_MIN_HEIGHT = 0.006  # metres above the table that count as object
BAND = 0.008  # half width of the strip across the closing direction that sets the opening, metres
MARGIN = 0.012  # opening beyond the object's extent, metres (less when the gripper opens no wider)
MIN_MARGIN = 0.003  # the least opening beyond the extent that still makes a candidate, metres
CROP_METRES, CROP_CELLS = 0.16, 32
MIN_BLOB = 10  # connected object pixels below this count are noise


def world_points(depth: np.ndarray, k: np.ndarray, cam_to_world: np.ndarray) -> np.ndarray:
    """(H, W, 3) world points of every pixel (NaN where depth is 0: no reading)."""
    h, w = depth.shape
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    d = np.where(depth > 0, depth, np.nan).astype(np.float64)
    cam = np.stack([(u - k[0, 2]) / k[0, 0] * d, (v - k[1, 2]) / k[1, 1] * d, d], -1)
    return cam @ cam_to_world[:3, :3].T + cam_to_world[:3, 3]


def height_map(points: np.ndarray) -> np.ndarray:
    """(H, W) float32 height above the table, metres: the points' z, 3 x 3 median-filtered (no reading: 0).

    Depth noise of a few millimetres at the camera's 0.7 m puts single table pixels above
    `OBJECT_MIN_HEIGHT`; the median removes them and keeps object edges where they are."""
    z = np.nan_to_num(points[..., 2], nan=0.0).astype(np.float32)
    return cv2.medianBlur(z, 3)


def object_mask(points: np.ndarray, height: np.ndarray | None = None) -> np.ndarray:
    """(H, W) bool: pixels of the object (filtered height above `OBJECT_MIN_HEIGHT`, specks removed);
    `height` is `height_map(points)` when the caller already has it."""
    height = height_map(points) if height is None else height
    above = (height > OBJECT_MIN_HEIGHT).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(above, connectivity=8)
    keep = np.zeros(n, dtype=bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= MIN_BLOB
    return keep[labels] & np.isfinite(points).all(-1)


def object_points(points: np.ndarray) -> np.ndarray:
    """(N, 3) world points of the object: x, y as seen, z the filtered height above the table."""
    height = height_map(points)
    mask = object_mask(points, height)
    out = points[mask].copy()
    out[:, 2] = height[mask]
    return out


def grasp_through(pts: np.ndarray, x: float, y: float, yaw: float) -> Grasp | None:
    """The grasp closing along `yaw` across the object's section through (x, y), or None if there is none
    or it is wider than the gripper opens."""
    d = np.array([math.cos(yaw), math.sin(yaw)])
    rel = pts[:, :2] - [x, y]
    across = rel @ np.array([-d[1], d[0]])
    strip = pts[np.abs(across) < BAND]
    if len(strip) < 3:
        return None
    along = (strip[:, :2] - [x, y]) @ d
    lo, hi = float(along.min()), float(along.max())
    if hi - lo + 2 * MIN_MARGIN > MAX_OPENING:
        return None
    width = min(hi - lo + 2 * MARGIN, MAX_OPENING)
    cx, cy = np.array([x, y]) + d * (lo + hi) / 2
    top = float(strip[:, 2].max())
    z = max(top - 0.03, FINGER[2] / 2 - 0.01)  # fingertips well below the top, or on the table
    return Grasp(float(cx), float(cy), z, float(yaw % math.pi), width)


def sample(points: np.ndarray, rng: np.random.Generator, n_points: int = 24, n_yaws: int = 8) -> list[Grasp]:
    """Candidate grasps at random object pixels and evenly spaced yaws (a random phase)."""
    pts = object_points(points)
    if len(pts) < 10:
        return []
    picks = pts[rng.choice(len(pts), size=min(n_points, len(pts)), replace=False)]
    phase = rng.uniform(0, math.pi / n_yaws)
    out = []
    for p in picks:
        for j in range(n_yaws):
            g = grasp_through(pts, float(p[0]), float(p[1]), phase + j * math.pi / n_yaws)
            if g is not None:
                out.append(g)
    return out


def centroid_grasp(points: np.ndarray) -> Grasp | None:
    """Baseline: the mask's centroid, fingers closing across its principal axis (along the minor one)."""
    pts = object_points(points)
    if len(pts) < 10:
        return None
    c = pts[:, :2].mean(0)
    cov = np.cov((pts[:, :2] - c).T)
    _, evecs = np.linalg.eigh(cov)
    minor = evecs[:, 0]
    yaw = math.atan2(minor[1], minor[0])
    g = grasp_through(pts, float(c[0]), float(c[1]), yaw)
    if g is None:  # the section is wider than the opening: close at full opening anyway
        top = float(pts[:, 2].max())
        g = Grasp(float(c[0]), float(c[1]), max(top - 0.03, FINGER[2] / 2 - 0.01), yaw % math.pi, MAX_OPENING)
    return g


def random_grasp(points: np.ndarray, rng: np.random.Generator) -> Grasp | None:
    """Baseline: a random object pixel, a random yaw, the widest opening."""
    pts = object_points(points)
    if len(pts) < 10:
        return None
    p = pts[rng.integers(len(pts))]
    return Grasp(
        float(p[0]),
        float(p[1]),
        max(float(p[2]) - 0.03, FINGER[2] / 2 - 0.01),
        float(rng.uniform(0, math.pi)),
        MAX_OPENING,
    )


def crops(points: np.ndarray, grasps: list[Grasp]) -> torch.Tensor:
    """(N, 2, C, C) ranker input per grasp: height above the grasp point (metres, 0 where no reading or
    table), and a mask of object cells, on a square of CROP_METRES rotated so the fingers close along x."""
    h, w, _ = points.shape
    if not grasps:
        return torch.zeros(0, 2, CROP_CELLS, CROP_CELLS)
    height = height_map(points)
    height = height * object_mask(points, height)
    xy = np.nan_to_num(points[..., :2], nan=0.0)
    # The camera looks straight down (up to a few degrees), so world xy maps to pixels by an affine fit.
    valid = np.isfinite(points).all(-1)
    v, u = np.nonzero(valid)
    a = np.stack([xy[v, u, 0], xy[v, u, 1], np.ones(len(u))], 1)
    sol_u = np.linalg.lstsq(a, u.astype(np.float64), rcond=None)[0]
    sol_v = np.linalg.lstsq(a, v.astype(np.float64), rcond=None)[0]
    t = (np.arange(CROP_CELLS) + 0.5) / CROP_CELLS * CROP_METRES - CROP_METRES / 2
    gx, gy = np.meshgrid(t, t)  # gx along the closing direction
    grids = []
    for g in grasps:
        c, s = math.cos(g.yaw), math.sin(g.yaw)
        wx, wy = g.x + gx * c - gy * s, g.y + gx * s + gy * c
        pu = sol_u[0] * wx + sol_u[1] * wy + sol_u[2]
        pv = sol_v[0] * wx + sol_v[1] * wy + sol_v[2]
        grids.append(np.stack([(pu + 0.5) / w * 2 - 1, (pv + 0.5) / h * 2 - 1], -1))
    grid = torch.from_numpy(np.stack(grids)).float()
    img = torch.from_numpy(height)[None, None].expand(len(grasps), 1, h, w)
    patch = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    z = torch.tensor([g.z for g in grasps], dtype=torch.float32)[:, None, None, None]
    obj = (patch > OBJECT_MIN_HEIGHT).float()
    return torch.cat([(patch - z) * obj, obj], 1)
