"""`Chunk`: what every writer reads, built once per chunk."""

from __future__ import annotations

import numpy as np

from domrand.io.chunk import Chunk, params_row


def test_params_rows_are_params_row_of_every_image() -> None:
    """The per-chunk fast path gives what the per-image `params_row` (which replay reads) gives."""
    rng = np.random.default_rng(0)
    arrays = {
        "params.camera.roll": rng.random(5).astype(np.float32),
        "params.textures.color0": rng.random((5, 3, 3)).astype(np.float32),
        "params.textures.kind": rng.integers(0, 9, (5, 3)),
        "params.lighting.point": rng.random((5, 4)) < 0.5,
        "label.present": np.ones((5, 2), bool),
    }
    chunk = Chunk(0, 0, np.zeros((5, 2, 2, 3), np.uint8), np.zeros((5, 2, 2), np.float32),
                  np.zeros((5, 2, 2), np.int16), arrays, ("cube",))  # fmt: skip
    rows = chunk.params_rows()
    assert rows == [params_row(arrays, i) for i in range(5)]
    assert set(rows[0]) == {"camera", "textures", "lighting"} and "label" not in rows[0]
