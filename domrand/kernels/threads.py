"""Threads for the compiled kernels (plain Python: importing this loads no numba).

Every kernel is a serial `nogil` function over the items [lo, hi) of a batch (scenes, textures, images);
`parallel` calls it once per thread with a block of consecutive items, so the work of one batch runs on all the
process's threads without numba's parallel compiler (whose compile time was most of a cold start). Each call
allocates its scratch once and reuses it for its items; results depend only on the item, never on the thread.

Example:
    >>> import numpy as np
    >>> def double(lo, hi, x, out):
    ...     for i in range(lo, hi):
    ...         out[i] = 2 * x[i]
    >>> out = np.zeros(5); parallel(double, 5, np.arange(5.0), out); out.tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0]
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_pool: ThreadPoolExecutor | None = None


def set_threads(n: int) -> None:
    """Use n threads for the kernels of this process (a worker of n processes on as many cores takes 1)."""
    global _threads
    _threads = max(1, int(n))


def get_threads() -> int:
    return _threads


def parallel(kernel: Callable[..., Any], n: int, *args: Any) -> None:
    """kernel(lo, hi, *args) over consecutive blocks [lo, hi) of the n items, one block per kernel thread, and
    wait."""
    global _pool
    t = min(_threads, n)
    if t <= 1:
        kernel(0, n, *args)
        return
    if _pool is None or _pool._max_workers != _threads:
        _pool = ThreadPoolExecutor(max_workers=_threads, thread_name_prefix="domrand-kernel")
    edges = [n * i // t for i in range(t + 1)]
    futures = [_pool.submit(kernel, edges[i], edges[i + 1], *args) for i in range(t)]
    errors = [f.exception() for f in futures]  # all done before any error is raised: no kernel outlives the call
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
