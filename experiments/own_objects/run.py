"""The README's "Your own objects" contact sheet: the scenes of objects.yaml with every class in domrand's
random textures (left) and the same scenes with the duck in its own texture (right).

    python experiments/own_objects/run.py [--count 4] [--out experiments/own_objects/sheet.png]

The two columns share every draw but the duck's look (each randomizer draws from its own stream), so they
differ only there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from domrand.config import load_config

HERE = Path(__file__).resolve().parent


def render(appearance: str, count: int, seed: int) -> np.ndarray:
    """(count, H, W, 3) uint8 images of objects.yaml with the duck's `appearance`."""
    import yaml

    data = yaml.safe_load((HERE / "objects.yaml").read_text())
    objects = data["world"]["objects"]
    for o in objects:
        o["appearance"] = appearance if o["name"] == "duck" else "random"
    cfg = load_config(path=HERE / "objects.yaml", overrides={"world": {"objects": resolved(objects)}})
    pipe = cfg.pipeline()
    return pipe.render(pipe.sample(count, rng=torch.Generator().manual_seed(seed))).rgb_uint8().numpy()


def resolved(objects: list[dict]) -> list[dict]:
    """Object entries with their mesh paths made absolute against objects.yaml's folder (overrides resolve
    against the working folder)."""
    return [{**o, "mesh": str((HERE / o["mesh"]).resolve())} for o in objects]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=4)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--out", default=str(HERE / "sheet.png"))
    args = ap.parse_args()
    left, right = render("random", args.count, args.seed), render("original", args.count, args.seed)
    rows = [np.concatenate([a, np.full((a.shape[0], 8, 3), 255, np.uint8), b], 1) for a, b in zip(left, right)]
    gap = np.full((8, rows[0].shape[1], 3), 255, np.uint8)
    sheet = np.concatenate([x for r in rows for x in (r, gap)][:-1], 0)
    img = Image.fromarray(sheet)
    img = img.resize((img.width // 2, img.height // 2), Image.LANCZOS)
    img.save(args.out, optimize=True)
    print(f"wrote {args.out} ({img.width} x {img.height})")


if __name__ == "__main__":
    main()
