"""Dead leaves, stones and strokes: the textures with the statistics of photographs, checked against what
their definitions say (the top leaf's colour, one colour per Voronoi site, the strokes' direction)."""

from __future__ import annotations

import math

import pytest
import torch
from domrand.generators import textures as tx

B, S = 4, 48


def params(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "c0": torch.rand(B, 3, generator=g),
        "c1": torch.rand(B, 3, generator=g),
        "c2": torch.rand(B, 3, generator=g),
        "seed": torch.randint(0, 2**31 - 1, (B,), generator=g),
        "cells": torch.tensor([2.0, 4.0, 8.0, 16.0]),
        "duty": torch.tensor([0.2, 0.4, 0.6, 0.8]),
    }


KINDS = {
    "dead_leaves": lambda p: tx.dead_leaves(p["c0"], p["c1"], p["c2"], p["seed"], p["cells"], p["duty"], S),
    "stones": lambda p: tx.stones(p["c0"], p["c1"], p["c2"], p["seed"], p["cells"], p["duty"], S),
    "strokes": lambda p: tx.strokes(
        p["c0"], p["c1"], p["c2"], p["seed"], p["cells"], torch.linspace(0, 3, B), p["duty"], S
    ),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_natural_texture_contract(kind):
    p = params()
    a = KINDS[kind](p)
    assert a.shape == (B, S, S, 3) and a.dtype == torch.float32
    assert torch.equal(a, KINDS[kind](p))  # a pure function of its parameters
    assert 0 <= float(a.min()) and float(a.max()) <= 1
    assert float(a.std(dim=(1, 2)).min()) > 0.01  # every texture has structure, none is flat
    # A texture's pixels do not depend on the other textures in its batch.
    if kind != "strokes":  # (strokes take one angle per texture from a linspace over the batch)
        one = KINDS[kind]({k: v[2:3] for k, v in p.items()})
        assert torch.equal(one[0], a[2])
    # Another seed gives another texture.
    q = dict(p, seed=p["seed"] + 1)
    assert not torch.equal(KINDS[kind](q), a)


@pytest.mark.parametrize("kind", list(KINDS))
def test_natural_textures_tile_seamlessly(kind):
    """Repeat addressing: the jump across the wrap-around edge is like the jumps inside the texture."""
    a = KINDS[kind](params(1))
    inner = (a[:, :, 1:] - a[:, :, :-1]).abs().mean()
    wrap = (a[:, :, 0] - a[:, :, -1]).abs().mean()
    assert wrap < 2.5 * inner


def _field(seed: torch.Tensor, f: int, a: int, b: int) -> float:
    return float(tx._field(seed[:, None], f, torch.tensor([[a]]), torch.tensor([[b]]))[0, 0])


def test_the_top_leaf_is_its_own_colour_at_its_centre():
    """Leaf 0 lies on top: the texel at its centre shows its palette colour, undimmed (q = 0 there)."""
    p = params(2)
    size = 64
    out = tx.dead_leaves(p["c0"], p["c1"], p["c2"], p["seed"], p["cells"], torch.zeros(B), size)  # discs only
    for i in range(B):
        s = p["seed"][i : i + 1]
        cx, cy = _field(s, 0, 0, 0), _field(s, 1, 0, 0)
        h = [_field(s, f, 0, 0) for f in (5, 6, 7)]
        base = p["c0"][i] + (p["c1"][i] - p["c0"][i]) * h[0]
        colour = (base + (p["c2"][i] - base) * h[1] ** 2) * (0.55 + 0.45 * h[2])
        j, k = int(cx * size), int(cy * size)  # the texel holding the centre
        dx, dy = (j + 0.5) / size - cx, (k + 0.5) / size - cy
        dome = 0.6 * _field(s, 8, 0, 0)
        r_max = min(1.5 / float(p["cells"][i]), 0.5)
        r_min = r_max / 6
        r = 1 / math.sqrt(r_max**-2 + _field(s, 2, 0, 0) * (r_min**-2 - r_max**-2))
        expect = colour * (1 - dome * (dx * dx + dy * dy) / r**2)
        assert torch.allclose(out[i, k, j], expect.clamp(0, 1), atol=1e-5)


def test_stones_match_a_brute_force_voronoi_tiling():
    """Against an independent Voronoi tiling (every site on the torus, not the 3 x 3 neighbourhood the
    generator searches): a texel is mortar exactly where its two nearest sites are nearly equidistant, and
    elsewhere it is its nearest site's stone colour, dimmed by the dome to between 0.55 and 1."""
    n, size = 5, 96
    seed = torch.tensor([12345])
    c0, c1, c2 = torch.zeros(1, 3), torch.ones(1, 3), torch.tensor([[1.0, 0.0, 0.0]])
    duty = 0.5
    out = tx.stones(c0, c1, c2, seed, torch.tensor([float(n)]), torch.tensor([duty]), size)[0]
    s = seed[:, None, None]
    ii, jj = torch.meshgrid(torch.arange(n), torch.arange(n), indexing="ij")  # ii: row (y), jj: column (x)
    sx = (jj + tx._field(s, 0, jj[None], ii[None])[0]) / n  # site positions, UV units
    sy = (ii + tx._field(s, 1, jj[None], ii[None])[0]) / n
    colour = tx._field(s, 2, jj[None], ii[None])[0] * (0.6 + 0.4 * tx._field(s, 3, jj[None], ii[None])[0])
    t = (torch.arange(size) + 0.5) / size
    v, u = torch.meshgrid(t, t, indexing="ij")
    dx = tx._wrap(u[..., None] - sx.flatten())
    dy = tx._wrap(v[..., None] - sy.flatten())
    d = (dx * dx + dy * dy).sqrt() * n  # cell units
    two = d.topk(2, dim=-1, largest=False)
    edge = two.values[..., 1] - two.values[..., 0]
    mortar = (out - torch.tensor([0.8, 0.0, 0.0])).abs().sum(-1) < 1e-6
    width = 0.03 + 0.12 * duty
    clear = (edge - width).abs() > 1e-3  # texels on the mortar's rim can go either way in float32
    assert torch.equal(mortar[clear], (edge < width)[clear])
    stone = ~mortar & clear
    ratio = out[..., 0][stone] / colour.flatten()[two.indices[..., 0][stone]]
    assert float(ratio.min()) > 0.55 - 1e-4 and float(ratio.max()) < 1 + 1e-4
    assert 0.05 < float(mortar.float().mean()) < 0.6


def test_strokes_run_along_their_angle():
    """With no spread, the structure tensor's dominant direction across the strokes is perpendicular to `angle`
    (within 8 degrees: end caps and the texel grid add 3 to 6 degrees at 256 texels; a swapped axis or a
    missing quarter turn is off by tens of degrees)."""
    for angle in (0.3, 1.2, 2.5):
        out = tx.strokes(
            torch.zeros(1, 3), torch.ones(1, 3), torch.ones(1, 3) * 0.5, torch.tensor([7]), torch.tensor([3.0]),
            torch.tensor([angle]), torch.tensor([0.0]), 256,
        )[0].mean(-1)  # fmt: skip
        gy, gx = torch.gradient(out)  # texel rows are v, columns u
        jxx, jyy, jxy = (gx * gx).sum(), (gy * gy).sum(), (gx * gy).sum()
        grad_dir = 0.5 * math.atan2(2 * float(jxy), float(jxx - jyy))  # mean gradient direction
        diff = (grad_dir - (angle + math.pi / 2)) % math.pi
        assert min(diff, math.pi - diff) < math.radians(8), (angle, grad_dir)
