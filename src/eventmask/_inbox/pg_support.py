"""What the PostgreSQL inbox needs besides SQL: the driver, wake-ups, the server's clock.

psycopg 3 and its pool are an optional extra (``eventmask[postgres]``); this
module imports them once, and says how to install them when they are missing.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Final

from .._errors import InboxError, InboxUnavailable

try:
    import psycopg
    import psycopg.conninfo
    from psycopg_pool import ConnectionPool
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise InboxError(
        "the PostgreSQL inbox needs psycopg 3 and its pool: pip install 'eventmask[postgres]'"
    ) from exc

__all__ = [
    "ConnectionPool",
    "ServerClock",
    "Wakeups",
    "open_pool",
    "psycopg",
    "redact",
    "transient",
]

log = logging.getLogger("eventmask.inbox")


def transient(exc: psycopg.Error) -> bool:
    """Whether a failure to connect may pass by itself (the server down, or unreachable).

    A refusal by the server (a wrong password, a database that does not
    exist) does not: it has an SQLSTATE of class 28 or 3D.  Connection
    failures on the client side have none, or class 08 or 57P.
    """
    state = getattr(exc, "sqlstate", None)
    return state is None or state.startswith(("08", "57P"))


def open_pool(url: str, size: int, connect_timeout: float, write_timeout: float) -> ConnectionPool:
    """An open pool of autocommit connections to ``url``.

    Raises `InboxUnavailable` when the server cannot be reached now (a
    worker waits for it), `InboxError` for what waiting cannot fix.
    """
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise InboxError(f"invalid PostgreSQL URL {redact(url)}: {exc}") from None
    seconds = max(int(connect_timeout), 1)
    # One direct connection first: it fails within connect_timeout with
    # libpq's own reason, where the pool would only say that it timed out.
    try:
        psycopg.connect(url, connect_timeout=seconds).close()
    except psycopg.Error as direct:
        reason = " ".join(str(direct).split())
        kind = InboxUnavailable if transient(direct) else InboxError
        raise kind(f"cannot connect to the inbox at {redact(url)}: {reason}") from None
    pool: ConnectionPool = ConnectionPool(
        url,
        min_size=1,
        max_size=max(size, 2),
        kwargs={"autocommit": True, "connect_timeout": seconds},
        # Waiting for a connection is bounded like a write: a receiver
        # answers 503 in time when the database is down.
        timeout=min(connect_timeout, write_timeout),
        open=False,
        name="eventmask-inbox",
    )
    try:
        pool.open(wait=True, timeout=connect_timeout)
    except Exception as exc:
        pool.close()
        raise InboxUnavailable(f"cannot connect to the inbox at {redact(url)}: {exc}") from None
    return pool


# How often a process measures its offset to the server's clock.
CLOCK_REFRESH: Final = 60.0


def redact(url: str) -> str:
    """The URL without its password, for messages and logs.

    >>> redact("postgresql://app:s3cret@db.internal:5432/pms")
    'postgresql://app:***@db.internal:5432/pms'
    """
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"


class ServerClock:
    """The database server's time, from this host's clock plus a measured offset.

    Hosts whose clocks disagree still agree on when a lease has run out.

    >>> ServerClock().now() > 0
    True
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._measured_at = -CLOCK_REFRESH

    def now(self) -> float:
        """Seconds since the epoch, on the server's clock."""
        return time.time() + self._offset

    def refresh(self, conn: psycopg.Connection[Any]) -> None:
        """Measure the offset again (halfway through a round trip) once a minute."""
        if time.monotonic() - self._measured_at <= CLOCK_REFRESH:
            return
        before = time.time()
        row = conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8").fetchone()
        after = time.time()
        assert row is not None
        self._offset = float(row[0]) - (before + after) / 2
        self._measured_at = time.monotonic()


class Wakeups:
    """Idle workers wait here; a thread LISTENing on `channel` wakes them at each commit.

    Receivers' commits send ``NOTIFY`` (once per transaction); the listening
    connection reconnects when it drops, and waiting stays bounded by the
    caller's timeout, so polling remains the fallback.
    """

    def __init__(self, url: str, channel: str, connect_timeout: int) -> None:
        self._url = url
        self._channel = channel
        self._connect_timeout = connect_timeout
        self._work = threading.Condition()
        self._generation = 0
        self._listener: threading.Thread | None = None
        self._closed = False

    def wait(self, timeout: float, stop: threading.Event) -> None:
        """Wait for a notification, `timeout` seconds, or `stop`."""
        self._ensure_listener()
        with self._work:
            seen = self._generation
            self._work.wait_for(
                lambda: self._generation != seen or stop.is_set() or self._closed, timeout
            )

    def close(self) -> None:
        """Stop listening and wake every waiter."""
        self._closed = True
        self._wake()
        if self._listener is not None:
            self._listener.join(timeout=5)

    def _ensure_listener(self) -> None:
        with self._work:
            if self._listener is None and not self._closed:
                self._listener = threading.Thread(
                    target=self._listen, name="eventmask-inbox-listener", daemon=True
                )
                self._listener.start()

    def _wake(self) -> None:
        with self._work:
            self._generation += 1
            self._work.notify_all()

    def _listen(self) -> None:
        """Keep a connection that LISTENs for new deliveries; reconnect when it drops.

        A lost connection is logged once, and its return once with how long
        it took: not one line per failed attempt while the database is down.
        """
        lost: float | None = None
        attempts = 0
        while not self._closed:
            try:
                with psycopg.connect(
                    self._url, autocommit=True, connect_timeout=self._connect_timeout
                ) as conn:
                    conn.execute(f"LISTEN {self._channel}")
                    if lost is not None:
                        seconds = round(time.monotonic() - lost, 3)
                        log.warning(
                            "inbox listener reconnected after %.1f s", seconds,
                            extra={"fields": {"seconds": seconds, "attempts": attempts}},
                        )  # fmt: skip
                        lost, attempts = None, 0
                    self._wake()  # deliveries may have come while nobody listened
                    while not self._closed:
                        for _ in conn.notifies(timeout=1.0):
                            self._wake()
            except psycopg.Error as exc:
                attempts += 1
                if lost is None:
                    lost = time.monotonic()
                    log.warning(
                        "inbox listener lost its connection; reconnecting every second",
                        extra={"fields": {"error": str(exc)}},
                    )
                time.sleep(1.0)
