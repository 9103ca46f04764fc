"""An action run once a while after it is asked for: how counts leave the request path.

The receiver counts in memory on the request path and writes the counts out
later, in one go: its delivery tally to prometheus_client (`metrics.py`) and
its refusals to the inbox (`refusals.py`).  Both ask for a flush on every
count; `Later` turns those asks into one call a second at most.

A flush pending on an event loop that ends never runs.  So a `Later` that
was armed on another loop is armed again on the loop that asks now: an
application that runs its receiver on one loop and then on another (tests,
a restarted server) keeps flushing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["Later"]


class Later:
    """Call `action` `delay` seconds after it is first asked for; again after the next ask.

    >>> calls = []
    >>> later = Later(lambda: calls.append("flushed"), 0.01)
    >>> async def counting() -> None:
    ...     for _ in range(100):
    ...         later.ask()  # one timer for the 100 asks
    ...     await asyncio.sleep(0.05)
    >>> asyncio.run(counting())
    >>> calls
    ['flushed']
    >>> later.ask()  # outside an event loop: now
    >>> calls
    ['flushed', 'flushed']
    """

    def __init__(self, action: Callable[[], None], delay: float) -> None:
        self._action = action
        self._delay = delay
        self._armed_on: asyncio.AbstractEventLoop | None = None

    def ask(self) -> None:
        """Have `action` run within `delay` seconds: at once when no event loop runs here."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._action()
            return
        if self._armed_on is not loop:  # none pending, or pending on a loop that has ended
            self._armed_on = loop
            loop.call_later(self._delay, self._run)

    def _run(self) -> None:
        self._armed_on = None
        self._action()
