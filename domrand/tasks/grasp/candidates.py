"""Grasp candidates from a top-down depth image, the two baselines, and the ranker's input crops.

Everything works on the depth image and the camera (intrinsics, camera-to-world): pixels are lifted to
world points, whose heights above the table (z = 0) form a height map, median-filtered (3 x 3) against
depth noise; the object is where that height exceeds `OBJECT_MIN_HEIGHT`, without specks of fewer than
`MIN_BLOB` pixels.

- `sample`: pixels of the object x yaws; for each, the part of the object's section across the closing
  direction (points within `BAND` of the line through the pixel) that the fingers would pinch, the
  contiguous run of points above the fingertips' height through the pixel, sets the grasp's centre and
  opening (the run plus `MARGIN` a side, less where the gripper opens no wider or a finger would meet
  another run), its top sets z. A mug's wall, a ring's side or a handle is a candidate of its own.
- `centroid_grasp` (baseline): the mask's centroid, fingers closing across its principal axis, on the
  whole section there.
- `random_grasp` (baseline): a random mask pixel, a random yaw, the widest opening.
- `crops`: (N, 2, C, C) height patches (and object masks) around each candidate, rotated so the fingers close along x, in
  metres relative to the grasp height, for the ranker; `scores`: a ranker's logits of the candidates.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from domrand.tasks.grasp.sim import FINGER, MAX_OPENING, Grasp

OBJECT_MIN_HEIGHT = 0.006  # metres above the table that count as object
BAND = 0.008  # half width of the strip across the closing direction that sets the opening, metres
MARGIN = 0.012  # opening beyond the object's extent, metres (less when the gripper opens no wider)
MIN_MARGIN = 0.003  # the least opening beyond the extent that still makes a candidate, metres
CROP_METRES, CROP_CELLS = 0.16, 32
MIN_BLOB = 10  # connected object pixels below this count are noise
MIN_OBJECT_POINTS = 10  # an object seen in fewer points gets no candidates and no baseline grasps


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


DEPTH = 0.03  # the fingers' centre goes this far below the grasped part's top, metres
RUN_GAP = 0.008  # points further apart than this along the closing line belong to different runs, metres
CLEARANCE = 0.002  # room a finger needs beyond its own thickness to go down beside a run, metres
LOWEST_Z = FINGER[2] / 2 - 0.01  # the lowest `Grasp.z` a candidate gets: the tips 1 cm below the table top, metres


def grasp_z(top: float) -> float:
    """The fingers' centre height (`Grasp.z`; their tips are `FINGER[2] / 2` lower) for a part whose top is
    `top`: `DEPTH` below it, or low enough that the tips stand on the table."""
    return max(top - DEPTH, LOWEST_Z)


def grasp_through(
    pts: np.ndarray, x: float, y: float, yaw: float, whole: bool = False, fingertips: bool = False
) -> Grasp | None:
    """The grasp closing along `yaw` across the part of the object's section through (x, y) that the
    fingers would pinch, or None if there is none, it is wider than the gripper opens, or a finger has no
    room to go down beside it.

    The fingertips go to `grasp_z` of the height at (x, y); the pinched part is the contiguous run (no gap
    over `RUN_GAP`) of section points above that height containing (x, y), so a mug's wall, a ring's side
    or a handle is a grasp of its own, with a finger inside. With `whole`, the pinched part is the whole
    section (the fingers close on everything between them), as the `centroid` baseline does.

    "Above that height" is above the fingers' centre (`Grasp.z`), or with `fingertips` above their tips (half
    a finger lower, the table where they stand on it), which is what the fingers meet when they close: without
    it an object lower than the centre's lowest height (a box lying flat, under 17 mm tall) has no part to pinch and
    gets no candidate, and parts between the tips and the centre are left out of the opening. The clutter
    task's model uses `fingertips`; the singulated task keeps the centre, as its committed figures were read.
    """
    d = np.array([math.cos(yaw), math.sin(yaw)])
    rel = pts[:, :2] - [x, y]
    across = rel @ np.array([-d[1], d[0]])
    strip = pts[np.abs(across) < BAND]
    if len(strip) < 3:
        return None
    along = (strip[:, :2] - [x, y]) @ d
    if whole:
        lo, hi = float(along.min()), float(along.max())
        free_lo = free_hi = math.inf
        top = float(strip[:, 2].max())
    else:
        near = np.abs(along) < 2 * BAND
        if not near.any():
            return None
        z = grasp_z(float(np.median(strip[near, 2])))
        meet = max(z - FINGER[2] / 2, 0.0) if fingertips else z  # lower parts pass beneath the fingers
        above = strip[:, 2] > meet + 0.002
        a = np.sort(along[above])
        if len(a) < 3:
            return None
        cuts = np.nonzero(np.diff(a) > RUN_GAP)[0]
        starts, ends = np.r_[0, cuts + 1], np.r_[cuts, len(a) - 1]
        k = int(np.clip(np.searchsorted(a[starts], 0.0, side="right") - 1, 0, len(starts) - 1))
        lo, hi = float(a[starts[k]]), float(a[ends[k]])
        if not lo - RUN_GAP <= 0.0 <= hi + RUN_GAP:
            return None  # (x, y) itself lies in no run
        free_lo = lo - float(a[ends[k - 1]]) if k > 0 else math.inf  # free space beside the run
        free_hi = float(a[starts[k + 1]]) - hi if k + 1 < len(starts) else math.inf
        in_run = above.copy()
        in_run[above] = (along[above] >= lo) & (along[above] <= hi)
        top = float(strip[in_run, 2].max())
    if hi - lo + 2 * MIN_MARGIN > MAX_OPENING:
        return None
    # Each side's margin: MARGIN, less where the gripper opens no wider or a finger would meet another run.
    room = (MAX_OPENING - (hi - lo)) / 2
    m_lo = min(MARGIN, room, free_lo - FINGER[0] - CLEARANCE)
    m_hi = min(MARGIN, room, free_hi - FINGER[0] - CLEARANCE)
    if min(m_lo, m_hi) < MIN_MARGIN:
        return None
    m = min(m_lo, m_hi)  # the gripper is symmetric: both fingers stop the same distance from the run
    width = hi - lo + 2 * m
    cx, cy = np.array([x, y]) + d * (lo + hi) / 2
    return Grasp(float(cx), float(cy), grasp_z(top), float(yaw % math.pi), float(width))


SAMPLE_POINTS = 24  # object pixels a view's candidates are drawn at (`sample`), each at `n_yaws` closing directions


def sample(
    points: np.ndarray,
    rng: np.random.Generator,
    n_points: int = SAMPLE_POINTS,
    n_yaws: int = 8,
    fingertips: bool = False,
) -> list[Grasp]:
    """Candidate grasps at random object pixels and evenly spaced yaws (a random phase); `fingertips`: as
    `grasp_through`'s."""
    pts = object_points(points)
    if len(pts) < MIN_OBJECT_POINTS:
        return []
    picks = pts[rng.choice(len(pts), size=min(n_points, len(pts)), replace=False)]
    phase = rng.uniform(0, math.pi / n_yaws)
    out = []
    for p in picks:
        for j in range(n_yaws):
            g = grasp_through(pts, float(p[0]), float(p[1]), phase + j * math.pi / n_yaws, fingertips=fingertips)
            if g is not None:
                out.append(g)
    return out


