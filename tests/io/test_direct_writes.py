"""Large files written with O_DIRECT (`io.store.LocalStore._write_direct`): the same bytes as through the page
cache, whatever the pieces; the page cache's way where the file system refuses it; errors as before."""

from __future__ import annotations

import errno
import os

import numpy as np
import pytest

from domrand.cli import main
from domrand.io import store
from domrand.io.files import TMP_SUFFIX, DatasetWriteError


def _direct_works(folder) -> bool:
    if not hasattr(os, "O_DIRECT"):
        return False
    try:
        fd = os.open(os.path.join(folder, "probe"), os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o666)
    except OSError:
        return False
    os.close(fd)
    os.unlink(os.path.join(folder, "probe"))
    return True


@pytest.fixture
def small_stage(monkeypatch):
    """A 64 KiB staging buffer and 1 KiB threshold, so that small files take the direct path through several fills."""
    monkeypatch.setattr(store, "DIRECT_BUFFER", 64 << 10)
    monkeypatch.setattr(store, "DIRECT_MIN", 1 << 10)


def _opened_direct(monkeypatch) -> list[str]:
    """The paths os.open opened with O_DIRECT from now on."""
    seen: list[str] = []
    real = os.open

    def spy(path, flags, *args):
        if flags & getattr(os, "O_DIRECT", 0):
            seen.append(str(path))
        return real(path, flags, *args)

    monkeypatch.setattr(store.os, "open", spy)
    return seen


@pytest.mark.parametrize(
    "sizes",
    [[3 << 10], [64 << 10], [(64 << 10) + 1], [5, 70_001, 4096, 1, 200_000], [(64 << 10) - 7, 7, 1 << 16, 13]],
)
def test_a_direct_write_has_the_bytes_of_its_pieces(tmp_path, small_stage, monkeypatch, sizes):
    if not _direct_works(tmp_path):
        pytest.skip("the temporary folder's file system refuses O_DIRECT")
    rng = np.random.default_rng(len(sizes) * 1000 + sizes[0])
    parts = [rng.integers(0, 256, n, dtype=np.uint8) for n in sizes]
    opened = _opened_direct(monkeypatch)
    s = store.LocalStore(tmp_path)
    s.write("a/shard.bin", [p.data for p in parts], sync=False)
    s.write("b/shard.bin", [p.data for p in parts])  # with the fsync
    assert len(opened) == 2 and s._direct, "the direct path was not taken"
    want = b"".join(p.tobytes() for p in parts)
    assert (tmp_path / "a/shard.bin").read_bytes() == want
    assert (tmp_path / "b/shard.bin").read_bytes() == want
    assert not list(tmp_path.rglob(f"*{TMP_SUFFIX}"))


def test_small_files_go_through_the_page_cache(tmp_path, monkeypatch):
    opened = _opened_direct(monkeypatch)
    s = store.LocalStore(tmp_path)
    s.write("x.json", b"{}")
    s.write("y.bin", [b"a" * 1000, memoryview(b"b" * 1000)])
    assert opened == []
    assert (tmp_path / "y.bin").read_bytes() == b"a" * 1000 + b"b" * 1000


def test_a_file_system_that_refuses_direct_writes_gets_page_cache_ones(tmp_path, small_stage, monkeypatch):
    real = os.open

    def refusing(path, flags, *args):  # what tmpfs answers
        if flags & getattr(os, "O_DIRECT", 0):
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(path, flags, *args)

    monkeypatch.setattr(store.os, "open", refusing)
    s = store.LocalStore(tmp_path)
    data = bytes(range(256)) * 400
    s.write("c.bin", data)
    assert (tmp_path / "c.bin").read_bytes() == data
    assert not s._direct, "a refusing file system is asked once, not for every file"
    assert not list(tmp_path.rglob(f"*{TMP_SUFFIX}"))


def test_a_refused_direct_write_starts_again_through_the_page_cache(tmp_path, small_stage, monkeypatch):
    if not _direct_works(tmp_path):
        pytest.skip("the temporary folder's file system refuses O_DIRECT")
    calls = {"n": 0}
    real = os.write

    def failing_second(fd, buf):  # the device refuses a piece halfway (an unaligned one)
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, buf)

    monkeypatch.setattr(store.os, "write", failing_second)
    s = store.LocalStore(tmp_path)
    data = os.urandom(200_000)
    s.write("d.bin", data)
    assert (tmp_path / "d.bin").read_bytes() == data and not s._direct


def test_a_full_disk_during_a_direct_write_is_one_clear_error_and_leaves_nothing(tmp_path, small_stage, monkeypatch):
    if not _direct_works(tmp_path):
        pytest.skip("the temporary folder's file system refuses O_DIRECT")

    def full(fd, buf):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store.os, "write", full)
    s = store.LocalStore(tmp_path)
    with pytest.raises(DatasetWriteError, match="no space left on the device"):
        s.write("e.bin", os.urandom(100_000))
    assert not (tmp_path / "e.bin").exists() and not list(tmp_path.rglob(f"*{TMP_SUFFIX}"))


def test_native_shards_written_directly_equal_page_cache_ones(tmp_path, monkeypatch):
    """A 128 px chunk's shard (9.8 MB, over `DIRECT_MIN`) either way: the same dataset, file for file."""
    if not _direct_works(tmp_path):
        pytest.skip("the temporary folder's file system refuses O_DIRECT")
    args = ["generate", "--num", "16", "--size", "128", "--chunk-size", "16", "--format", "native", "--quiet"]
    opened = _opened_direct(monkeypatch)
    assert main([*args, "--out", str(tmp_path / "direct")]) == 0
    assert any(p.endswith(".bin" + TMP_SUFFIX) for p in opened), "the shard was not written directly"
    monkeypatch.setattr(store.LocalStore, "_write_direct", lambda self, tmp, parts, sync: False)
    assert main([*args, "--out", str(tmp_path / "cached")]) == 0
    files = sorted(p.relative_to(tmp_path / "direct") for p in (tmp_path / "direct").rglob("*") if p.is_file())
    assert any(f.suffix == ".bin" for f in files)
    for f in files:
        assert (tmp_path / "direct" / f).read_bytes() == (tmp_path / "cached" / f).read_bytes(), f
