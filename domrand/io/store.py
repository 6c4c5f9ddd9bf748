"""Where a dataset is written: a local folder, or any fsspec URL (s3://, gs://, file://, ...).

Every write is atomic from a reader's point of view: local files and fsspec files are written under a
temporary name and moved into place (on object stores a single PUT is atomic already). Paths are
relative to the dataset root and may not leave it. Operating-system failures become one
`DatasetWriteError` naming the path.

Example:
    >>> import tempfile
    >>> s = open_store(tempfile.mkdtemp())
    >>> s.write("a/b.json", b"{}"); s.exists("a/b.json"), s.read("a/b.json")
    (True, b'{}')
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from domrand.io.files import TMP_SUFFIX, DatasetWriteError, describe, inside


def _syncfs() -> Any:
    """libc's syncfs(fd) (Linux): flush one file system rather than all of them; None elsewhere."""
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):
        return None


_SYNCFS = _syncfs()

#: Files of at least this many bytes (a native chunk's shard: 9.8 MB at 128 px) bypass the page cache where the
#: file system allows it (Linux O_DIRECT), written from a page-aligned staging buffer of `DIRECT_BUFFER` bytes:
#: the device reads them from that buffer, with no copy into the page cache and no write-back later. On this
#: project's 2-core machines (ext4 in a VM), 64 shards each followed by a sync as the runner does (`domrand bench
#: generate`'s shard line, `tools.bench.stages.shard_write`): 2.3 to 24 ms of CPU a shard through the page cache
#: (24 after a few GB had been written in the minutes before), 1.3-1.4 ms direct; `domrand generate` of 8,192
#: native images used 0.4-1.1 s less CPU of the whole machine and ran -1 to +6 % faster (three alternated pairs).
#: The write returns once the device has the data (the runner's sync after a chunk waited for it before), and a
#: file read back soon after comes from the disk, not from memory.
DIRECT_MIN = 1 << 20
DIRECT_BUFFER = 8 << 20
DIRECT_ALIGN = 4096  # O_DIRECT writes whole blocks of the device's size (512 or 4096 bytes) from aligned memory


