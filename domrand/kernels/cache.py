"""Where numba keeps the compiled kernels: one folder per version of the kernels' sources.

numba's own cache is keyed by each function's file: a kernel that calls into another file (`raster` calls
`shade` and `frontend`) keeps running its old compiled code after that other file changed, silently. So
unless the user chose a folder (`NUMBA_CACHE_DIR`), the kernels are cached under a folder named by a digest
of every source they are compiled from: a change to any of them compiles everything afresh.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from domrand.cachedir import digest as _digest
from domrand.cachedir import folder

HERE = Path(__file__).resolve().parent


def _origin(module: str) -> Path:
    spec = importlib.util.find_spec(module)  # found, not run
    assert spec is not None and spec.origin is not None, module
    return Path(spec.origin)


#: Sources whose code or constants are compiled into the kernels.
SOURCES = (
    *sorted(HERE.glob("*.py")),
    _origin("domrand.silhouettes"),
    _origin("domrand.generators.textures"),
    _origin("domrand.generators.texture_kinds"),
)


def digest(sources: tuple[Path, ...] = SOURCES) -> str:
    """16 hex digits of the sources' names and contents (`cachedir.digest`)."""
    return _digest(sources)


def _folder() -> Path:
    found = folder(f"numba-{digest()}")
    if found is None:
        raise OSError("no writable folder for the compiled kernels: set NUMBA_CACHE_DIR")
    return found


#: Options of a kernel that only other kernels call: numba then builds neither the Python nor the C entry point
#: (the code that unpacks Python arguments), less to compile on a first run (`@njit(cache=True, **INTERNAL)`;
#: with the rest of that commit, a cold start 14.2 -> 13.2 s). Calling such a kernel from Python crashes the
#: interpreter, so no Python code (tests included) may name one: tests/kernels/test_cache.py checks.
INTERNAL = {"no_cpython_wrapper": True, "no_cfunc_wrapper": True}

_open = 0
_saved: str | None = None


def enter() -> None:
    """Point numba's cache at the kernels' folder while a kernel module defines its kernels (numba fixes a
    function's cache folder when it is decorated). Unless the user chose one with NUMBA_CACHE_DIR."""
    global _open, _saved
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    import numba

    if _open == 0:
        _saved = numba.config.CACHE_DIR
        numba.config.CACHE_DIR = str(_folder())
    _open += 1


def leave() -> None:
    """Put numba's cache folder back for everyone else's functions (after the module's last kernel)."""
    global _open
    if os.environ.get("NUMBA_CACHE_DIR") or _open == 0:
        return
    import numba

    _open -= 1
    if _open == 0:
        numba.config.CACHE_DIR = _saved or ""
