"""The adapters' shared texture pieces."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from domrand.config import preset_data
from domrand.sims.common import DEFAULT_KINDS, check_kinds, texture_pixels, texture_specs


def test_regression_adapter_default_kinds_lacked_the_photo_like_kinds():
    """The adapters' default kinds were the original seven; the dataset preset they mirror has ten."""
    tabletop = preset_data("tabletop")["textures"]["kinds"]
    assert set(tabletop) <= set(DEFAULT_KINDS)
    for kind in ("dead_leaves", "stones", "strokes"):
        spec = texture_specs(4, (kind,), torch.Generator().manual_seed(0))
        pixels = np.stack([texture_pixels(spec, i, 64) for i in range(4)])
        assert pixels.shape == (4, 64, 64, 3) and pixels.dtype == np.uint8
        assert pixels.reshape(4, -1, 3).std(axis=1).mean() > 5  # patterned, not a flat fill


def test_image_kind_and_unknown_kinds_are_refused_by_name():
    with pytest.raises(ValueError, match="plaid"):
        check_kinds(("flat", "plaid"))
    with pytest.raises(ValueError, match="image"):
        check_kinds(("image",))
