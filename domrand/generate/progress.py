"""`Progress`: a tqdm bar with images/s and time left, or log lines with --quiet."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("domrand.generate")


class Progress:
    """A tqdm bar with images/s and time left, or log lines with --quiet."""

    def __init__(self, total: int, done: int, quiet: bool) -> None:
        self.total, self.done, self.quiet = total, done, quiet
        self.start = time.perf_counter()
        self.new = 0
        self.last_log = 0.0
        self.bar = None
        if not quiet:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=done, unit="img", dynamic_ncols=True, smoothing=0.1, file=sys.stderr)

    def update(self, n: int) -> None:
        self.done += n
        self.new += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.perf_counter() - self.start
        if now - self.last_log >= 10 or self.done == self.total:
            rate = self.new / now if now > 0 else 0.0
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            log.info("%d/%d images, %.1f images/s, %.0f s left", self.done, self.total, rate, left)
            self.last_log = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
