"""`bop_gt.model_depth`'s silhouette count and box (counted as the canvas is drawn) against numpy on the canvas."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from domrand.io.bop_gt import model_depth


def numpy_extent(canvas: np.ndarray) -> tuple[int, int, int, int, int]:
    drawn = canvas > 0
    if not drawn.any():
        return 0, 0, -1, 0, -1
    ys, xs = np.flatnonzero(drawn.any(axis=1)), np.flatnonzero(drawn.any(axis=0))
    return int(drawn.sum()), int(ys[0]), int(ys[-1]), int(xs[0]), int(xs[-1])


@pytest.mark.parametrize("seed", range(12))
def test_model_depth_extent_matches_the_canvas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mesh = [
        trimesh.creation.box((40, 60, 30)),
        trimesh.creation.icosphere(2, 35.0),
        trimesh.creation.annulus(10, 30, 20),
    ][seed % 3]
    r = trimesh.transformations.random_rotation_matrix(rng.random(3))[:3, :3]
    # in front of the camera, sometimes far off the image (on the canvas around it) or off the canvas altogether
    t = np.array([*rng.uniform(-500, 500, 2), rng.uniform(300, 900)])
    k = np.array([[150.0, 0.0, 63.5], [0.0, 150.0, 63.5], [0.0, 0.0, 1.0]])
    canvas, extent = model_depth(np.asarray(mesh.vertices), np.asarray(mesh.faces), r, t, k, (128, 128))
    assert extent == numpy_extent(canvas)


def test_model_depth_extent_of_a_model_behind_the_camera_is_empty() -> None:
    mesh = trimesh.creation.box((40, 40, 40))
    k = np.array([[150.0, 0.0, 63.5], [0.0, 150.0, 63.5], [0.0, 0.0, 1.0]])
    canvas, extent = model_depth(
        np.asarray(mesh.vertices), np.asarray(mesh.faces), np.eye(3), np.array([0, 0, -500.0]), k, (128, 128)
    )
    assert extent == (0, 0, -1, 0, -1) and not canvas.any()


def test_a_reused_canvas_draws_each_model_as_a_fresh_one_and_clears_to_zeros() -> None:
    """The BOP writer keeps one canvas and clears what each model drew (`clear_canvas`) instead of a fresh 0.6 MB
    canvas per model: every model reads the same depths either way, and the canvas ends all zeros."""
    from domrand.io.bop_gt import clear_canvas

    rng = np.random.default_rng(7)
    k = np.array([[150.0, 0.0, 63.5], [0.0, 150.0, 63.5], [0.0, 0.0, 1.0]])
    shared = np.zeros((384, 384), dtype=np.float32)
    for i in range(9):
        mesh = [trimesh.creation.box((40, 60, 30)), trimesh.creation.icosphere(2, 35.0)][i % 2]
        r = trimesh.transformations.random_rotation_matrix(rng.random(3))[:3, :3]
        t = np.array([*rng.uniform(-400, 400, 2), rng.uniform(300, 900)])
        v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
        fresh, extent = model_depth(v, f, r, t, k, (128, 128))
        reused, extent2 = model_depth(v, f, r, t, k, (128, 128), shared)
        assert reused is shared and extent2 == extent and np.array_equal(reused, fresh)
        clear_canvas(shared, extent)
        assert not shared.any()
