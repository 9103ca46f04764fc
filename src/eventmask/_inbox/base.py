"""The inbox interface: what the receiver, the worker and the command line call.

An inbox stores each accepted delivery as an `Entry` before Channex gets
its 2xx, and hands entries to workers.  Entries move ``pending -> claimed ->
done``; a failed attempt goes back to ``pending`` after a backoff, and after
``max_attempts`` attempts (or at once, for a failure no retry can fix)
becomes ``dead``: a dead letter an operator can inspect and retry
(docs/receiver.md, "The inbox").
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Final, Self

import attrs

if TYPE_CHECKING:
    import sqlite3

    import psycopg

from .._envelope import Envelope
from .._errors import InvalidJSON
from .._json import loads
from .settings import InboxSettings
from .states import STATES, State

__all__ = [
    "REFUSAL_BUCKET",
    "REFUSAL_SAMPLES",
    "STATES",
    "SUCCESS",
    "Attempt",
    "AttemptOutcome",
    "DeliveryContext",
    "Entry",
    "Health",
    "Inbox",
    "PutResult",
    "Refusal",
    "RefusalBatch",
    "State",
    "current_delivery",
    "delivery_context",
]


@attrs.frozen(slots=True)
class PutResult:
    """What happened to an accepted delivery: its entry id, and whether it was a duplicate.

    ``id`` is None while the delivery waits in a SQLite inbox's intake spool
    (docs/receiver.md, "Intake no handler can hold"): it is durable, and gets
    its id when it moves into the inbox.

    >>> PutResult(7, False, "body:ab12").duplicate
    False
    """

    id: int | None
    duplicate: bool
    idempotency_key: str


@attrs.frozen(slots=True)
class Entry:
    """One delivery stored in the inbox, with its processing state.

    >>> Entry(1, "message", None, b"{}", "body:x", "pending", 0, 0.0, 0.0).state
    'pending'
    """

    id: int
    event: str
    property_id: str | None
    body: bytes = attrs.field(repr=False)
    idempotency_key: str
    state: State
    attempts: int
    received_at: float
    available_at: float
    lease_owner: str | None = None
    lease_until: float | None = None
    last_error: str | None = None
    done_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the body decoded when it is JSON).

        >>> Entry(1, "message", None, b'{"a": 1}', "k", "done", 1, 0.0, 0.0).as_dict()["body"]
        {'a': 1}
        """
        out = attrs.asdict(self)
        try:
            out["body"] = loads(self.body)
        except InvalidJSON:
            out["body"] = self.body.decode("utf-8", "replace")
        return out


@attrs.frozen(slots=True)
class AttemptOutcome:
    """How one attempt at an entry ended: success, a failure to retry, or a final one.

    A worker returns it for each entry it processes.  ``final`` marks a
    failure no retry can fix (a payload that fails validation): the entry
    goes dead at once instead of after ``max_attempts``.

    >>> AttemptOutcome().ok, AttemptOutcome("KeyError: 'x'").ok
    (True, False)
    >>> AttemptOutcome("bad date", final=True).final
    True
    """

    error: str | None = None
    final: bool = False

    @property
    def ok(self) -> bool:
        """True when the attempt succeeded."""
        return self.error is None


SUCCESS: Final = AttemptOutcome()

# Refusals are counted per minute.
REFUSAL_BUCKET: Final = 60.0
# The most refused requests kept one by one; beyond it only counts grow.
REFUSAL_SAMPLES: Final = 1_000


@attrs.frozen(slots=True)
class Refusal:
    """One refused request as an operator sees it: when, what answer, why, from where.

    ``kind`` is the short, stable name it is counted under (``wrong secret``,
    ``too large``...); ``reason`` says it in full; ``body`` holds the first
    bytes of a body that was read and kept (a 400's), else None.

    >>> Refusal(0.0, 401, "wrong secret", "missing or wrong secret header", "1.2.3.4:5").kind
    'wrong secret'
    """

    at: float
    status: int
    kind: str
    reason: str
    remote: str | None = None
    body: bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(slots=True)
class RefusalBatch:
    """Refusals to record at once: counts per (minute, status, kind), and samples to keep.

    >>> RefusalBatch(((60.0, 401, "wrong secret", 3),), ()).counts[0][3]
    3
    """

    counts: tuple[tuple[float, int, str, int], ...]
    samples: tuple[Refusal, ...]


@attrs.frozen(slots=True)
class Health:
    """Whether the inbox can store a delivery right now, and why not.

    >>> Health(False, "the inbox file was deleted or replaced").ok
    False
    """

    ok: bool
    reason: str | None = None


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


