"""Delivering to a router in this process, each attempt as an inbox worker would run it.

A worker runs each attempt inside a delivery context (docs/receiver.md,
"Guarantees"): `current_delivery()` gives the handler the entry's id, its
idempotency key, the attempt number and a connection whose writes commit
with the entry, or roll back with a failed attempt.  A router tested with
`deliver(router, ...)` gets the same: a connection (an in-memory SQLite
database unless one is given), committed after an attempt that succeeded
and rolled back after one that failed, so that a handler writing through
`current_delivery().connection` is tested as it will run.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import attrs

from .._envelope import Envelope
from .._errors import InvalidJSON, NotificationError
from .._inbox.context import DeliveryContext, delivery_context
from .._inbox.engine import dedup_keys, idempotency_key
from .._routing.router import Router
from .._routing.routes import DispatchResult
from .outcomes import Sent, dispatched

__all__ = ["Direct", "Retry", "event_of"]


@attrs.frozen(slots=True)
class Retry:
    """`attempts` in all, `backoff` seconds after the first, doubling up to `max_backoff`.

    >>> Retry(5, 0.05, 0.15).delay(1), Retry(5, 0.05, 0.15).delay(3)
    (0.05, 0.15)
    """

    attempts: int
    backoff: float
    max_backoff: float

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt`."""
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


def event_of(body: bytes) -> str | None:
    """The event a body names, or None when it cannot be read.

    >>> event_of(b'{"event": "review"}'), event_of(b"{")
    ('review', None)
    """
    try:
        return Envelope.read(body).event
    except (InvalidJSON, NotificationError):
        return None


class Direct:
    """A router called in this thread, each attempt inside a delivery context.

    >>> from eventmask import Router
    >>> from eventmask.inbox import current_delivery
    >>> router = Router()
    >>> keys = []
    >>> _ = router.add("message", lambda n: keys.append(current_delivery().attempt))
    >>> Direct(router, Retry(1, 0.0, 0.0)).dispatch(0, b'{"event": "message"}').acknowledged
    True
    >>> keys
    [1]
    """

    def __init__(self, router: Router, retry: Retry, connection: Any = None) -> None:
        self.router = router
        self.retry = retry
        # check_same_thread off: an async sender's handlers run on its loop's thread.
        self.connection = connection or sqlite3.connect(":memory:", check_same_thread=False)
        is_sqlite = isinstance(self.connection, sqlite3.Connection)
        self.backend = "sqlite" if is_sqlite else "postgresql"

    def _context(self, index: int, body: bytes, attempt: int) -> DeliveryContext:
        try:
            key = idempotency_key(dedup_keys(Envelope.read(body), revisions=False)[0], None)
        except (InvalidJSON, NotificationError):
            key = f"unreadable:{index}"
        event = event_of(body) or ""
        return DeliveryContext(self.connection, index + 1, key, attempt, event, self.backend)

    def _settle(self, result: DispatchResult | None) -> None:
        """As the inbox settles an attempt: its writes commit with success, else roll back."""
        if result is not None and result.ok:
            self.connection.commit()
        else:
            self.connection.rollback()

    def dispatch(self, index: int, body: bytes) -> Sent:
        """Deliver `body` (number `index`) with retries; the last attempt's outcome."""
        for attempt in range(1, self.retry.attempts + 1):
            with delivery_context(self._context(index, body, attempt)):
                try:
                    result: DispatchResult | None = self.router.dispatch(body)
                except NotificationError:
                    result = None
            self._settle(result)
            if result is None or result.ok or attempt == self.retry.attempts:
                return dispatched(index, event_of(body), attempt, result)
            time.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")

    async def adispatch(self, index: int, body: bytes) -> Sent:
        """`dispatch` for coroutine handlers too, awaited."""
        for attempt in range(1, self.retry.attempts + 1):
            with delivery_context(self._context(index, body, attempt)):
                try:
                    result: DispatchResult | None = await self.router.adispatch(body)
                except NotificationError:
                    result = None
            self._settle(result)
            if result is None or result.ok or attempt == self.retry.attempts:
                return dispatched(index, event_of(body), attempt, result)
            await asyncio.sleep(self.retry.delay(attempt))
        raise AssertionError("unreachable")
