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