def _fill_and_write(fd: int, parts: list, stage: memoryview) -> int:
    """The buffers `parts`, one after another, written to `fd` through `stage` (page-aligned, a whole number of
    `DIRECT_ALIGN` blocks): each time it is full, then its filled blocks with the last one padded. Returns the
    bytes of `parts` (the file's length once cut)."""
    size = stage.nbytes
    total, fill = 0, 0
    for part in parts:
        src = memoryview(part).cast("B")
        at = 0
        while at < src.nbytes:
            n = min(size - fill, src.nbytes - at)
            stage[fill : fill + n] = src[at : at + n]
            fill, at = fill + n, at + n
            if fill == size:
                _write_all(fd, stage)
                total, fill = total + fill, 0
    if fill:
        padded = -(-fill // DIRECT_ALIGN) * DIRECT_ALIGN
        stage[fill:padded] = bytes(padded - fill)
        _write_all(fd, stage[:padded])
        total += fill
    return total


def _write_all(fd: int, buf: memoryview) -> None:
    """os.write until every byte of `buf` is written."""
    while buf.nbytes:
        buf = buf[os.write(fd, buf) :]


class LocalStore:
    """A dataset folder on this machine's file system (or a shared one)."""

    #: Whether a chunk's files are written on several threads (`files.for_each_file`). Not here: creating a
    #: file is the kernel's work (0.02 to 0.26 ms a file on this project's 2-core machines, varying by the hour,
    #: whatever its size), and two threads creating files side by side took 1.5 to 2.5 times the CPU of one
    #: thread in five paired runs of an image's three jsonl files, for no gain in time: CPU the renderer needs.
    parallel_writes = False

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)
        self._root = str(self.root)
        self._folders: set[str] = set()  # folders known to exist (a chunk writes thousands of files into a few)
        self._direct = hasattr(os, "O_DIRECT")  # off for good once the file system refuses it (tmpfs, some FUSE)
        self._staging: mmap.mmap | None = None  # `_write_direct`'s page-aligned buffer
        self._staging_lock = threading.Lock()

    def _write_direct(self, tmp: str, parts: list, sync: bool) -> bool:
        """Write the buffers `parts` to file `tmp` with O_DIRECT (`DIRECT_MIN`): copied into the staging buffer a
        piece at a time, each write whole blocks (the last one padded with zeros), then the file cut to its length.
        False where the file system refuses O_DIRECT (EINVAL: direct writes then stay off for this store) or the
        folder has gone: the caller writes through the page cache instead, from the start."""
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_DIRECT, 0o666)
        except OSError as e:
            if e.errno not in (errno.EINVAL, errno.ENOENT):
                raise
            self._direct = self._direct and e.errno != errno.EINVAL
            return False
        try:
            with self._staging_lock:
                if self._staging is None:
                    self._staging = mmap.mmap(-1, DIRECT_BUFFER)  # anonymous memory: page-aligned
                stage = memoryview(self._staging)
                try:
                    total = _fill_and_write(fd, parts, stage)
                finally:
                    stage.release()
            os.ftruncate(fd, total)
            if sync:
                os.fsync(fd)
        except OSError as e:
            if e.errno != errno.EINVAL:  # a write the device refused (an unaligned piece): the page cache's way
                raise
            self._direct = False
            return False
        finally:
            os.close(fd)
        return True

    def path(self, rel: str) -> Path:
        return Path(self._file(rel))

    def _file(self, rel: str) -> str:
        """The file `rel` under the root, as a string (the per-image files: pathlib's parsing was a tenth of a
        chunk's writing); refuses anything that would land outside the root (`files.inside` names it)."""
        if os.path.isabs(rel) or ".." in rel.replace(os.sep, "/").split("/"):
            inside(self.root, rel)  # raises the error that names the path
        return os.path.join(self._root, rel)

    def _folder_of(self, path: str) -> None:
        folder = os.path.dirname(path)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)

    def write(self, rel: str, data: bytes | memoryview | list, sync: bool = True, atomic: bool = True) -> None:
        """Write `data` (or a list of buffers, one after another) atomically: temporary name, flush, fsync,
        rename. With `sync=False` the fsync is left to one `sync()` for many files (a chunk's images: the
        runner syncs before it marks the chunk done). With `atomic=False` the file is written under its own name
        (replacing what is there): for files in a temporary folder that `replace_folder` moves into place whole
        (BOP's scenes)."""
        path = self._file(rel)
        tmp = path + TMP_SUFFIX if atomic else path
        parts = data if isinstance(data, list) else [data]
        try:
            self._folder_of(path)
            if (
                self._direct
                and sum(memoryview(p).nbytes for p in parts) >= DIRECT_MIN
                and self._write_direct(tmp, parts, sync)
            ):
                if atomic:
                    os.replace(tmp, path)
                return
            try:
                f = open(tmp, "wb")
            except FileNotFoundError:  # the folder went since it was made (a removed temporary folder)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                f = open(tmp, "wb")
            with f:
                for part in parts:
                    f.write(part)
                if sync:
                    f.flush()
                    os.fsync(f.fileno())
            if atomic:
                os.replace(tmp, path)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise DatasetWriteError(describe(e, Path(path))) from None

    def sync(self) -> None:
        """Make every file written with `sync=False` durable: one syncfs of the dataset's file system (all of
        them where syncfs is not available)."""
        try:
            fd = os.open(self.root, os.O_RDONLY)
        except OSError as e:
            raise DatasetWriteError(describe(e, self.root)) from None
        try:
            if _SYNCFS is None:
                os.sync()
            elif _SYNCFS(fd) != 0:  # a write the file system took but could not keep (a full disk, EIO)
                import ctypes

                err = ctypes.get_errno()
                raise DatasetWriteError(describe(OSError(err, os.strerror(err)), self.root))
        finally:
            os.close(fd)

    @contextlib.contextmanager
    def stream(self, rel: str) -> Iterator[BinaryIO]:
        """A binary file handle whose content appears at `rel` only when the block finishes."""
        path = self.path(rel)
        tmp = path.with_name(path.name + TMP_SUFFIX)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:
                yield f
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise DatasetWriteError(describe(e, path)) from None
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def read(self, rel: str) -> bytes:
        return self.path(rel).read_bytes()

    def open(self, rel: str) -> BinaryIO:
        return open(self.path(rel), "rb")

    def exists(self, rel: str) -> bool:
        return os.path.exists(self._file(rel))

    def list(self, rel: str) -> list[str]:
        """Names in folder `rel` (empty if it does not exist)."""
        p = self.path(rel) if rel else self.root
        return sorted(x.name for x in p.iterdir()) if p.is_dir() else []

    def write_copy(self, rel: str, src_rel: str, data: bytes, atomic: bool = True) -> None:
        """Write `data`, which equals the file `src_rel` already written: a hard link where the file system
        allows one (no second copy on disk), else a write (left to `sync`). `atomic` as in `write`: with False
        the link is made under its own name (replacing what is there)."""
        path, src = self._file(rel), self._file(src_rel)
        tmp = path + TMP_SUFFIX if atomic else path
        try:
            self._folder_of(path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            os.link(src, tmp)
            if atomic:
                os.replace(tmp, path)
        except OSError:
            self.write(rel, data, sync=False, atomic=atomic)

    def replace_folder(self, tmp_rel: str, final_rel: str) -> None:
        """Move folder `tmp_rel` to `final_rel`, replacing what is there."""
        final = self.path(final_rel)
        try:
            if final.exists():
                shutil.rmtree(final)
            os.replace(self.path(tmp_rel), final)
        except OSError as e:
            raise DatasetWriteError(describe(e, final)) from None

    def remove(self, rel: str) -> None:
        p = self.path(rel)
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)

    def clear(self) -> None:
        """Delete everything in the root (the caller checked it is a dataset) but the writer's lock."""
        for child in self.root.iterdir():
            if child.name != ".domrand.lock":
                shutil.rmtree(child) if child.is_dir() else child.unlink()

    def make_root(self) -> None:
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"output path {str(self.root)!r} exists and is not a folder")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DatasetWriteError(describe(e, self.root)) from None

    def remove_temporaries(self) -> int:
        n = 0
        for p in list(self.root.rglob(f"*{TMP_SUFFIX}")):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            n += 1
        return n

    def local_path(self) -> Path | None:
        return self.root


