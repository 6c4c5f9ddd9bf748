"""`domrand bench generate`'s stage breakdown renders a chunk as `domrand generate` does: `--batch-size` scenes at a
time, so a chunk larger than a batch is timed as it runs (a whole chunk at once is slower per image)."""

from __future__ import annotations

import dataclasses

from domrand.config import load_config
from domrand.tools.bench.stages import breakdown


def test_breakdown_renders_a_chunk_batch_by_batch(render_sizes):
    cfg = dataclasses.replace(load_config(overrides={"image_size": 16}), chunk_size=10)
    ms = breakdown(cfg, chunks=1, batch=4)
    assert render_sizes == [4, 4, 2, 4, 4, 2]  # the warm-up chunk, then the timed one: 10 scenes in batches of 4
    for stage in ("sample", "render", "image noise", "quantize", "labels", "write native", "write bop"):
        assert ms[stage] > 0


def test_breakdown_renders_several_small_chunks_at_once_as_generate_does(render_sizes):
    """Chunks of 4 and batches of 8: `generate` renders two chunks in one batch (`ChunkRunner.render_many`)."""
    cfg = dataclasses.replace(load_config(overrides={"image_size": 16}), chunk_size=4)
    ms = breakdown(cfg, chunks=3, batch=8)
    assert render_sizes == [8, 8, 4]  # the warm-up group of two chunks, then the three timed ones: two, then one
    for stage in ("sample", "render", "labels", "write native", "write jsonl"):
        assert ms[stage] > 0
