"""`occlusion`: the share of scenes where a distractor partly hides the target, and how much it hides."""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from domrand.config import load_config
from domrand.labels import compute
from domrand.world import TARGET


def visible_fractions(overrides: dict, n: int = 128, seed: int = 1) -> np.ndarray:
    pipe = load_config(overrides={"image_size": 96, **overrides}).pipeline()
    out = []
    for s in range(0, n, 64):
        f = pipe.render(pipe.sample(64, rng=torch.Generator().manual_seed(seed + s)))
        lab = compute(f.scene, f.instance, f.silhouette, f.clean_depth)
        out.append((lab.pixels[:, TARGET].double() / lab.silhouette_full[:, TARGET].clamp_min(1).double()).numpy())
    return np.concatenate(out)


def test_occluded_scenes_show_30_to_85_percent_of_the_target_as_rendered():
    """Rendered (not estimated) visible fractions of the target with every scene occluded: most land in the
    staged test set's 30 to 85 %, almost none is left whole; without occlusion most targets stand free."""
    occluded = visible_fractions({"occlusion": {"enabled": True, "share": 1.0}})
    inside = ((occluded >= 0.30) & (occluded <= 0.85)).mean()
    assert inside >= 0.75 and (occluded > 0.99).mean() < 0.05, (inside, np.percentile(occluded, [5, 50, 95]))
    free = visible_fractions({})
    assert (free > 0.99).mean() > 0.8


def test_the_share_is_the_fraction_of_scenes_occluded():
    pipe = load_config(overrides={"image_size": 32, "occlusion": {"enabled": True, "share": 0.3}}).pipeline()
    p = pipe.sample(2000, rng=torch.Generator().manual_seed(0))
    assert abs(float(p["occlusion"].occluded.float().mean()) - 0.3) < 0.04


def test_occlusion_off_leaves_the_tabletop_bytes_unchanged():
    """The preset's `occlusion.enabled: false` is the same data as no occlusion section at all."""
    a = load_config(overrides={"image_size": 32}).pipeline()
    b = load_config(overrides={"image_size": 32, "occlusion": {"enabled": False, "share": 0.9}}).pipeline()
    pa, pb = a.sample(8, rng=torch.Generator().manual_seed(2)), b.sample(8, rng=torch.Generator().manual_seed(2))
    assert "occlusion" not in pa and "occlusion" not in pb
    fa, fb = a.render(pa), b.render(pb)
    assert (
        hashlib.sha256(fa.rgb_uint8().numpy().tobytes()).digest()
        == hashlib.sha256(fb.rgb_uint8().numpy().tobytes()).digest()
    )