class FsspecStore(LocalStore):
    """A dataset at an fsspec URL (needs `fsspec` and the protocol's package, e.g. s3fs)."""

    parallel_writes = True  # a write is mostly waiting on the network: side by side they overlap

    def __init__(self, url: str) -> None:
        try:
            import fsspec
        except ImportError:
            raise ValueError(
                f"writing to {url!r} needs fsspec: pip install 'domrand[ray]' (and the filesystem's package, e.g. s3fs)"
            ) from None
        try:
            self.fs, path = fsspec.core.url_to_fs(url)
        except ImportError as e:  # the protocol's package: s3fs, gcsfs, adlfs, ...
            raise ValueError(f"writing to {url!r}: {e} (pip install it on every machine that writes)") from None
        except (ValueError, OSError) as e:
            raise ValueError(f"cannot open {url!r}: {e}") from None
        self.url = url
        self.base = path.rstrip("/")

    def _p(self, rel: str) -> str:
        inside(Path("/"), rel)  # the same containment check as local paths
        return f"{self.base}/{rel}" if rel else self.base

    def _fail(self, e: OSError, rel: str) -> DatasetWriteError:
        return DatasetWriteError(describe(e, Path(self._p(rel))))

    def write(self, rel: str, data: bytes | memoryview | list, sync: bool = True, atomic: bool = True) -> None:
        p = self._p(rel)
        tmp = p + TMP_SUFFIX if atomic else p
        try:
            self.fs.makedirs(p.rsplit("/", 1)[0], exist_ok=True)
            with self.fs.open(tmp, "wb") as f:
                for part in data if isinstance(data, list) else [data]:
                    f.write(part)
            if atomic:
                self.fs.mv(tmp, p)
        except OSError as e:
            with contextlib.suppress(OSError, FileNotFoundError):
                self.fs.rm(tmp)
            raise self._fail(e, rel) from None

    @contextlib.contextmanager
    def stream(self, rel: str) -> Iterator[BinaryIO]:
        p = self._p(rel)
        tmp = p + TMP_SUFFIX
        try:
            self.fs.makedirs(p.rsplit("/", 1)[0], exist_ok=True)
            with self.fs.open(tmp, "wb") as f:
                yield f
            self.fs.mv(tmp, p)
        except OSError as e:
            raise self._fail(e, rel) from None

    def read(self, rel: str) -> bytes:
        return self.fs.cat_file(self._p(rel))

    def open(self, rel: str) -> Any:
        return self.fs.open(self._p(rel), "rb")

    def exists(self, rel: str) -> bool:
        return bool(self.fs.exists(self._p(rel)))

    def list(self, rel: str) -> list[str]:
        p = self._p(rel)
        if not self.fs.isdir(p):
            return []
        return sorted(x.rstrip("/").rsplit("/", 1)[-1] for x in self.fs.ls(p, detail=False))

    def sync(self) -> None:
        """Nothing to do: an object store's write is durable when it returns."""

    def write_copy(self, rel: str, src_rel: str, data: bytes, atomic: bool = True) -> None:
        self.write(rel, data, sync=False, atomic=atomic)

    def replace_folder(self, tmp_rel: str, final_rel: str) -> None:
        final = self._p(final_rel)
        try:
            if self.fs.exists(final):
                self.fs.rm(final, recursive=True)
            self.fs.mv(self._p(tmp_rel), final, recursive=True)
        except OSError as e:
            raise self._fail(e, final_rel) from None

    def remove(self, rel: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self._p(rel), recursive=True)

    def clear(self) -> None:
        for name in self.list(""):
            self.remove(name)

    def make_root(self) -> None:
        try:
            self.fs.makedirs(self.base, exist_ok=True)
        except OSError as e:
            raise self._fail(e, "") from None

    def remove_temporaries(self) -> int:
        found = [p for p in self.fs.find(self.base, withdirs=True) if p.rstrip("/").endswith(TMP_SUFFIX)]
        for p in found:
            with contextlib.suppress(FileNotFoundError):
                self.fs.rm(p, recursive=True)
        return len(found)

    def local_path(self) -> Path | None:
        return None


def open_store(out: str | Path) -> LocalStore:
    """A `LocalStore` for a plain path, an `FsspecStore` for a URL with a protocol (`proto://...`)."""
    s = str(out)
    return FsspecStore(s) if "://" in s else LocalStore(s)
