"""Atomic, contained file writes for dataset writers.

Every file is written under a temporary name in its final folder, flushed, then renamed into place,
so a reader (or a resumed run) sees a whole file or none. Paths are checked to stay inside the dataset
folder. Operating-system failures (full disk, read-only or unwritable folder) become one
`DatasetWriteError` naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

TMP_SUFFIX = ".tmp-domrand"


class DatasetWriteError(RuntimeError):
    """A dataset file could not be written; finished chunks are untouched."""


def describe(e: OSError, path: Path) -> str:
    reason = {
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "disk quota exceeded",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EROFS: "read-only file system",
        errno.ENOTDIR: "a parent of the path is a file, not a folder",
    }.get(e.errno or 0, e.strerror or str(e))
    return f"cannot write {str(path)!r}: {reason}"


def inside(root: Path, relative: str | Path) -> Path:
    """`root / relative`, refusing anything that would land outside `root`."""
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts:
        raise ValueError(f"refusing to write {str(relative)!r} outside the output folder {str(root)!r}")
    return root / rel


def write_bytes(path: Path, data: bytes | memoryview | list) -> None:
    """Write `data` (or a list of buffers, one after another) to `path` atomically (temporary name,
    flush, fsync, rename)."""
    tmp = path.with_name(path.name + TMP_SUFFIX)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            for part in data if isinstance(data, list) else [data]:
                f.write(part)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise DatasetWriteError(describe(e, path)) from None


@contextlib.contextmanager
def atomic_stream(path: Path) -> Iterator[BinaryIO]:
    """A binary file handle whose content appears at `path` only when the block finishes."""
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


def dumps(obj: Any) -> str:
    """Deterministic compact JSON (sorted keys), so equal content gives equal bytes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def write_json(path: Path, obj: Any, pretty: bool = False) -> None:
    text = json.dumps(obj, sort_keys=True, indent=2, allow_nan=False) + "\n" if pretty else dumps(obj)
    write_bytes(path, text.encode())


def remove_temporaries(root: Path) -> int:
    """Delete leftover temporary files (from a killed run) under `root`; returns how many."""
    n = 0
    for p in root.rglob(f"*{TMP_SUFFIX}"):
        if p.is_dir():
            import shutil

            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        n += 1
    return n
