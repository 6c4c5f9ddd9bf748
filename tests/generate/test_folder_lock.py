"""`generate.guard.folder_lock`: which locks count as held by a live writer."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from domrand.generate.guard import LOCK, _stat, folder_lock

linux = pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/stat"), reason="needs /proc (Linux)")


def _lock(root, **fields) -> None:
    (root / LOCK).write_text(json.dumps({"host": socket.gethostname(), **fields}))


@linux
def test_regression_a_killed_runs_zombie_kept_its_folder_locked(tmp_path):
    """SIGKILL a run whose parent does not reap it at once (`timeout -s KILL`, a container without an init
    process: then for good) and `--resume` was refused: the zombie's id answered os.kill as a live process."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        for _ in range(500):  # exited, not reaped (Popen reaps only in poll or wait)
            if _stat(child.pid)[0] == "Z":
                break
            time.sleep(0.01)
        assert _stat(child.pid)[0] == "Z"
        _lock(tmp_path, pid=child.pid)
        with folder_lock(tmp_path):
            assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
    finally:
        child.wait()
    assert not (tmp_path / LOCK).exists()


@linux
def test_a_lock_of_an_earlier_process_with_a_reused_id_is_stale(tmp_path):
    """A restarted container numbers its processes again: the id in the lock can be a live process that is not
    the writer. The lock's start time tells them apart."""
    _lock(tmp_path, pid=os.getpid(), start="1")  # this process's id, another start time
    with folder_lock(tmp_path):
        mine = json.loads((tmp_path / LOCK).read_text())
    assert mine["start"] == _stat(os.getpid())[1]
    _lock(tmp_path, pid=os.getpid(), start=mine["start"])  # the live writer itself: refused
    with pytest.raises(ValueError, match=f"being written by another domrand run \\(process {os.getpid()}\\)"):
        with folder_lock(tmp_path):
            pass


def test_a_lock_without_a_start_time_counts_by_its_id(tmp_path):
    """Locks of earlier versions hold no start time: a live id holds the folder, as before."""
    _lock(tmp_path, pid=os.getpid())
    with pytest.raises(ValueError, match="being written by another domrand run"):
        with folder_lock(tmp_path):
            pass
