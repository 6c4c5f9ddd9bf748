"""The reality-gap set's distractor meshes (experiments/localization/make_reality_gap.py), without rendering."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import numpy as np
import pytest

pybullet_data = pytest.importorskip("pybullet_data")
trimesh = pytest.importorskip("trimesh")

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "localization" / "make_reality_gap.py"


def _gap():
    spec = importlib.util.spec_from_file_location("make_reality_gap", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_regression_gap_jenga_block_was_a_cube():
    """Version 1 of the set loaded pybullet_data's jenga.obj alone: a unit cube, which jenga.urdf stretches into
    the block. Scaled to a 5 cm extent it was a second copy of the target's shape, and most of the committed
    model's misdetections landed on it. The block now has its URDF's proportions."""
    gap = _gap()
    assert gap.GAP_VERSION >= 2
    root = pybullet_data.getDataPath()
    urdf = Path(root, "jenga", "jenga.urdf").read_text()
    scale = [float(v) for v in re.search(r'filename="jenga.obj"\s+scale="([^"]+)"', urdf).group(1).split()]
    ext, _ = gap.shaped_extents(os.path.join(root, "jenga/jenga.obj"), "jenga/jenga.obj")
    np.testing.assert_allclose(ext / ext.max(), np.array(scale) / max(scale), rtol=1e-6)


def test_no_distractor_of_the_gap_set_has_the_targets_shape():
    """The target is a cube; no distractor mesh may be one (three equal extents filling their box)."""
    gap = _gap()
    root = pybullet_data.getDataPath()
    for name in gap.MESHES:
        path = os.path.join(root, name)
        ext, _ = gap.shaped_extents(path, name)
        m = trimesh.load(path, force="mesh")
        m.apply_scale(gap.AXIS_SCALE.get(name, (1.0, 1.0, 1.0)))
        fill = m.convex_hull.volume / float(np.prod(ext))
        equal_sides = ext.min() > 0.9 * ext.max()
        assert not (equal_sides and fill > 0.9), f"{name} is cube-shaped: extents {ext}, fills {fill:.0%} of its box"
