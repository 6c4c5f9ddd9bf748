"""Where domrand keeps what it computes once a machine: the compiled kernels (`kernels.cache`) and the built-in
procedural meshes (`world`), each in a folder named by a digest of the sources it is computed from.

    $XDG_CACHE_HOME/domrand/  (else ~/.cache/domrand/, else $TMPDIR/domrand-UID/)
        numba-<digest>/       compiled kernels
        meshes-<digest>/      procedural meshes

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "a.py").write_text("x = 1")
    >>> len(digest((d / "a.py",)))
    16
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def digest(sources: tuple[Path, ...]) -> str:
    """16 hex digits of the files' names and contents (missing files are skipped)."""
    h = hashlib.sha256()
    for p in sources:
        if p.is_file():
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()[:16]


def folder(name: str) -> Path | None:
    """The cache folder `name` (made if missing) under the first writable root; None where none is writable."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    for root in (Path(base) / "domrand", Path(tempfile.gettempdir()) / f"domrand-{uid}"):
        try:
            (root / name).mkdir(parents=True, exist_ok=True)
            return root / name
        except OSError:
            continue
    return None