def centroid_section(pts: np.ndarray) -> tuple[float, float, float, Grasp | None]:
    """For object points `pts` (N, 3) (`object_points`): the mask's centroid x, y (metres), the yaw closing
    across its principal axis (along the minor one, radians), and the grasp on the whole section there, None
    where that section is wider than the gripper opens (the object is "wide")."""
    c = pts[:, :2].mean(0)
    _, evecs = np.linalg.eigh(np.cov((pts[:, :2] - c).T))
    yaw = math.atan2(evecs[1, 0], evecs[0, 0])
    return float(c[0]), float(c[1]), yaw, grasp_through(pts, float(c[0]), float(c[1]), yaw, whole=True)


def centroid_grasp(points: np.ndarray) -> Grasp | None:
    """Baseline: the mask's centroid, fingers closing across its principal axis (along the minor one)."""
    pts = object_points(points)
    if len(pts) < MIN_OBJECT_POINTS:
        return None
    cx, cy, yaw, g = centroid_section(pts)
    if g is None:  # the section is wider than the opening: close at full opening anyway
        top = float(pts[:, 2].max())
        g = Grasp(cx, cy, grasp_z(top), yaw % math.pi, MAX_OPENING)
    return g


def random_grasp(points: np.ndarray, rng: np.random.Generator) -> Grasp | None:
    """Baseline: a random object pixel, a random yaw, the widest opening."""
    pts = object_points(points)
    if len(pts) < MIN_OBJECT_POINTS:
        return None
    p = pts[rng.integers(len(pts))]
    return Grasp(
        float(p[0]),
        float(p[1]),
        grasp_z(float(p[2])),
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


def scores(ranker: torch.nn.Module, points: np.ndarray, grasps: list[Grasp]) -> torch.Tensor:
    """(N,) logits of `ranker` (a `GraspRanker` or `RankerEnsemble`, in eval mode) for the grasps seen in `points`
    (H, W, 3), from their crops and openings, without gradients."""
    with torch.no_grad():
        return ranker(crops(points, grasps), torch.tensor([g.width for g in grasps], dtype=torch.float32))
