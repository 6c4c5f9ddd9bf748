"""The compiled distractor placement (`kernels.placement`) against its torch reference
(`randomizers.placement.place_distractors_torch`): the same spots and flags on the presets' draws and on
candidates built to sit within a float32 step of every clearance (where a distance computed without torch's
fused multiply-add picks another spot)."""

from __future__ import annotations

import numpy as np
import torch

from domrand.randomizers.placement import place_distractors, place_distractors_torch


def _on_the_edge(seed: int, b: int = 64, d: int = 6, c: int = 5) -> tuple:
    """Candidates at the clearance from the target (to a float32 step or two), some from earlier candidates."""
    rng = np.random.default_rng(seed)
    target = rng.uniform(-0.2, 0.2, size=(b, 2)).astype(np.float32)
    target_r = rng.uniform(0.02, 0.08, size=b).astype(np.float32)
    r_d = rng.uniform(0.01, 0.06, size=(b, d)).astype(np.float32)
    gap = 0.01
    ang = rng.uniform(0, 2 * np.pi, size=(b, d, c))
    clear = (target_r[:, None] + r_d) + np.float32(gap)  # (B, D) float32, as both compute it
    cand = target[:, None, None] + clear[..., None, None] * np.stack([np.cos(ang), np.sin(ang)], -1)
    cand = cand.astype(np.float32)
    steps = rng.integers(-2, 3, size=cand.shape)
    for _ in range(2):  # up to two float32 steps either way
        cand = np.where(steps > 0, np.nextafter(cand, np.float32(1)), np.where(steps < 0, np.nextafter(cand, -1), cand))
        steps = steps - np.sign(steps)
    far = rng.random((b, d, c)) < 0.3  # some candidates far off: placed without a doubt
    cand[far] = rng.uniform(-0.6, 0.6, size=(int(far.sum()), 2)).astype(np.float32)
    cand[:, 1:, 0] = cand[:, :-1, 0]  # an earlier distractor's spot: blocked by it when it was placed
    count = torch.from_numpy(rng.integers(0, d + 1, size=b))
    return (
        torch.from_numpy(cand),
        torch.from_numpy(target),
        torch.from_numpy(target_r),
        torch.from_numpy(r_d),
        count,
        gap,
    )


def test_kernel_matches_torch_at_the_clearance() -> None:
    for seed in range(10):
        args = _on_the_edge(seed)
        (xy, placed), (xy_t, placed_t) = place_distractors(*args), place_distractors_torch(*args)
        assert torch.equal(placed, placed_t) and torch.equal(xy, xy_t), seed
        assert 0.2 < placed.float().mean() < 0.9, seed  # both outcomes occur


def test_a_plain_float32_distance_would_pick_other_spots() -> None:
    """The test above can fail: sqrt(dx * dx + dy * dy) decides some of its candidates otherwise."""
    cand, target = _on_the_edge(0)[:2]
    d = cand - target[:, None, None]
    plain = torch.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1])
    assert (plain != d.norm(dim=-1)).float().mean() > 0.02


def test_kernel_matches_torch_on_preset_draws(monkeypatch) -> None:
    import domrand.randomizers.placement as placement
    from domrand.config import load_config
    from domrand.rng import chunk_rng

    seen = 0
    for preset in ("tabletop", "grasping"):
        pipe = load_config(preset).pipeline()
        for _, r in pipe.compose.scene:
            if not isinstance(r, placement.TabletopPlacement):
                continue
            seen += 1
            for k in range(4):
                got = r.sample(64, rng=chunk_rng(7, k))
                with monkeypatch.context() as m:
                    m.setattr(placement, "place_distractors", place_distractors_torch)
                    want = r.sample(64, rng=chunk_rng(7, k))
                assert torch.equal(got.xy, want.xy) and torch.equal(got.placed, want.placed), (preset, k)
    assert seen >= 1
