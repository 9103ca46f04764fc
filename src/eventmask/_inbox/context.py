"""What a handler under an inbox worker can reach: `current_delivery()` and its context.

A worker runs each attempt inside `delivery_context`; the handler reads the
entry's id, its idempotency key, the attempt and the connection of the
entry's transaction (docs/receiver.md, "Guarantees").
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import attrs

from .values import AttemptOutcome

if TYPE_CHECKING:
    import sqlite3

    import psycopg

__all__ = ["Attempt", "DeliveryContext", "current_delivery", "delivery_context"]


@attrs.frozen(slots=True)
class DeliveryContext:
    """What a handler running under an inbox worker can use.

    ``connection`` is the database connection of the transaction that will
    also mark the entry done: effects written through it commit exactly once,
    together with that mark, or not at all.  Under a worker that transaction
    begins when the handler first reads ``connection`` (and the entry is
    settled as soon as the handler returns): a handler that never touches it
    holds no lock while it runs.  It is a `sqlite3.Connection`
    when ``backend`` is ``"sqlite"`` (``?`` placeholders) and a
    `psycopg.Connection` when it is ``"postgresql"`` (``%s`` placeholders).
    `sqlite` and `postgres` return it typed, and raise `TypeError` under
    the other backend; `placeholder` is the parameter style to write SQL in.
    ``idempotency_key`` identifies the delivery for effects outside the
    database (it is the same on every attempt).

    >>> DeliveryContext(None, 1, "body:x", 1, "message").backend
    'sqlite'
    """

    _connection: Any = attrs.field(alias="connection", repr=False)
    entry_id: int
    idempotency_key: str
    attempt: int
    event: str
    backend: str = "sqlite"
    # The worker's: begins the entry's transaction on first use, returns its connection.
    _open: Callable[[], Any] | None = attrs.field(
        default=None, kw_only=True, alias="open", repr=False, eq=False
    )

    @property
    def connection(self) -> Any:
        """The connection of the entry's transaction (begun on first use under a worker).

        >>> DeliveryContext("conn", 1, "k", 1, "message").connection
        'conn'
        """
        if self._open is not None:
            return self._open()
        return self._connection

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The connection, typed, under a SQLite inbox (`TypeError` under PostgreSQL).

        >>> import sqlite3
        >>> ctx = DeliveryContext(sqlite3.connect(":memory:"), 1, "k", 1, "message")
        >>> ctx.sqlite.execute("SELECT 1").fetchone()
        (1,)
        """
        if self.backend != "sqlite":
            raise TypeError(f"this delivery runs under a {self.backend} inbox, not sqlite")
        connection: sqlite3.Connection = self.connection
        return connection

    @property
    def postgres(self) -> psycopg.Connection[Any]:
        """The connection, typed, under a PostgreSQL inbox (`TypeError` under SQLite).

        >>> DeliveryContext(None, 1, "k", 1, "message").postgres
        Traceback (most recent call last):
        ...
        TypeError: this delivery runs under a sqlite inbox, not postgresql
        """
        if self.backend != "postgresql":
            raise TypeError(f"this delivery runs under a {self.backend} inbox, not postgresql")
        connection: psycopg.Connection[Any] = self.connection
        return connection

    @property
    def placeholder(self) -> str:
        """The connection's parameter placeholder: ``?`` for SQLite, ``%s`` for PostgreSQL.

        >>> DeliveryContext(None, 1, "k", 1, "message", "postgresql").placeholder
        '%s'
        """
        return "?" if self.backend == "sqlite" else "%s"


_current: contextvars.ContextVar[DeliveryContext] = contextvars.ContextVar("eventmask_delivery")


def current_delivery() -> DeliveryContext:
    """The delivery the current handler is processing (raise LookupError outside a worker).

    >>> try:
    ...     current_delivery()
    ... except LookupError:
    ...     print("not inside an inbox worker")
    not inside an inbox worker
    """
    try:
        return _current.get()
    except LookupError:
        raise LookupError(
            "current_delivery() is only available inside a handler run by an inbox worker"
        ) from None


@contextmanager
def delivery_context(context: DeliveryContext) -> Iterator[None]:
    """Make `context` the current delivery for the duration of the block.

    What a worker does around each attempt; a test can call a handler that
    uses `current_delivery()` directly with it (``deliver(router, ...)``
    does it for you).

    >>> import sqlite3
    >>> ctx = DeliveryContext(sqlite3.connect(":memory:"), 7, "body:ab12", 1, "message")
    >>> with delivery_context(ctx):
    ...     current_delivery().entry_id
    7
    """
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)


# What a worker runs for one entry, inside the entry's transaction.
Attempt = Callable[[DeliveryContext], AttemptOutcome]
