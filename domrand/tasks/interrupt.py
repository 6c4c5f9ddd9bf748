"""Ctrl-C during training: finish the step, write the checkpoint, say how to continue.

`graceful()` turns the first SIGINT into a request that the training loop reads after each step
(`Graceful.requested`): the loop then writes its resumable checkpoint and raises `TrainingInterrupted`,
which names the checkpoint and the way to continue. A second Ctrl-C interrupts at once.

Example:
    >>> with graceful() as stop:
    ...     stop.requested
    False
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


class TrainingInterrupted(Exception):
    """Training stopped on Ctrl-C after writing a checkpoint it can resume from."""

    def __init__(self, checkpoint: str, step: int, total: int, how: str) -> None:
        self.checkpoint, self.step, self.total = checkpoint, step, total
        super().__init__(f"interrupted at step {step} of {total}; wrote {checkpoint}; {how}")


class Graceful:
    """Whether a stop was asked for (the first Ctrl-C)."""

    requested = False


@contextlib.contextmanager
def graceful() -> Iterator[Graceful]:
    """Within the block the first SIGINT sets `requested`; a second raises KeyboardInterrupt as usual. Outside
    the main thread (no signal handlers there) the block does nothing special."""
    state = Graceful()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return

    def handler(signum: int, frame: Any) -> None:
        if state.requested:
            raise KeyboardInterrupt
        state.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)
