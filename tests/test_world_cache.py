"""The built-in procedural meshes are built once a machine and read back from the cache folder (`world.random_object`,
`cachedir`): the same tensors as building them, and a damaged file is built again."""

from __future__ import annotations

import pytest
import torch
from domrand.generators.meshes import procedural

from domrand import world


def _same(a, b) -> bool:
    fields = ("vertices", "faces", "normals", "uvs")
    return (
        all(torch.equal(getattr(a, k), getattr(b, k)) and getattr(a, k).dtype == getattr(b, k).dtype for k in fields)
        and a.name == b.name
        and len(a.parts) == len(b.parts)
        and all(torch.equal(x, y) and x.dtype == y.dtype for x, y in zip(a.parts, b.parts))
    )


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    world._meshes_folder.cache_clear()
    yield tmp_path
    world._meshes_folder.cache_clear()


def test_a_cached_procedural_mesh_is_the_mesh_built(cache):
    seeds = range(7, 13)  # every family the seeds choose: unions, superquadrics, extrusions
    built = [world.random_object(s) for s in seeds]
    files = sorted(cache.rglob("random_object_*.npz"))
    assert len(files) == len(seeds), files
    read = [world.random_object(s) for s in seeds]
    ref = [procedural.random_object(s) for s in seeds]
    assert {m.name for m in ref} >= {"convex_union"} and len({m.name for m in ref}) > 1
    assert all(_same(a, b) and _same(c, b) for a, b, c in zip(built, ref, read))


def test_a_damaged_cached_mesh_is_built_again(cache):
    world.random_object(3)
    (path,) = cache.rglob("random_object_3.npz")
    path.write_bytes(b"not a zip file")
    assert _same(world.random_object(3), procedural.random_object(3))
    assert _same(world.random_object(3), procedural.random_object(3)), "the damaged file was not replaced"
    assert path.read_bytes()[:2] == b"PK"
