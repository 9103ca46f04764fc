"""The PostgreSQL inbox's connections through an outage: refused fast, back at once.

psycopg's pool reconnects by itself, backing off 1, 2, 4 ... s: after a
30 s outage its next attempt can be 16 s after the database came back, and
a receiver at low traffic answered 503 for 25 s.  Every request waited the
pool's timeout meanwhile, and every failed attempt logged a line.
`ReconnectingPool` makes an outage one state (docs/deployment.md, "When
PostgreSQL goes away"):

* it begins when no connection can be had, or a connection breaks and a
  direct connection fails too (one dropped session is not an outage);
* while it lasts every request is refused at once, and one request at a
  time, at most every 0.2 s, tries a fresh pool: the first request after the
  server's return is answered, whatever the traffic;
* it is logged once when it begins and once, with a summary, when it ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, Final

from .._errors import InboxError, InboxUnavailable
from .pg_support import ConnectionPool, open_pool, psycopg

__all__ = ["Outage", "ReconnectingPool"]

log = logging.getLogger("eventmask.inbox")


class Outage:
    """The database is down: when it went, why, and what was refused since.

    Logged once when it starts and once when it ends, with a summary, rather
    than once per failed request.
    """

    # The least time between two attempts to reconnect, whoever asks.
    RETRY_EVERY: Final = 0.2

    def __init__(self, reason: str) -> None:
        self.since = time.monotonic()
        self.reason = reason
        self.refused = 0
        self.attempts = 0
        self.last_attempt = float("-inf")
        self.trying = threading.Lock()
        log.warning(
            "the inbox database is unavailable: %s", reason, extra={"fields": {"error": reason}}
        )

    def due(self) -> bool:
        """Whether a reconnection may be tried now (and count it)."""
        now = time.monotonic()
        if now - self.last_attempt < self.RETRY_EVERY:
            return False
        self.last_attempt = now
        self.attempts += 1
        return True

    def refuse(self) -> InboxUnavailable:
        """The error for a request refused during the outage, counted."""
        self.refused += 1
        seconds = time.monotonic() - self.since
        return InboxUnavailable(
            f"the inbox database is unavailable (for {seconds:.1f} s): {self.reason}"
        )

    def ended(self) -> None:
        """Log the summary."""
        seconds = round(time.monotonic() - self.since, 3)
        fields = {"seconds": seconds, "refused": self.refused, "attempts": self.attempts}
        log.warning("the inbox database is back after %.1f s", seconds, extra={"fields": fields})


class ReconnectingPool:
    """A pool of connections to `url` that a database outage replaces with a fresh one.

    The arguments after `url` are `open_pool`'s; opening fails as it does.
    """

    def __init__(self, url: str, size: int, connect_timeout: float, write_timeout: float) -> None:
        self.url = url
        self._args = (size, connect_timeout, write_timeout)
        self._connect_timeout = max(int(connect_timeout), 1)
        self._pool = open_pool(url, *self._args)
        self._outage: Outage | None = None

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection; psycopg's `OperationalError` when it fails (or during an outage,
        `InboxUnavailable` at once)."""
        pool = self._pool_now()
        got: psycopg.Connection[Any] | None = None
        try:
            with pool.connection() as conn:
                got = conn
                yield conn
        except psycopg.OperationalError as exc:
            if got is None or got.broken:
                self._lost(pool, exc)
            raise

    def _lost(self, pool: ConnectionPool, exc: psycopg.OperationalError) -> None:
        """A connection failed: one dropped session, or the server gone (an outage)?"""
        try:
            psycopg.connect(self.url, connect_timeout=self._connect_timeout).close()
        except psycopg.Error:
            if self._outage is None:
                self._outage = Outage(" ".join(str(exc).split()))
                # Its own reconnection attempts would log a line each, and the
                # outage ends with a fresh pool anyway.
                threading.Thread(target=pool.close, kwargs={"timeout": 1.0}, daemon=True).start()
            return
        # The server is there: drop the pool's dead connections now, rather
        # than failing once on each of them (after a restart, say).
        with suppress(Exception):
            pool.check()

    def _pool_now(self) -> ConnectionPool:
        """The pool to use; during an outage, a reconnection attempt or a fast refusal."""
        outage = self._outage
        if outage is None:
            return self._pool
        if not outage.trying.acquire(blocking=False):
            raise outage.refuse()
        try:
            if not outage.due():
                raise outage.refuse()
            try:
                fresh = open_pool(self.url, *self._args)
            except InboxError:
                raise outage.refuse() from None
            old, self._pool, self._outage = self._pool, fresh, None
        finally:
            outage.trying.release()
        outage.ended()
        threading.Thread(target=old.close, kwargs={"timeout": 1.0}, daemon=True).start()
        return fresh

    def close(self) -> None:
        """Close the pool."""
        self._pool.close()
