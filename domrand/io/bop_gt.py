"""The BOP toolkit's ground-truth definitions, computed from what the BOP writer writes.

Re-implemented from the BOP toolkit (https://github.com/thodan/bop_toolkit, MIT licence, Copyright (c)
2019 Tomas Hodan): `scripts/calc_gt_info.py`, `scripts/calc_gt_masks.py`, `bop_toolkit_lib/misc.py`
(`calc_2d_bbox`, `depth_im_to_dist_im_fast`) and `bop_toolkit_lib/visibility.py` (`estimate_visib_mask_gt`,
mode "bop19"). The model is drawn alone at its ground-truth pose on a canvas of 3W x 3H (the image and one
image size around it) by domrand's rasterizer instead of the toolkit's OpenGL one; everything else is the
toolkit's arithmetic on the written depth image (millimetres, as the toolkit reads it back), compiled
(`kernels.bop_gt`).

Per object:
    px_count_all    pixels of the model's whole silhouette on the canvas (outside the image too)
    px_count_valid  silhouette pixels inside the image where the depth image has a value
    px_count_visib  pixels of the visibility mask: silhouette pixels whose model distance is at most
                    `DELTA_MM` behind the scene's (or where the scene has no depth)
    visib_fract     px_count_visib / px_count_all (0 if the silhouette is empty)
    bbox_obj        calc_2d_bbox of the whole silhouette (not clipped), [-1] * 4 if nothing is visible
    bbox_visib      calc_2d_bbox of the visibility mask, [-1] * 4 if nothing is visible
and the masks: mask (silhouette inside the image) and mask_visib (the visibility mask).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from domrand.kernels.silhouettes import depth_canvas

DELTA_MM = 15.0  # the toolkit's tolerance of the visibility test (5 for ITODD, 15 for the other datasets)


@dataclass(frozen=True, eq=False)
class GtInfo:
    """One object's `scene_gt_info.json` entry and its two masks ((H, W) bool)."""

    info: dict[str, int | float | list[int]]
    mask: np.ndarray
    mask_visib: np.ndarray


def model_depth(
    vertices_mm: np.ndarray,
    faces: np.ndarray,
    r: np.ndarray,
    t_mm: np.ndarray,
    k: np.ndarray,
    size: tuple[int, int],
    canvas: np.ndarray | None = None,
) -> tuple[np.ndarray, tuple[int, int, int, int, int]]:
    """(3H, 3W) float32 depth (mm) of the model alone at pose (r, t), on the canvas around the (H, W) image, and
    its silhouette's pixel count and box on the canvas, (count, y0, y1, x0, x1) inclusive.

    `canvas`: a (3H, 3W) float32 canvas of zeros to draw on (kept by a caller drawing many models: `clear_canvas`
    zeroes what one drew, a small box, instead of a fresh 0.6 MB canvas each), else a new one."""
    h, w = size
    cam = (vertices_mm @ r.T + t_mm).astype(np.float32)
    out = np.zeros((3 * h, 3 * w), dtype=np.float32) if canvas is None else canvas
    f32 = np.float32
    extent = depth_canvas(
        cam, faces.astype(np.int64, copy=False), f32(k[0, 0]), f32(k[1, 1]), f32(k[0, 2]), f32(k[1, 2]), -h, -w, out
    )
    return out, extent


def clear_canvas(canvas: np.ndarray, extent: tuple[int, int, int, int, int]) -> None:
    """Zero what `model_depth` drew on `canvas` (its silhouette lies within the extent's box; nothing if empty)."""
    count, y0, y1, x0, x1 = extent
    if count:
        canvas[y0 : y1 + 1, x0 : x1 + 1] = 0


def gt_info(
    depth_mm: np.ndarray, model_large: np.ndarray, extent: tuple[int, int, int, int, int], k: np.ndarray
) -> GtInfo:
    """The toolkit's entry for one object.

    The toolkit's per-pixel arithmetic (`kernels.bop_gt.visibility`, compiled) runs on the box of the model's
    silhouette in the image only (everywhere else the model has no depth, so neither mask can hold a pixel): the
    same values, at a fraction of the work.

    Args:
        depth_mm: (H, W) the scene's depth image in millimetres as written (0: no value).
        model_large: (3H, 3W) the model's depth alone (`model_depth`), mm.
        extent: its silhouette's (count, y0, y1, x0, x1) on that canvas (`model_depth`).
        k: (3, 3) intrinsics.
    """
    from domrand.kernels.bop_gt import visibility

    h, w = depth_mm.shape
    model = model_large[h : 2 * h, w : 2 * w]
    mask = np.zeros((h, w), dtype=bool)
    visib = np.zeros((h, w), dtype=bool)
    px_all, cy0, cy1, cx0, cx1 = extent  # the whole silhouette, counted and boxed as it was drawn
    # the silhouette's box within the image (a box around the image's part of it: outside, the model has no depth)
    r0, r1, c0, c1 = max(cy0, h) - h, min(cy1, 2 * h - 1) - h, max(cx0, w) - w, min(cx1, 2 * w - 1) - w
    counts = np.zeros(6, np.int64)
    if px_all and r0 <= r1 and c0 <= c1:
        f = np.float64
        visibility(
            np.ascontiguousarray(depth_mm, dtype=np.float64), model, r0, r1, c0, c1, f(k[0, 0]), f(k[1, 1]),
            f(k[0, 2]), f(k[1, 2]), DELTA_MM, mask, visib, counts,
        )  # fmt: skip
    px_valid, px_visib = int(counts[0]), int(counts[1])
    bbox_obj, bbox_visib = [-1, -1, -1, -1], [-1, -1, -1, -1]
    if px_visib > 0:
        bbox_obj = [cx0 - w, cy0 - h, cx1 - cx0, cy1 - cy0]  # calc_2d_bbox: w = max(x) - min(x)
        x0, y0, x1, y1 = (int(v) for v in counts[2:])
        bbox_visib = [x0, y0, x1 - x0, y1 - y0]
    info = {
        "bbox_obj": bbox_obj,
        "bbox_visib": bbox_visib,
        "px_count_all": px_all,
        "px_count_valid": px_valid,
        "px_count_visib": px_visib,
        "visib_fract": px_visib / float(px_all) if px_all > 0 else 0.0,
    }
    return GtInfo(info, mask, visib)
