"""The compiled keypoint visibility (`kernels.keypoints`) against its torch reference
(`labels.keypoint_visibility_torch`): the same flags on rendered batches and on inputs built to sit on every
boundary the flags depend on (pixel edges, the image's border, the depth tolerance, z <= 0, a NaN depth, extent
or focal length; a NaN pixel place crashes the reference, and no render makes one)."""

from __future__ import annotations

import numpy as np
import torch

from domrand.labels import (
    KEYPOINT_TOL_EXTENT,
    KEYPOINT_TOL_M,
    KEYPOINT_TOL_PX,
    keypoint_visibility,
    keypoint_visibility_torch,
)


def _edge_case_batch(seed: int, b: int = 6, k: int = 5, h: int = 9, w: int = 11) -> tuple[torch.Tensor, ...]:
    rng = np.random.default_rng(seed)
    instance = rng.integers(-1, k, size=(b, h, w)).astype(np.int32)
    depth = rng.uniform(0.52, 0.98, size=(b, h, w)).astype(np.float32)  # one binade: d + 2^-9 is exact
    fx = rng.uniform(50, 400, size=b).astype(np.float32)
    extents = rng.uniform(0.001, 0.2, size=(b, k, 3)).astype(np.float32)
    u = rng.uniform(-2, w + 1, size=(b, k, 9)).astype(np.float32)
    v = rng.uniform(-2, h + 1, size=(b, k, 9)).astype(np.float32)
    u[:, :, ::3] = np.round(u[:, :, ::3]) - np.float32(0.5)  # on a pixel's edge: floor(u + 0.5) decides
    v[:, :, 1::3] = np.round(v[:, :, 1::3]) + np.float32(0.5)
    # each keypoint's depth at, just inside and just outside the tolerance of the pixel it lands on
    px = np.clip(np.floor(u + np.float32(0.5)), 0, w - 1).astype(int)
    py = np.clip(np.floor(v + np.float32(0.5)), 0, h - 1).astype(int)
    d = depth[np.arange(b)[:, None, None], py, px]

    def tol(z: np.ndarray) -> np.ndarray:  # the reference's float32 tolerance at depth z
        a = (np.float32(KEYPOINT_TOL_M) + np.float32(KEYPOINT_TOL_PX) * z / fx[:, None, None]).astype(np.float32)
        return np.minimum(a, np.float32(KEYPOINT_TOL_EXTENT) * extents.min(-1)[..., None]).astype(np.float32)

    # Half the slots have a smallest extent of 2^-7 or 2^-8 m: the tolerance is then a quarter of it (below the
    # 2 mm term), a power of two, and a keypoint at d plus it lies exactly on the tolerance of the depth d of its
    # pixel; then one float32 step nearer or farther for a third of the keypoints each.
    extents[:, ::2] = rng.choice([2.0**-7, 2.0**-8], size=(b, (k + 1) // 2, 1)).astype(np.float32)
    z = (d + tol(d)).astype(np.float32)
    on_edge = np.abs(d - z) == tol(z)
    assert on_edge[:, ::2].all() and on_edge.mean() > 0.4
    step = rng.integers(-1, 2, size=d.shape)
    z = np.where(step < 0, np.nextafter(z, np.float32(0)), np.where(step > 0, np.nextafter(z, np.float32(9)), z))
    z[:, :, 7] = rng.choice([0.0, -0.1, np.nan, 0.5], size=(b, k)).astype(np.float32)  # behind, on the plane, NaN
    extents[1, 1, 0] = np.nan
    fx[2] = np.nan
    kps = np.stack([u, v, z], -1).astype(np.float32)
    return tuple(torch.from_numpy(a) for a in (kps, instance, depth, fx, extents))


def test_kernel_matches_torch_on_boundaries() -> None:
    for seed in range(20):
        args = _edge_case_batch(seed)
        got, want = keypoint_visibility(*args), keypoint_visibility_torch(*args)
        assert got.dtype == want.dtype == torch.int8
        assert torch.equal(got, want), seed
        assert set(torch.unique(want).tolist()) == {0, 1, 2}, seed  # every flag occurs: the test can fail


def test_kernel_matches_torch_on_rendered_batches(monkeypatch) -> None:
    import domrand.labels as labels
    from domrand.config import load_config
    from domrand.rng import chunk_rng

    for preset in ("tabletop", "grasping"):
        pipe = load_config(preset, overrides={"image_size": 64}).pipeline()
        frame = pipe.render(pipe.sample(16, rng=chunk_rng(3, 0)))
        got = labels.compute(frame.scene, frame.instance, frame.silhouette, frame.clean_depth).keypoint_visibility
        with monkeypatch.context() as m:
            m.setattr(labels, "keypoint_visibility", keypoint_visibility_torch)
            want = labels.compute(frame.scene, frame.instance, frame.silhouette, frame.clean_depth)
        assert torch.equal(got, want.keypoint_visibility), preset
        assert (want.keypoint_visibility == 2).any() and (want.keypoint_visibility == 1).any(), preset
