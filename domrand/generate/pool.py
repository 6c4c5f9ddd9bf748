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


class WorkerDied(RuntimeError):
    """A worker process ended without finishing its work (killed, out of memory, a crash, or its set-up failed)."""


def run(
    factory: Callable[[], Callable[[Any], Any]],
    items: Iterable[Any],
    workers: int,
    *,
    ordered: bool = False,
    threads: int | None = None,
) -> Iterator[Any]:
    """Results of `factory()(item)` for every item, from `workers` spawned processes (or this one).

    A worker's exception is raised here as it was raised there. A worker process that dies (killed for memory,
    a crash in compiled code, a factory that fails) raises `WorkerDied` rather than leaving the caller waiting
    for a result that never comes (as `multiprocessing.Pool` did: it replaced the process and lost its item). On
    any error, or when the caller stops early, the work not yet started is dropped and the workers are ended.

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
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    executor = ProcessPoolExecutor(
        workers, mp_context=mp.get_context("spawn"), initializer=_init, initargs=(factory, threads)
    )
    finished = False
    try:
        futures = [executor.submit(_call, item) for item in items]
        for future in futures if ordered else as_completed(futures):
            yield future.result()
        finished = True
    except BrokenProcessPool as e:
        raise WorkerDied(
            f"a worker process died before finishing its work ({e}); killed for memory is the usual cause: run "
            "again with fewer --workers (what was already written is kept, and --resume continues it where the "
            "command has it)"
        ) from None
    finally:
        if finished:
            executor.shutdown(wait=True)
        else:  # an error, or the caller stopped: no new work, and the running workers ended now
            # the executor's processes (a private attribute since Python 3.2: if it goes, shutdown alone remains)
            processes = list((getattr(executor, "_processes", None) or {}).values())
            executor.shutdown(wait=False, cancel_futures=True)
            for proc in processes:
                if proc.is_alive():
                    proc.terminate()
            for proc in processes:
                proc.join(timeout=5)
