"""Shared pieces of dataset writing: the error type, its messages, path containment, deterministic JSON.

The writes themselves live in `domrand.io.store` (local folders and fsspec URLs).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

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


def dumpb(obj: Any) -> bytes:
    """Deterministic compact JSON as UTF-8 bytes (sorted keys), so equal content gives equal bytes.

    orjson, ten times faster than the standard library on the labels' floats (0.06 against 0.6 ms for an
    image's jsonl line, measured on the tabletop preset); floats keep their shortest round-trip digits (the
    same values `json.loads` reads back), written as orjson writes them (1.5e-5, 0.00001638...).

    Example:
        >>> dumpb({"b": 1, "a": [0.5, None]})
        b'{"a":[0.5,null],"b":1}'
    """
    return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)


_POOL: Any = None


def for_each_file(store: Any, fn: Callable[[Any], None], items: Iterable[Any]) -> None:
    """fn(item) for every item, where fn writes files to `store`: side by side (`in_parallel`) where the store's
    writes overlap (`parallel_writes`: a remote store), else one after another on this thread."""
    if getattr(store, "parallel_writes", False):
        in_parallel(fn, items)
    else:
        for item in items:
            fn(item)


def in_parallel(fn: Callable[[Any], None], items: Iterable[Any]) -> None:
    """fn(item) for every item on a few threads, and wait for all (then re-raise the first error). For the per-image files of
    a chunk: PNG encoding and file writes release the GIL, so images are encoded and written side by side."""
    global _POOL
    items = list(items)
    if len(items) <= 1:
        for item in items:
            fn(item)
        return
    if _POOL is None:
        from concurrent.futures import ThreadPoolExecutor

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        _POOL = ThreadPoolExecutor(max_workers=max(2, cores), thread_name_prefix="domrand-io")
    futures = [_POOL.submit(fn, item) for item in items]
    errors = [f.exception() for f in futures]  # every one finished (and cleaned up) before any error is raised
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
