"""A clock a test moves by hand, for what the inbox times: backoff, leases, the dedup window.

The inbox reads the time only through its ``clock`` (``SQLiteInbox(...,
clock=...)``, ``harness(..., clock=...)``), so a test can step past a
retry's backoff or Channex's 24 hours of deduplication in no time at all.
"""

from __future__ import annotations

import threading

__all__ = ["ManualClock"]


class ManualClock:
    """Seconds since the epoch that move only when told: call it for the time.

    >>> clock = ManualClock(1_000.0)
    >>> clock()
    1000.0
    >>> clock.advance(hours=24, seconds=1)
    >>> clock()
    87401.0
    """

    __test__ = False  # a tool of tests, not a test case to collect

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = float(start)
        self._lock = threading.Lock()  # workers read it from their own threads

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0) -> None:
        """Move the time forward (never back: the inbox's times only grow)."""
        step = seconds + 60 * minutes + 3_600 * hours
        if step < 0:
            raise ValueError(f"a clock only moves forward, not by {step:g} s")
        with self._lock:
            self._now += step
