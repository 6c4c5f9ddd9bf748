"""One local process pool for every chunked job (dataset chunks, grasp-label chunks, grasp trials).

A job is a *worker*: a picklable factory builds it once per process, and calling it with an item does one
unit of work and returns a small result. Results come back in item order (`ordered=True`) or as they finish.
With one worker, or one item, everything runs in this process: no spawn, no pickling.

Example:
    >>> list(run(lambda: abs, [-1, -2], workers=1))
    [1, 2]
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_WORKER: Callable[[Any], Any] | None = None


def set_threads(threads: int) -> None:
    """Use `threads` threads for torch and for the compiled kernels in this process."""
    import torch

    from domrand.kernels.threads import set_threads as kernel_threads

    torch.set_num_threads(threads)
    kernel_threads(threads)


def _init(factory: Callable[[], Callable[[Any], Any]], threads: int | None) -> None:
    global _WORKER
    if threads is not None:
        set_threads(threads)
    _WORKER = factory()


def _call(item: Any) -> Any:
    assert _WORKER is not None, "pool worker used before its initializer ran"
    return _WORKER(item)


def run(
    factory: Callable[[], Callable[[Any], Any]],
    items: Iterable[Any],
    workers: int,
    *,
    ordered: bool = False,
    threads: int | None = None,
) -> Iterator[Any]:
    """Results of `factory()(item)` for every item, from `workers` spawned processes (or this one).

    Args:
        factory: picklable; builds the worker once per process.
        items: picklable work items.
        workers: processes (1: this process).
        ordered: results in item order; else in completion order.
        threads: torch / numba threads per spawned process (None: leave them as they are).
    """
    items = list(items)
    if workers <= 1 or len(items) <= 1:
        worker = factory()
        for item in items:
            yield worker(item)
        return
    pool = mp.get_context("spawn").Pool(workers, initializer=_init, initargs=(factory, threads))
    try:
        yield from (pool.imap if ordered else pool.imap_unordered)(_call, items)
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
