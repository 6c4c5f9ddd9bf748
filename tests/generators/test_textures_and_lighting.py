"""Texture, lighting and camera generators: shapes, ranges, determinism, and analytic checks."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import pytest
import torch
from domrand.generators import cameras, lighting
from domrand.generators import textures as tx

B, S = 4, 32


def colours(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(B, 3, generator=g), torch.rand(B, 3, generator=g)


ALL = {
    "flat": lambda c0, c1: tx.flat(c0, S),
    "linear_gradient": lambda c0, c1: tx.linear_gradient(c0, c1, torch.linspace(0, 3, B), S),
    "radial_gradient": lambda c0, c1: tx.radial_gradient(
        c0, c1, torch.rand(B, 2, generator=torch.Generator().manual_seed(1)), torch.full((B,), 0.5), S
    ),
    "checker": lambda c0, c1: tx.checker(c0, c1, torch.tensor([2.0, 3.0, 4.0, 8.0]), torch.linspace(0, 1, B), S),
    "stripes": lambda c0, c1: tx.stripes(
        c0, c1, torch.tensor([2.0, 3.0, 4.0, 8.0]), torch.linspace(0, 1, B), torch.full((B,), 0.3), S
    ),
    "noise": lambda c0, c1: tx.noise(c0, c1, torch.arange(B), torch.tensor([2, 3, 4, 5]), S),
    "blend": lambda c0, c1: tx.blend(
        tx.flat(c0, S), tx.flat(c1, S), tx.value_noise(torch.arange(B), torch.full((B,), 2), S)
    ),
}


@pytest.mark.parametrize("kind", list(ALL))
def test_texture_contract(kind):
    c0, c1 = colours(0)
    a, b = ALL[kind](c0, c1), ALL[kind](c0, c1)
    assert a.shape == (B, S, S, 3) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    # Every texel is a mix of the two colours (on the segment between them).
    if kind != "flat":
        t = ((a - c0[:, None, None]) * (c1 - c0)[:, None, None]).sum(-1) / ((c1 - c0) ** 2).sum(-1)[:, None, None]
        recon = c0[:, None, None] + t.clamp(0, 1)[..., None] * (c1 - c0)[:, None, None]
        assert (recon - a).abs().max() < 1e-5
    # A texture's pixels do not depend on the other textures in its batch.
    single = ALL[kind](c0[1:2].expand(B, 3).contiguous(), c1[1:2].expand(B, 3).contiguous())
    if kind in ("flat",):
        assert torch.equal(single[0], a[1])


def test_checker_has_the_asked_cells_and_two_colours():
    c0, c1 = torch.zeros(1, 3), torch.ones(1, 3)
    t = tx.checker(c0, c1, torch.tensor([4.0]), torch.zeros(1), 32)[0, ..., 0]
    assert set(t.unique().tolist()) == {0.0, 1.0}
    # 4 cells across 32 texels: runs of 8 along a row (the pattern is centred on the texture's middle).
    row = t[0]
    changes = (row[1:] != row[:-1]).nonzero().flatten() + 1
    assert torch.equal(torch.diff(changes), torch.full((len(changes) - 1,), 8))


def test_value_noise_tiles_seamlessly_and_spans_a_range():
    v = tx.value_noise(torch.arange(8), torch.full((8,), 4), 64)
    assert 0 <= float(v.min()) and float(v.max()) <= 1 and float(v.std()) > 0.05
    # Seamless: the jump across the wrap-around edge is no larger than jumps inside the texture.
    inner = (v[:, :, 1:] - v[:, :, :-1]).abs().max()
    wrap = (v[:, :, 0] - v[:, :, -1]).abs().max()
    assert wrap <= inner * 1.5


def test_image_crops_and_folder_loading(tmp_path):
    from PIL import Image

    img = torch.zeros(64, 64, 3, dtype=torch.uint8)
    img[:, 32:] = 255
    Image.fromarray(img.numpy()).save(tmp_path / "half.png")
    images = tx.load_image_folder(str(tmp_path), max_side=64)
    left = tx.image_crops(images, torch.tensor([0]), torch.tensor([[0.0, 0.0, 0.4]]), torch.ones(1, 3), 16)
    right = tx.image_crops(
        images, torch.tensor([0]), torch.tensor([[0.6, 0.0, 0.4]]), torch.tensor([[0.5, 1.0, 1.0]]), 16
    )
    assert left.max() == 0 and torch.allclose(right[0, ..., 0], torch.full((16, 16), 0.5))


def test_empty_or_missing_image_folder_is_one_clear_error(tmp_path):
    with pytest.raises(ValueError, match="holds no"):
        tx.load_image_folder(str(tmp_path))
    with pytest.raises(ValueError, match="does not exist"):
        tx.load_image_folder(str(tmp_path / "nope"))


def test_kelvin_to_rgb_is_warm_to_cool():
    rgb = lighting.kelvin_to_rgb(torch.tensor([2000.0, 6500.0, 12000.0]))
    assert rgb[0, 0] > rgb[0, 2] and rgb[2, 2] > rgb[2, 0]
    assert torch.allclose(rgb.amax(-1), torch.ones(3))


def test_hemisphere_directions_are_unit_and_upward():
    g = torch.Generator().manual_seed(0)
    d = lighting.hemisphere(torch.rand(100, generator=g) * 6.28, torch.rand(100, generator=g) * 1.5 + 0.01)
    assert torch.allclose(d.norm(dim=-1), torch.ones(100), atol=1e-6) and (d[:, 2] > 0).all()


def test_top_down_camera_looks_down_and_tilts_by_the_asked_angle():
    k, t = cameras.top_down(
        0.7,
        math.radians(45),
        (128, 128),
        torch.zeros(2, 3),
        torch.tensor([[0.0, 0.0], [math.radians(3), 0.0]]),
        torch.zeros(2),
    )
    z = t[:, :3, 2]
    assert torch.allclose(z[0], torch.tensor([0.0, 0.0, -1.0]), atol=1e-6)
    assert abs(math.degrees(math.acos(float(-z[1, 2]))) - 3.0) < 1e-3
    assert torch.allclose(torch.rad2deg(cameras.fov_from_intrinsics(k)), torch.full((2,), 45.0))


def test_generators_never_import_domrand():
    root = Path(__file__).resolve().parents[2] / "generators"
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n == "domrand" or n.startswith("domrand.") for n in names), f"{path} imports {names}"