class Inbox:
    """The interface every inbox backend provides (`SQLiteInbox`, `PostgresInbox`).

    >>> issubclass(Inbox, object)
    True
    """

    backend: ClassVar[str]
    settings: InboxSettings

    def put(self, delivery: Envelope) -> PutResult:
        """Store an accepted delivery durably; return once it is committed."""
        raise NotImplementedError

    async def aput(self, delivery: Envelope) -> PutResult:
        """`put` for async code: waits for the group commit without blocking the loop."""
        raise NotImplementedError

    def record_refusals(self, batch: RefusalBatch) -> None:
        """Add refusal counts and keep samples (best effort, not awaited; never raises)."""
        raise NotImplementedError

    def health(self) -> Health:
        """Whether the inbox can store a delivery right now (recent writes, or a probe)."""
        raise NotImplementedError

    def claim(self, owner: str, limit: int = 16) -> list[Entry]:
        """Claim up to `limit` ready entries (pending and due, or with an expired lease)."""
        raise NotImplementedError

    def process(self, entry: Entry, owner: str, attempt: Attempt) -> State:
        """Run `attempt` in the entry's transaction; commit with 'done' or record the failure."""
        raise NotImplementedError

    def process_batch(
        self,
        entries: Sequence[Entry],
        owner: str,
        attempt: Attempt,
        stopping: Callable[[], bool] | None = None,
    ) -> list[State]:
        """Run `attempt` for each claimed entry in its transaction; return the new states."""
        raise NotImplementedError

    def release(self, owner: str) -> int:
        """Give back every entry `owner` has claimed (graceful shutdown)."""
        raise NotImplementedError

    def wait_for_work(self, timeout: float, stop: threading.Event) -> None:
        """Wait up to `timeout` seconds for new entries, or until `stop` is set.

        Workers call this when a claim came back empty.  This default just
        waits; PostgreSQL is woken as soon as a receiver commits a delivery.
        """
        stop.wait(timeout)

    def stats(self, *, done: bool = True) -> dict[str, Any]:
        """Counts per state, the oldest pending entry's age, recent refusals.

        ``done=False`` leaves out the count of done entries (None), the one
        that grows with the table: what a frequent health check wants.
        """
        raise NotImplementedError

    def entries(
        self,
        state: str | None = None,
        limit: int = 50,
        *,
        before: int | None = None,
        event: str | None = None,
    ) -> list[Entry]:
        """Entries, newest first, optionally of one state and of one event.

        Pages by key: ``before`` is the smallest id of the previous page, and
        the next page starts below it, at the same cost at any depth.
        """
        raise NotImplementedError

    def get(self, entry_id: int) -> Entry:
        """One entry (raise InboxError if there is none)."""
        raise NotImplementedError

    def revision_entry(self, revision_id: str) -> Entry:
        """The entry of one booking revision, by its Channex id (raise InboxError if none)."""
        raise NotImplementedError

    def retry(self, entry_id: int) -> None:
        """Make a dead (or failed) entry pending again, attempts reset."""
        raise NotImplementedError

    def retry_matching(
        self, state: str = "dead", *, since: float | None = None, event: str | None = None
    ) -> int:
        """Make every `state` entry (received since `since`, of `event`) pending again."""
        raise NotImplementedError

    def replay(self, entry_id: int) -> int:
        """Store a done entry's body again as a new entry, with its own key; return its id."""
        raise NotImplementedError

    def purge(self, older_than: float) -> int:
        """Delete done entries and refusals older than `older_than` seconds."""
        raise NotImplementedError

    def refusals(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent refused requests (the kept samples), newest first."""
        raise NotImplementedError

    def rejections(self, limit: int = 50) -> list[dict[str, Any]]:
        """Deprecated: `refusals`, under its old name."""
        import warnings

        message = "Inbox.rejections() is deprecated: use Inbox.refusals()"
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return self.refusals(limit)

    def refusal_counts(self, since: float) -> list[dict[str, Any]]:
        """Refusals since `since` (epoch seconds), counted per status and kind."""
        raise NotImplementedError

    def migrate(self) -> tuple[int, int]:
        """Create or upgrade the schema; return the versions before and after."""
        raise NotImplementedError

    # -- booking revisions (docs/bookings.md) ------------------------------------------

    def store_revisions(self, revisions: Sequence[tuple[Any, ...]], conn: Any = None) -> int:
        """Store revisions, ``(revision id, property id, body[, order key])``, each once;
        how many were new."""
        raise NotImplementedError

    def due_acks(self, limit: int = 100) -> list[Any]:
        """The acks committed handlers owe Channex, due now (`PendingAck`), taken for a lease."""
        raise NotImplementedError

    def unsent_acks(self) -> int:
        """How many acks are owed and were never tried."""
        raise NotImplementedError

    def acks_settled(self, settled: Sequence[tuple[str, str, str | None]]) -> None:
        """Acks that went through (``acked``) or are final (``gone``), in one transaction."""
        raise NotImplementedError

    def ack_later(self, revision_id: str, delay: float, error: str) -> None:
        """An ack failed: send it again after `delay` seconds."""
        raise NotImplementedError

    def pause_acks(self, property_id: str | None, seconds: float) -> None:
        """A property's pending acks wait `seconds` (Channex said 429)."""
        raise NotImplementedError

    def record_poll(self, property_id: str | None, stored: int, error: str | None = None) -> None:
        """A feed was read, `stored` new revisions, or failed with `error` (None: the account's)."""
        raise NotImplementedError

    def revision_status(self) -> dict[str, dict[str, Any]]:
        """Per property: revisions waiting, dead, handled but not acked; the oldest age;
        the last poll."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop the writer and close connections."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        """The inbox itself; leaving the block closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
