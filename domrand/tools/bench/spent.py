"""Folders a benchmark is done with: emptied at once, unlinked when the benchmark process ends.

A benchmark that deletes each run's output before the next run charges the next run for the deletion on
some file systems. On ext4 without a journal (this project's 2-core machines: `/proc/fs/jbd2` is empty), the
inode allocator passes over every inode freed in the last 60 to 360 s (`recently_deleted` in
fs/ext4/ialloc.c, one buffer lookup each), so after a run's ~6,000 files were deleted the next run's file
creations cost 0.15-0.20 ms of CPU each instead of 0.035-0.04 (`open` in `domrand generate --format jsonl`,
2,048 images, right after the previous run's output was deleted, against right after it was truncated). Every
interchange format was charged for the previous run's clean-up, native (two files a chunk) hardly at all.
Truncating frees the blocks (no such check for blocks) and keeps the inodes in use until the end.

    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.bin").write_bytes(b"x" * 1000)
    >>> spend(d)
    >>> (d / "a.bin").stat().st_size
    0
    >>> remove_spent()
    >>> d.exists()
    False
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
from pathlib import Path

_SPENT: list[Path] = []


def spend(folder: str | Path) -> None:
    """Give back `folder`'s disk space now (every file truncated to 0 bytes) and remove the folder with
    `remove_spent` (at the latest when the process exits)."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                os.truncate(os.path.join(root, name), 0)
    _SPENT.append(Path(folder))


def remove_spent() -> None:
    """Remove every folder given to `spend` (after the last measurement)."""
    while _SPENT:
        shutil.rmtree(_SPENT.pop(), ignore_errors=True)


atexit.register(remove_spent)  # whatever a benchmark left, at the latest when its process ends
