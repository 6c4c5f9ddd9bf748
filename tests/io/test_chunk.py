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


def test_params_json_is_dumpb_of_params_rows_byte_for_byte() -> None:
    """The jsonl writer's parameters are spliced in as `Chunk.params_json`: it must be the bytes `dumpb` (sorted
    keys) gives of each image's `params_rows` dict: names and fields out of order, float32 values (shortest
    float64 text of each), signed zeros, tiny and huge values, bools, ints, an empty field and a chunk without
    parameters."""
    from domrand.io.files import dumpb

    rng = np.random.default_rng(1)
    tricky = np.array([-0.0, 1e-30, 3.4e38, 0.1, -1.5, 2.0**-149, 7.0, 1.0 / 3.0], np.float32)
    arrays = {
        "params.textures.tint": rng.random((8, 2, 3)).astype(np.float32),
        "params.camera.roll": tricky,
        "params.camera.eye_offset": rng.normal(size=(8, 3)).astype(np.float32),
        "params.noise.seed": rng.integers(0, 2**62, 8),
        "params.lighting.point": rng.random((8, 4)) < 0.5,
        "params.lighting.azimuth": rng.random((8, 0)).astype(np.float32),
        "params.a_first.x": np.arange(8, dtype=np.float64) / 7.0,
        "label.present": np.ones((8, 2), bool),
    }
    shape = (8, 2, 2)
    chunk = Chunk(0, 0, np.zeros((*shape, 3), np.uint8), np.zeros(shape, np.float32), np.zeros(shape, np.int16),
                  arrays, ("cube",))  # fmt: skip
    assert chunk.params_json() == [dumpb(row) for row in chunk.params_rows()]
    bare = Chunk(0, 0, np.zeros((*shape, 3), np.uint8), np.zeros(shape, np.float32), np.zeros(shape, np.int16),
                 {"label.present": np.ones((8, 2), bool)}, ("cube",))  # fmt: skip
    assert bare.params_json() == [b"{}"] * 8 == [dumpb(row) for row in bare.params_rows()]


def test_row_json_cuts_one_dump_into_the_rows_dumps() -> None:
    """`_row_json` cuts the JSON of a whole array into its rows' JSON: the same bytes as dumping each row, for
    1 to 4 dimensions, one row, empty dimensions, floats, ints and bools."""
    from domrand.io.chunk import _row_json
    from domrand.io.files import dumpb

    rng = np.random.default_rng(0)
    shapes = [(5,), (5, 3), (5, 14, 3), (5, 2, 2, 2), (1, 3), (1,), (2, 1, 1), (5, 0), (5, 0, 3), (5, 3, 0), (0, 3)]
    for shape in shapes:
        floats = (rng.normal(size=shape) * 10.0 ** rng.integers(-8, 8, shape)).astype(np.float32)
        for a in (floats, rng.integers(-(2**40), 2**40, shape), rng.random(shape) < 0.5):
            assert _row_json(a) == [dumpb(row) for row in a.tolist()], (shape, a.dtype)
