"""The compiled texture kernel against its reference, the torch generators of `domrand.generators.textures`."""

from __future__ import annotations

import pytest
import torch

from domrand.randomizers.texture import KINDS, PROCEDURAL_KINDS, TextureRandomizer, generate, synthesize


@pytest.mark.parametrize("size", [20, 32, 33])  # sizes that are and are not multiples of the kernel's tiles
def test_kernel_matches_the_torch_reference_for_every_kind(size, tmp_path):
    from PIL import Image

    img = (torch.arange(64 * 64 * 3) % 251).to(torch.uint8).reshape(64, 64, 3)
    Image.fromarray(img.numpy()).save(tmp_path / "a.png")
    r = TextureRandomizer(kinds=KINDS, size=size, image_folder=str(tmp_path))
    spec = r.sample_spec(600, rng=torch.Generator().manual_seed(size))
    assert set(spec.kind.tolist()) == set(range(len(KINDS)))  # every kind drawn
    kernel, reference = synthesize(spec, size, r.images()), generate(spec, size, r.images())
    diff = (kernel.int() - reference.int()).abs()
    for k, name in enumerate(KINDS):
        assert int(diff[spec.kind == k].max()) <= 1, name  # within one uint8 step, texel for texel


def test_new_kinds_keep_the_stored_indices_of_the_old():
    """Kinds are stored as indices: the first eight keep theirs, so stored texture rows still replay."""
    old = ("flat", "linear_gradient", "radial_gradient", "checker", "stripes", "noise", "blend", "image")
    assert KINDS[: len(old)] == old
    assert "image" not in PROCEDURAL_KINDS and set(PROCEDURAL_KINDS) | {"image"} == set(KINDS)


@pytest.mark.parametrize("size", [16, 64, 128])
def test_strokes_painted_last_to_first_match_the_reference(size):
    """The kernel paints strokes over their own rectangles only (last to first): every texel must still take
    its first stroke, for strokes longer than the texture (cells 1), thin ones (cells 40), and angles where the
    rectangle's axes are the texture's (0, pi / 2: a row's span is then bounded by one pair of edges alone)."""
    r = TextureRandomizer(kinds=("strokes",), size=size)
    spec = r.sample_spec(48, rng=torch.Generator().manual_seed(size))
    cells = torch.tensor([1.0, 2.0, 5.0, 16.0, 40.0, 3.0] * 8)
    angle = torch.tensor([0.0, torch.pi / 2, torch.pi / 4, 1.0] * 12)
    duty = torch.tensor([0.0, 0.5, 1.0] * 16)  # 0: every stroke at `angle` exactly
    spec = type(spec)(**{**spec.tensors(), "cells": cells, "angle": angle, "duty": duty})
    kernel, reference = synthesize(spec, size, r.images()), generate(spec, size, r.images())
    assert int((kernel.int() - reference.int()).abs().max()) <= 1
    assert (kernel != kernel[:, :1, :1]).any()  # strokes were drawn, not only the background
