"""Checks before a run writes anything: will it fit on the disk, and is another run writing the same folder?

- `check_space`: a lower bound of the output's size from the formats and the image size, refused (naming both
  figures) when it is more than the free space. A typo's extra zeros (`--num 1000000000000`) stops here
  instead of filling the disk; a full disk mid-run is still one clear error, with the finished chunks intact.
- `folder_lock`: `DIR/.domrand.lock` holds the writing process's id, host and start time. A second run into the
  folder is refused with that id; a lock left by a process that no longer runs (killed, a zombie nobody reaped,
  or an id since given to another process) is taken over with a message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

from domrand.io.files import DatasetWriteError, describe

log = logging.getLogger("domrand")

LOCK = ".domrand.lock"

# Bytes an image takes at least, per format: (bytes per pixel, bytes per image). Lower bounds: PNGs of
# randomized images compress to about 2 bytes a pixel, labels take kilobytes.
PER_IMAGE = {
    "native": (9.0, 2000),  # rgb 3 + depth 4 + instance 2 bytes a pixel, raw
    "jsonl": (1.6, 8000),  # rgb, depth and mask PNGs; a labels.jsonl line
    "coco": (0.0, 3000),  # annotations (the images are jsonl's or coco's own, counted once below)
    "bop": (1.5, 2000),  # rgb and depth PNGs, masks, ground truth
    "yolo": (1.0, 500),  # rgb PNG (the pose folder's copy is a hard link), label lines
}
PNG_RGB = 1.0  # coco writes rgb/ PNGs when jsonl does not


def estimate_bytes(formats: tuple[str, ...] | list[str], image_size: tuple[int, int], images: int) -> int:
    """A lower bound of what `images` images of `image_size` (H, W) take in `formats`, bytes."""
    pixels = image_size[0] * image_size[1]
    per = sum(PER_IMAGE[f][0] * pixels + PER_IMAGE[f][1] for f in formats)
    if "coco" in formats and "jsonl" not in formats:
        per += PNG_RGB * pixels
    return int(per * images)


def human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1000
    return f"{n:.1f} PB"


def check_space(out: Path, formats: tuple[str, ...] | list[str], image_size: tuple[int, int], images: int) -> None:
    """Raise ValueError naming the estimate and the free space when `images` more images cannot fit under `out`."""
    need = estimate_bytes(formats, image_size, images)
    probe = out
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if need > free:
        each = human(need / max(images, 1))
        raise ValueError(
            f"{images} images need at least {human(need)} ({each} an image as {', '.join(formats)} at "
            f"{image_size[1]} x {image_size[0]}) but {str(probe)!r} has {human(free)} free: choose a smaller --num, "
            "fewer --format, or another --out"
        )


def _stat(pid: int) -> tuple[str, str] | None:
    """A process's state letter and start time (clock ticks after boot) from /proc/PID/stat (Linux); None where
    there is no such file."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2 :].split()  # after the command's name, which may hold spaces and ")"
    return fields[0].decode(), fields[19].decode()  # fields 3 and 22 of proc(5)


def _alive(pid: int, start: str | None = None) -> bool:
    """Whether process `pid` runs: not a zombie (a killed process its parent has not reaped: in a container
    without an init process, for good), and where `start` (its start time, `_stat`) was recorded, the same
    process rather than a later one given the same id (a restarted container numbers its processes again)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    stat = _stat(pid)
    if stat is None:
        return True
    state, started = stat
    return state not in ("Z", "X") and (start is None or started == start)


@contextlib.contextmanager
def folder_lock(root: Path) -> Iterator[None]:
    """Hold `root/.domrand.lock` (root exists) for the block; ValueError if a live process on this host holds it."""
    path = root / LOCK
    me: dict[str, object] = {"pid": os.getpid(), "host": socket.gethostname()}
    stat = _stat(os.getpid())
    if stat is not None:
        me["start"] = stat[1]
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                other = json.loads(path.read_text())
            except (OSError, ValueError):
                other = {}
            pid, host, start = int(other.get("pid", -1)), other.get("host"), other.get("start")
            if host == me["host"] and pid > 0 and not _alive(pid, start):
                log.info(f"removed a stale lock on {str(root)!r} left by process {pid}, which no longer runs")
                path.unlink(missing_ok=True)
                continue
            where = f"process {pid}" + (f" on {host}" if host != me["host"] else "")
            raise ValueError(
                f"{str(root)!r} is being written by another domrand run ({where}); wait for it to finish or stop it "
                f"(a lock left by a crash on another machine: delete {str(path)!r})"
            ) from None
        except OSError as e:  # an unwritable folder: the same one error as any failed write
            raise DatasetWriteError(describe(e, path)) from None
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        break
    try:
        yield
    finally:
        path.unlink(missing_ok=True)
