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


def test_regression_a_test_calling_an_internal_kernel_crashed_the_interpreter():
    """A kernel built with `cache.INTERNAL` has no Python entry point: calling `shade._shadow_row` from a test
    (tests/render/test_shadow_on_the_lights_plane.py) killed pytest with a segmentation fault. Every kernel so
    marked must be one no Python code outside `domrand/kernels` names."""
    import ast
    from pathlib import Path

    root = Path(cache.HERE).parents[1]
    internal = set()
    for src in sorted(cache.HERE.glob("*.py")):
        for node in ast.walk(ast.parse(src.read_text())):
            if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call)
                and any(k.arg is None and getattr(k.value, "id", "") == "INTERNAL" for k in d.keywords)
                for d in node.decorator_list
            ):
                internal.add(node.name)
    assert {"_shade_scene", "_light_row", "_dead_leaves", "_write_zlib"} <= internal  # the scan finds them
    python = [p for d in ("domrand", "tests", "experiments") for p in (root / d).rglob("*.py")]
    python = [p for p in python if cache.HERE not in p.parents and p != Path(__file__).resolve()]
    named = set()
    for p in python:  # names in code (imports, attributes, calls), not in docstrings or comments
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Name) and node.id in internal:
                named.add((node.id, p.name))
            elif isinstance(node, ast.Attribute) and node.attr in internal:
                named.add((node.attr, p.name))
            elif isinstance(node, ast.ImportFrom):
                named.update((a.name, p.name) for a in node.names if a.name in internal)
    assert not named, f"Python code outside domrand/kernels names kernels without a Python entry point: {named}"
