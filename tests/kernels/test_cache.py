"""The compiled kernels' cache folder is named by every source compiled into them."""

from __future__ import annotations

import os

from domrand.kernels import cache


def test_regression_a_changed_shade_source_ran_stale_compiled_render_code(tmp_path):
    """numba keys a kernel's cache by its own file: `raster.render_batch` kept its old compiled `shade` code after
    shade.py changed. The folder's digest covers every kernel source, so a change to any one of them moves it."""
    names = {p.name for p in cache.SOURCES}
    assert {"raster.py", "shade.py", "frontend.py", "textures.py", "silhouettes.py", "noise.py"} <= names
    copies = []
    for i, p in enumerate(cache.SOURCES):
        q = tmp_path / f"{i}_{p.name}"
        q.write_bytes(p.read_bytes())
        copies.append(q)
    before = cache.digest(tuple(copies))
    shade = next(q for q in copies if q.name.endswith("_shade.py"))
    shade.write_text(shade.read_text() + "\n# changed\n")
    assert cache.digest(tuple(copies)) != before


def test_the_kernels_cache_lives_under_the_digest_unless_the_user_chose_a_folder():
    import numba

    from domrand.kernels import noise, outlines, png, raster, rle, silhouettes, textures

    paths = [
        f._cache._cache_path
        for f in (
            raster.render_batch,
            textures.synthesize,
            noise.degrade,
            silhouettes.mask_stats,
            outlines.outlines,
            png.deflate_rgb,
            rle.instance_counts,
        )
    ]
    if os.environ.get("NUMBA_CACHE_DIR"):
        assert all(p.startswith(os.environ["NUMBA_CACHE_DIR"]) for p in paths)
    else:
        assert all(f"numba-{cache.digest()}" in p for p in paths)
        assert numba.config.CACHE_DIR == ""  # put back: the user's own numba functions cache where numba puts them
