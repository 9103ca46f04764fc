"""Deadlines for the receiver's awaits, swept by one timer per event loop.

`asyncio.timeout` pushes a timer onto the loop's heap each time it is entered and
leaves it there, cancelled, when the block ends early, which it nearly always does.
The receiver enters two a delivery (the body, the store): 8 us each for
`asyncio.timeout` on the project's machine against 2.6 us here (docs/receiver.md,
"Speed").  The guarded protocol's header deadline stays a `call_later`: on the wheel
it measured no faster end to end.  Here a deadline is one entry in the set of its tick
(`TICK`, 50 ms): one timer per loop wakes each tick while any deadline is armed and
cancels the tasks whose tick has passed.  A deadline is never early, and late by at
most a tick plus the loop's own lag, which for timeouts of seconds is no difference.
"""

from __future__ import annotations

import asyncio
import math
import weakref
from types import TracebackType
from typing import Final

__all__ = ["TICK", "Deadline", "deadline"]

TICK: Final = 0.05


class _Wheel:
    """The armed deadlines of one loop, by the tick they fall due in."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.due: dict[int, set[Deadline]] = {}
        self.swept = math.floor(loop.time() / TICK)  # every tick up to this one was swept
        self.timer: asyncio.TimerHandle | None = None

    def arm(self, entry: Deadline, seconds: float) -> int:
        now = self.loop.time()
        if self.timer is None:  # idle: nothing is armed, so no tick is left to sweep
            self.swept = math.floor(now / TICK)
            self.timer = self.loop.call_at((self.swept + 1) * TICK, self.sweep)
        # Rounded up: a tick holds only deadlines that have passed when it is swept.
        tick = max(math.ceil((now + seconds) / TICK), self.swept + 1)
        bucket = self.due.get(tick)
        if bucket is None:
            self.due[tick] = bucket = set()
        bucket.add(entry)
        return tick

    def sweep(self) -> None:
        # The loop may run a timer up to its clock's resolution early: the tick is due.
        now = max(math.floor(self.loop.time() / TICK), self.swept + 1)
        for tick in range(self.swept + 1, now + 1):
            for entry in self.due.pop(tick, ()):
                entry.expire()
        self.swept = now
        self.timer = None
        if self.due:
            self.timer = self.loop.call_at((self.swept + 1) * TICK, self.sweep)


_wheels: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Wheel] = weakref.WeakKeyDictionary()
_last: _Wheel | None = None  # the wheel used last, nearly always the one wanted


def _wheel(loop: asyncio.AbstractEventLoop) -> _Wheel:
    global _last
    wheel = _last
    if wheel is None or wheel.loop is not loop:  # a weak lookup makes a weakref
        wheel = _wheels.get(loop)
        if wheel is None:
            _wheels[loop] = wheel = _Wheel(loop)
        _last = wheel
    return wheel


class Deadline:
    """One armed deadline of a task: the task it cancels, and whether it did."""

    __slots__ = ("_cancelling", "_task", "_tick", "_wheel", "expired")

    def __init__(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if task is None:
            raise RuntimeError("deadline() is used inside a task")
        self._task = task
        self._cancelling = 0
        self.expired = False
        self._wheel = wheel = _wheel(loop)
        self._tick = wheel.arm(self, seconds)

    def arm(self, seconds: float) -> None:
        """Move the deadline to `seconds` from now."""
        self.disarm()
        self._tick = self._wheel.arm(self, seconds)

    def disarm(self) -> None:
        """Take the deadline back; it cancels nothing after this."""
        bucket = self._wheel.due.get(self._tick)
        if bucket is not None:
            bucket.discard(self)

    def __enter__(self) -> Deadline:
        self._cancelling = self._task.cancelling()
        return self

    def expire(self) -> None:
        self.expired = True
        self._task.cancel()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.disarm()
        # As asyncio.timeout does: the cancellation is ours only if nobody else's is
        # pending, and then it leaves the block as a TimeoutError (uncancel comes first).
        mine = self.expired and self._task.uncancel() <= self._cancelling
        if mine and kind is asyncio.CancelledError:
            raise TimeoutError from error


def deadline(seconds: float) -> Deadline:
    """A block that raises TimeoutError if it is still running `seconds` from now.

    Use it as ``asyncio.timeout``, with ``with`` for ``async with``; `Deadline.arm`
    moves it, for a second phase.

    >>> async def slow() -> str:
    ...     try:
    ...         with deadline(0.01):
    ...             await asyncio.sleep(10)
    ...     except TimeoutError:
    ...         return "timed out"
    ...     return "finished"
    >>> asyncio.run(slow())
    'timed out'
    """
    return Deadline(seconds)
