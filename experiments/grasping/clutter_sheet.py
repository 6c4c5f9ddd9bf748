"""A contact sheet of the clutter task (experiments/tasks/grasping_clutter.md): piles of the grocery meshes, each
method's first grasp drawn on the pile's depth image (green held, red not), one row a pile, one column a method.

    python experiments/grasping/clutter_sheet.py [--piles 6] [--checkpoint CKPT] [--out FILE] [--no-fingertips]

The columns are `domrand evaluate grasp --clutter 8`'s methods on the same settled piles (seed 0); the model is
whatever checkpoint is given (by default the committed singulated `grasp.pt`, which never saw a pile), its
candidates sampled as `domrand evaluate grasp --clutter` samples them (`--no-fingertips`: as before 2026-12-06,
how plots/clutter_first_grasps.png was drawn).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch

from domrand.rng import derive_seed
from domrand.tasks.grasp import candidates as cand
from domrand.tasks.grasp.clutter import BIN_INNER, BIN_WALL, METHODS, in_bin, make_pile, pile_view
from domrand.tasks.grasp.evaluate_clutter import PileRunner
from domrand.tasks.grasp.objects import load_folder
from domrand.tools.grasp_preview import draw_grasps

ROOT = Path(__file__).resolve().parents[2]


def bin_box(k: np.ndarray, c2w: np.ndarray, scale: int, shape: tuple[int, ...], margin: int = 4) -> tuple[int, ...]:
    """(y0, y1, x0, x1) of the picture (the depth image drawn `scale` times larger, `shape`) that holds the whole
    bin, walls included, with `margin` pixels of the depth image around it."""
    half = BIN_INNER / 2 + BIN_WALL[1]
    corners = np.array([[x, y, z] for x in (-half, half) for y in (-half, half) for z in (0.0, BIN_WALL[0])])
    cam = (corners - c2w[:3, 3]) @ c2w[:3, :3]  # world -> camera (+z along the optical axis)
    u = (k[0, 0] * cam[:, 0] / cam[:, 2] + k[0, 2]) * scale
    v = (k[1, 1] * cam[:, 1] / cam[:, 2] + k[1, 2]) * scale
    m = margin * scale
    h, w = shape[:2]
    return (
        max(0, int(v.min()) - m), min(h, int(np.ceil(v.max())) + m),
        max(0, int(u.min()) - m), min(w, int(np.ceil(u.max())) + m),
    )  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--piles", type=int, default=6)
    ap.add_argument("--checkpoint", default=str(ROOT / "experiments/grasping/checkpoints/grasp.pt"))
    ap.add_argument("--objects", default=str(ROOT / "assets/meshes/robosuite_grocery"))
    ap.add_argument("--out", default=str(ROOT / "experiments/grasping/plots/clutter_first_grasps.png"))
    ap.add_argument("--no-fingertips", action="store_true", help="the model's sampler before 2026-12-06")
    args = ap.parse_args()
    objects, _ = load_folder(args.objects, 0.08)
    runner = PileRunner(args.checkpoint, objects, 8, clearance=False, fingertips=not args.no_fingertips)
    rows, held = [], {m: 0 for m in METHODS}
    for p in range(args.piles):
        pile_seed = derive_seed(0, p) & 0xFFFFFFFF
        pile = make_pile(objects, 8, pile_seed)
        tiles = []
        for mi, method in enumerate(METHODS):
            runner.sim.load_pile(pile)
            rest = runner.sim.settle(pile_seed)
            depth, instance, k, c2w = pile_view(pile, rest, torch.Generator().manual_seed(derive_seed(0, p, mi, 0, 1)))
            points = in_bin(cand.world_points(depth, k, c2w))
            g = runner.choose(method, points, instance, np.random.default_rng(derive_seed(0, p, mi, 0, 2)))
            ok = bool(g is not None and runner.sim.grasp(g).success)
            held[method] += ok
            grasps = np.array([[g.x, g.y, g.z, g.yaw, g.width]]) if g is not None else np.zeros((0, 5))
            img = draw_grasps(depth, (k, c2w), grasps, np.array([ok] * len(grasps)), scale=3)
            y0, y1, x0, x1 = bin_box(k, c2w, 3, img.shape)
            img = img[y0:y1, x0:x1].copy()  # the bin, walls included
            cv2.putText(img, method, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 0), 1, cv2.LINE_AA)
            tiles.append(np.pad(img, ((2, 2), (2, 2), (0, 0)), constant_values=255))
        rows.append(np.concatenate(tiles, 1))
    sheet = np.concatenate(rows, 0)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, sheet[..., ::-1])
    print(f"wrote {args.out}; first grasps held: " + ", ".join(f"{m} {held[m]}/{args.piles}" for m in METHODS))


if __name__ == "__main__":
    main()
