"""`domrand predict grasp`: the ranker's best grasps on your own top-down depth image.

The depth image goes through the same pipeline as in the trials: world points through the camera, the
object above the table, candidates sampled from it (plus the centroid grasp), each scored by the checkpoint's
ranker from its crop and opening. The table top is z = 0 of the world frame: give the camera's pose in that
frame (`--camera`, as in labels.jsonl), or use the task's nominal top-down camera (128 x 128, 0.70 m up).

A model trained on piles (`domrand label grasps --clutter K`) sees a pile in the clutter task's bin
(experiments/tasks/grasping_clutter.md: 0.30 m square, centred under the camera, 0.06 m walls) and chooses as
`domrand evaluate grasp --clutter` does: only the bin's inside (`clutter.in_bin`), candidates pinching what the
fingertips meet, none whose fingers would land on the walls (`clutter.clear_of_bin`). `pile` overrides what the
checkpoint says.

Example:
    >>> from domrand.tasks.grasp.predict import predict_grasp, read_depth   # doctest: +SKIP
    >>> best = predict_grasp("grasp.pt", read_depth("depth.png", 0.001), *camera, top=3)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from domrand.tasks.grasp import candidates as cand
from domrand.tasks.grasp.ranker import load_ranker
from domrand.tasks.grasp.sim import Grasp


@dataclass(frozen=True)
class RankedGrasp:
    """A candidate and the ranker's probability that it holds the object."""

    grasp: Grasp
    probability: float


def read_depth(path: str | Path, unit: float = 0.001) -> np.ndarray:
    """(H, W) float32 metres from a 16-bit PNG (values x `unit` metres: 0.001 for millimetres, as domrand's
    jsonl depth) or a .npy array of metres; 0 means no reading. One ValueError names a bad file."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"depth image {str(p)!r} does not exist")
    if p.suffix == ".npy":
        depth = np.load(p, allow_pickle=False).astype(np.float32)
    else:
        from domrand.io.images import read_png_any

        raw = read_png_any(str(p))
        if raw.dtype != np.uint16 or raw.ndim != 2:
            raise ValueError(
                f"depth image {str(p)!r} must be a one-channel 16-bit PNG (or a .npy of metres), got {raw.dtype} {raw.shape}"
            )
        depth = raw.astype(np.float32) * np.float32(unit)
    if depth.ndim != 2 or not np.isfinite(depth).all() or (depth < 0).any():
        raise ValueError(f"depth image {str(p)!r} must be (H, W) finite depths >= 0, got shape {depth.shape}")
    return depth


def trained_on_piles(meta: dict) -> bool:
    """Whether a grasp checkpoint's rankers learned from piles (its metadata, `ranker.load_ranker`): recorded as
    `piles` since 2026-12-07; before that, a run that left out the bin's wall candidates (`bin_check`) had."""
    return bool(meta.get("piles", meta.get("train_config", {}).get("bin_check", False)))


def predict_grasp(
    checkpoint: str | Path,
    depth: np.ndarray,
    k: np.ndarray,
    cam_to_world: np.ndarray,
    top: int = 1,
    seed: int = 0,
    pile: bool | None = None,
) -> list[RankedGrasp]:
    """The `top` best candidates of a depth image, best first.

    Args:
        depth: (H, W) metres along the optical axis, 0 where no reading.
        k: (3, 3) intrinsics; cam_to_world: (4, 4) OpenCV axes, the table top at z = 0.
        seed: the candidates' draw (`candidates.sample`).
        pile: the image shows a pile in the clutter task's bin, chosen among as `evaluate_clutter`'s model does;
            None: whether the checkpoint was trained on piles (`trained_on_piles`).

    Raises:
        ValueError: the image shows nothing above the table.
    """
    ranker, meta = load_ranker(checkpoint)
    if pile is None:
        pile = trained_on_piles(meta)
    points = cand.world_points(depth, k, cam_to_world)
    rng = np.random.default_rng(seed)
    if pile:  # as `evaluate_clutter.PileRunner.choose`'s model, without a run's memory
        from domrand.tasks.grasp.clutter import clear_of_bin, in_bin, model_options

        points = in_bin(points)
        options = clear_of_bin(model_options(points, rng))
    else:
        options = cand.sample(points, rng) + [g for g in (cand.centroid_grasp(points),) if g is not None]
    if not options:
        raise ValueError("no object above the table in the depth image (is the camera pose right? z = 0 is the table)")
    p = torch.sigmoid(cand.scores(ranker, points, options)).numpy()
    order = np.argsort(-p, kind="stable")[:top]
    return [RankedGrasp(options[i], float(p[i])) for i in order]
