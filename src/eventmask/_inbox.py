"""The durable inbox: deliveries are committed here before Channex gets its 2xx.

Two backends share one interface and one behaviour: `SQLiteInbox` (one
file, one machine) and `PostgresInbox` in `_postgres.py` (any number of
receivers and workers on any number of hosts).  In both, one writer thread
per process commits whatever deliveries are waiting in one transaction
(group commit): concurrent deliveries share one commit, one fsync, instead
of paying one each.

Entries move ``pending -> claimed -> done``; a failed attempt goes back to
``pending`` after an exponential backoff, and after ``max_attempts`` attempts
becomes ``dead`` (a dead letter an operator can inspect and retry).  The
inbox's state is the source of truth: an entry claimed by a worker that died
is reclaimed when its lease runs out.

Deduplication keys (documented in docs/receiver.md):

* ``body``: the SHA-256 of the exact request body.  A body seen within the
  retention window is acknowledged again without a new entry (Channex
  retries repeat the same body).
* ``revision`` (opt-in, ``dedup_revisions=True``): for ``booking`` and its
  specific events, ``revision:<revision id>``, so one revision delivered as
  both ``booking`` and ``booking_new`` makes one entry, the first to arrive.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import hashlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, ClassVar, Final, Literal

import attrs
import orjson

__all__ = [
    "DeliveryContext",
    "Entry",
    "Inbox",
    "InboxError",
    "PutResult",
    "SQLInbox",
    "SQLiteInbox",
    "current_delivery",
    "open_inbox",
]

State = Literal["pending", "claimed", "done", "dead"]
STATES: Final = ("pending", "claimed", "done", "dead")
_BOOKING_EVENTS: Final = frozenset(
    {"booking", "booking_new", "booking_modification", "booking_cancellation"}
)


class InboxError(Exception):
    """The inbox cannot do what was asked (closed, unknown entry, bad database)."""


@attrs.frozen(slots=True)
class PutResult:
    """What happened to an accepted delivery: its entry id, and whether it was a duplicate."""

    id: int
    duplicate: bool
    idempotency_key: str


@attrs.frozen(slots=True)
class Entry:
    """One delivery in the inbox."""

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
        """A JSON-ready view (the body decoded when it is JSON)."""
        out = attrs.asdict(self)
        try:
            out["body"] = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            out["body"] = self.body.decode("utf-8", "replace")
        return out


@attrs.frozen(slots=True)
class DeliveryContext:
    """What a handler running under an inbox worker can use.

    ``connection`` is the database connection of the transaction that will
    also mark the entry done: effects written through it commit exactly once,
    together with that mark, or not at all.  It is a `sqlite3.Connection`
    when ``backend`` is ``"sqlite"`` (``?`` placeholders) and a
    `psycopg.Connection` when it is ``"postgresql"`` (``%s`` placeholders).
    ``idempotency_key`` identifies the delivery for effects outside the
    database (it is the same on every attempt).
    """

    connection: Any
    entry_id: int
    idempotency_key: str
    attempt: int
    event: str
    backend: str = "sqlite"


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
    """Make `context` the current delivery for the duration of the block."""
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)


def dedup_keys(body: bytes, doc: Mapping[str, Any], revisions: bool) -> tuple[str, str | None]:
    """The body hash and, when enabled and present, the revision key of a delivery."""
    digest = hashlib.sha256(body).hexdigest()
    revision = None
    if revisions and doc.get("event") in _BOOKING_EVENTS:
        payload = doc.get("payload")
        if isinstance(payload, Mapping):
            rid = payload.get("revision_id") or payload.get("booking_revision_id")
            if isinstance(rid, str) and rid:
                revision = f"revision:{rid.lower()}"
    return digest, revision


class Inbox:
    """The interface every inbox backend provides (`SQLiteInbox`, `PostgresInbox`)."""

    max_attempts: int

    def put(self, body: bytes, doc: Mapping[str, Any]) -> PutResult:
        """Store an accepted delivery durably; return once it is committed."""
        raise NotImplementedError

    async def aput(self, body: bytes, doc: Mapping[str, Any]) -> PutResult:
        """`put` for async code: waits for the group commit without blocking the loop."""
        raise NotImplementedError

    def reject(self, status: int, reason: str, body: bytes | None, remote: str | None) -> None:
        """Record a refused delivery (best effort; never raises)."""
        raise NotImplementedError

    def claim(self, owner: str, limit: int = 16) -> list[Entry]:
        """Claim up to `limit` ready entries (pending and due, or with an expired lease)."""
        raise NotImplementedError

    def process(
        self, entry: Entry, owner: str, run: Callable[[DeliveryContext], str | None]
    ) -> State:
        """Run `run` in the entry's transaction; commit with 'done' or record the failure.

        `run` returns None on success or an error description.
        """
        raise NotImplementedError

    def process_batch(
        self,
        entries: list[Entry],
        owner: str,
        run: Callable[[DeliveryContext], str | None],
        stopping: Callable[[], bool] | None = None,
    ) -> list[State]:
        """`process` for several entries, committed together; see SQLInbox."""
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
        """Counts per state, the oldest pending entry's age, recent rejections.

        ``done=False`` leaves out the count of done entries (None), the one
        that grows with the table: what a frequent health check wants.
        """
        raise NotImplementedError

    def entries(self, state: str | None = None, limit: int = 50) -> list[Entry]:
        """Entries, newest first, optionally of one state."""
        raise NotImplementedError

    def get(self, entry_id: int) -> Entry:
        """One entry (raise InboxError if there is none)."""
        raise NotImplementedError

    def retry(self, entry_id: int) -> None:
        """Make a dead (or failed) entry pending again, attempts reset."""
        raise NotImplementedError

    def purge(self, older_than: float) -> int:
        """Delete done entries and rejections older than `older_than` seconds."""
        raise NotImplementedError

    def rejections(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent refused deliveries, newest first."""
        raise NotImplementedError

    def migrate(self) -> tuple[int, int]:
        """Create or upgrade the schema; return the versions before and after."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop the writer and close connections."""
        raise NotImplementedError


_COLUMNS: Final = (
    "id, event, property_id, body, idempotency_key, state, attempts, received_at, "
    "available_at, lease_owner, lease_until, last_error, done_at"
)
_STOP: Final = object()
# Claims given back unused (shutdown): pending again, the claim not counted.
_GIVE_BACK: Final = (
    "UPDATE eventmask_deliveries SET state = 'pending', lease_owner = NULL, "
    "lease_until = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
    "WHERE state = 'claimed' AND lease_owner = ?"
)
_MARK_FAILED: Final = (
    "UPDATE eventmask_deliveries SET state = ?, available_at = ?, last_error = ?, "
    "lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?"
)
_REJECT: Final = (
    "INSERT INTO eventmask_rejections (at, status, reason, remote, body) VALUES (?, ?, ?, ?, ?)"
)
_MIGRATION_TABLE: Final = "CREATE TABLE IF NOT EXISTS eventmask_schema (version INTEGER NOT NULL)"


def _settle_all(outcomes: list[tuple[Any, Any, BaseException | None]]) -> None:
    """Resolve the writers' waiters: thread futures directly, asyncio ones per loop."""
    by_loop: dict[Any, list[tuple[Any, Any, BaseException | None]]] = {}
    for waiter, value, error in outcomes:
        if isinstance(waiter, tuple):
            by_loop.setdefault(waiter[0], []).append((waiter[1], value, error))
        elif error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(value)
    for loop, settled in by_loop.items():
        with suppress(RuntimeError):  # a loop that closed meanwhile has nobody waiting
            loop.call_soon_threadsafe(_settle_in_loop, settled)


def _settle_in_loop(settled: list[tuple[Any, Any, BaseException | None]]) -> None:
    for future, value, error in settled:
        if future.done():
            continue  # the request was cancelled (client gone): nothing to tell
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


def _entry(row: Sequence[Any]) -> Entry:
    return Entry(*row)


class SQLInbox(Inbox):
    """What the SQL backends share: group commit, processing, operator views, migrations.

    A backend provides connections (`_connection`), starts write
    transactions (`_begin`), inserts deliveries with deduplication
    (`_insert_batch`), claims entries (`claim`) and lists its migrations
    (`MIGRATIONS`, version n is ``MIGRATIONS[n - 1]``).  Statements are
    written with ``?`` placeholders; `_sql` turns them into the driver's.
    """

    backend: ClassVar[str]
    MIGRATIONS: ClassVar[tuple[tuple[str, ...], ...]]
    _db_errors: ClassVar[tuple[type[Exception], ...]]

    def __init__(
        self,
        *,
        dedup_window: float,
        dedup_revisions: bool,
        lease: float,
        max_attempts: int,
        backoff: float,
        max_backoff: float,
        max_rejected_body: int,
        batch_budget: float,
        clock: Callable[[], float],
    ) -> None:
        self.dedup_window = dedup_window
        self.dedup_revisions = dedup_revisions
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_rejected_body = max_rejected_body
        self.batch_budget = batch_budget
        self.clock = clock
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed = False
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        # (before, after) when this inbox migrated the schema as it opened.
        self.migrated: tuple[int, int] | None = None

    @property
    def schema_version_expected(self) -> int:
        """The schema version this eventmask writes."""
        return len(self.MIGRATIONS)

    # -- what a backend provides --------------------------------------------------------

    def _connection(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _begin(self, conn: Any) -> None:
        conn.execute("BEGIN")

    def _sql(self, statement: str) -> str:
        return statement

    def _insert_batch(
        self, conn: Any, items: list[tuple[bytes, Mapping[str, Any]]]
    ) -> list[PutResult]:
        raise NotImplementedError

    def _has_table(self, conn: Any, name: str) -> bool:
        raise NotImplementedError

    def _lock_migrations(self, conn: Any) -> None:
        """Keep two migrating processes apart (inside the migration's transaction)."""

    def _writer_done(self) -> None:
        """The writer thread is about to end (close what it opened)."""

    def _x(self, conn: Any, statement: str, params: Sequence[Any] = ()) -> Any:
        return conn.execute(self._sql(statement), params)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._connection() as conn:
            self._begin(conn)
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                with suppress(*self._db_errors):
                    conn.execute("ROLLBACK")
                raise

    # -- migrations ---------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version of the database (0 when eventmask has never migrated it)."""
        with self._connection() as conn:
            if not self._has_table(conn, "eventmask_schema"):
                return 0
            row = self._x(conn, "SELECT max(version) FROM eventmask_schema").fetchone()
        return int(row[0] or 0)

    def migrate(self) -> tuple[int, int]:
        """Create or upgrade the schema; return the versions before and after.

        The pending migrations and the version bump run in one transaction,
        so a failed upgrade leaves the schema as it was.  Running it again, or
        in several processes at once, is safe.
        """
        with self._transaction() as conn:
            self._lock_migrations(conn)
            self._x(conn, _MIGRATION_TABLE)
            row = self._x(conn, "SELECT max(version) FROM eventmask_schema").fetchone()
            before = int(row[0] or 0)
            target = self.schema_version_expected
            if before > target:
                raise InboxError(
                    f"the inbox schema is version {before}; this eventmask knows "
                    f"versions up to {target}: upgrade eventmask"
                )
            for version in range(before + 1, target + 1):
                for statement in self.MIGRATIONS[version - 1]:
                    conn.execute(statement)
            if before < target:
                self._x(conn, "DELETE FROM eventmask_schema")
                self._x(conn, "INSERT INTO eventmask_schema (version) VALUES (?)", (target,))
        return before, target

    def _check_schema(self, where: str) -> None:
        version = self.schema_version()
        if version != self.schema_version_expected:
            action = (
                f"run `eventmask inbox migrate --db {where}`"
                if version < self.schema_version_expected
                else "upgrade eventmask"
            )
            raise InboxError(
                f"the inbox schema at {where} is version {version}, this eventmask needs "
                f"version {self.schema_version_expected}: {action}"
            )

    # -- the writer: group commit --------------------------------------------------------

    def _ensure_writer(self) -> None:
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write_loop, name="eventmask-inbox-writer", daemon=True
                    )
                    self._writer.start()

    def _write_loop(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    break
                batch = [first]
                while len(batch) < 512:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        self._queue.put(_STOP)
                        break
                    batch.append(more)
                self._commit(batch)
        finally:
            self._writer_done()

    def _commit(self, batch: list[Any]) -> None:
        outcomes: list[tuple[Any, Any, BaseException | None]] = []
        try:
            with self._transaction() as conn:
                puts = [args for kind, args, _ in batch if kind == "put"]
                stored = iter(self._insert_batch(conn, puts) if puts else ())
                for kind, args, waiter in batch:
                    if kind == "put":
                        outcomes.append((waiter, next(stored), None))
                    else:
                        if kind == "reject":
                            self._x(conn, _REJECT, args)
                        outcomes.append((waiter, None, None))
            # one commit (one fsync) for the whole batch
        except BaseException as exc:
            failure = InboxError(f"could not store the delivery: {exc}")
            outcomes = [(waiter, None, failure) for _, _, waiter in batch]
        _settle_all(outcomes)

    def _submit(self, kind: str, args: tuple[Any, ...]) -> concurrent.futures.Future[Any]:
        if self._closed:
            raise InboxError("the inbox is closed")
        self._ensure_writer()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put((kind, args, future))
        return future

    def put(self, body: bytes, doc: Mapping[str, Any]) -> PutResult:
        result: PutResult = self._submit("put", (body, doc)).result()
        return result

    async def aput(self, body: bytes, doc: Mapping[str, Any]) -> PutResult:
        if self._closed:
            raise InboxError("the inbox is closed")
        self._ensure_writer()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[PutResult] = loop.create_future()
        # The writer wakes each event loop once per batch, not once per delivery.
        self._queue.put(("put", (body, doc), (loop, future)))
        return await future

    def reject(self, status: int, reason: str, body: bytes | None, remote: str | None) -> None:
        if self._closed:
            return
        kept = body[: self.max_rejected_body] if body is not None else None
        self._submit("reject", (self.clock(), status, reason, remote, kept))

    def flush(self) -> None:
        """Wait until every queued write has been committed."""
        self._submit("flush", ()).result()

    # -- workers ------------------------------------------------------------------------

    def process(
        self, entry: Entry, owner: str, run: Callable[[DeliveryContext], str | None]
    ) -> State:
        (state,) = self.process_batch([entry], owner, run)
        return state

    def process_batch(
        self,
        entries: list[Entry],
        owner: str,
        run: Callable[[DeliveryContext], str | None],
        stopping: Callable[[], bool] | None = None,
    ) -> list[State]:
        """Process claimed entries in one transaction, each inside its own savepoint.

        When `stopping()` turns true, the entries not yet started are given
        back (pending again, the claim not counted) in the same transaction.

        A failing entry rolls back to its savepoint (its handlers' writes go)
        and records the failure; the batch commits once, so a busy worker
        pays one commit per batch rather than one per delivery.  A crash
        before the commit undoes the whole batch, effects included, and the
        entries are claimed again after their lease: still exactly once.
        The batch commits early once it has been open for `batch_budget`
        seconds: quick handlers share one commit, slow ones commit one by one
        (and, with SQLite, the receiver is not kept waiting for the lock).
        """
        states: dict[int, State] = {}
        todo = list(entries)
        with self._connection() as conn:
            while todo:
                if len(todo) < len(entries):  # committed early: let waiting writers in
                    self._yield_lock()
                owned = self._open_batch(conn, [e.id for e in todo], owner)
                try:
                    todo = self._process_some(conn, todo, owned, owner, run, stopping, states)
                except BaseException:
                    with suppress(*self._db_errors):
                        conn.execute("ROLLBACK")
                    raise
        return [states[e.id] for e in entries]

    def _process_some(
        self,
        conn: Any,
        todo: list[Entry],
        owned: set[int],
        owner: str,
        run: Callable[[DeliveryContext], str | None],
        stopping: Callable[[], bool] | None,
        states: dict[int, State],
    ) -> list[Entry]:
        """Process entries in the open transaction until the budget is spent; commit.

        Return the entries left for the next transaction.
        """
        held = time.monotonic()
        done: list[int] = []
        savepoint = False  # an entry's savepoint is open (released lazily, with the next)
        while todo:
            if stopping is not None and stopping():
                ids = [e.id for e in todo if e.id in owned]
                if ids:
                    marks = ", ".join("?" * len(ids))
                    self._x(conn, f"{_GIVE_BACK} AND id IN ({marks})", (owner, *ids))
                states.update((e.id, "pending" if e.id in owned else "claimed") for e in todo)
                todo = []
                break
            entry = todo.pop(0)
            if entry.id not in owned:
                # The lease ran out and another worker owns the entry now.
                states[entry.id] = "claimed"
                continue
            self._savepoint(conn, release_previous=savepoint)
            savepoint = True
            context = DeliveryContext(
                conn, entry.id, entry.idempotency_key, entry.attempts, entry.event, self.backend
            )
            with delivery_context(context):
                error = run(context)
            if error is None and self._aborted(conn):
                # A handler swallowed a database error and left the
                # transaction unusable: that is a failure of this attempt.
                error = "the handler's transaction was aborted by a database error it caught"
            if error is None:
                done.append(entry.id)
                states[entry.id] = "done"
            else:
                conn.execute("ROLLBACK TO eventmask_entry")  # the handlers' database effects go
                conn.execute("RELEASE eventmask_entry")
                savepoint = False
                states[entry.id] = self._record_failure(conn, entry, owner, error)
            if todo and time.monotonic() - held > self.batch_budget:
                break
        self._finish_batch(conn, done)
        return todo

    def _record_failure(self, conn: Any, entry: Entry, owner: str, error: str) -> State:
        dead = entry.attempts >= self.max_attempts
        delay = min(self.backoff * 2 ** (entry.attempts - 1), self.max_backoff)
        state: State = "dead" if dead else "pending"
        self._x(conn, _MARK_FAILED, (state, self.clock() + delay, error[:4000], entry.id, owner))
        return state

    def _open_batch(self, conn: Any, ids: list[int], owner: str) -> set[int]:
        """Begin the batch's transaction; return the ids still claimed by `owner`.

        No other worker can take those entries until the transaction ends
        (SQLite: the write lock; PostgreSQL: row locks).
        """
        self._begin(conn)
        try:
            rows = self._x(conn, self._owned_query(len(ids)), (owner, *ids)).fetchall()
        except BaseException:
            with suppress(*self._db_errors):
                conn.execute("ROLLBACK")
            raise
        return {row[0] for row in rows}

    def _owned_query(self, n: int) -> str:
        return (
            "SELECT id FROM eventmask_deliveries WHERE state = 'claimed' AND lease_owner = ? "
            f"AND id IN ({', '.join('?' * n)})"
        )

    def _savepoint(self, conn: Any, release_previous: bool) -> None:
        if release_previous:
            conn.execute("RELEASE eventmask_entry")
        conn.execute("SAVEPOINT eventmask_entry")

    def _yield_lock(self) -> None:
        """Between two transactions of one batch: give other writers their turn."""

    def _aborted(self, conn: Any) -> bool:
        """Whether the transaction can no longer do anything but roll back."""
        return False

    def _finish_batch(self, conn: Any, done: list[int]) -> None:
        """Mark the entries done and commit."""
        if done:
            self._x(conn, self._done_query(len(done)), (self.clock(), *done))
        conn.execute("COMMIT")

    def _done_query(self, n: int) -> str:
        return (
            "UPDATE eventmask_deliveries SET state = 'done', done_at = ?, lease_owner = NULL, "
            f"lease_until = NULL, last_error = NULL WHERE id IN ({', '.join('?' * n)})"
        )

    def release(self, owner: str) -> int:
        with self._transaction() as conn:
            return int(self._x(conn, _GIVE_BACK, (owner,)).rowcount)

    # -- operators ---------------------------------------------------------------------

    def stats(self, *, done: bool = True) -> dict[str, Any]:
        counts: dict[str, int | None] = {}
        with self._connection() as conn:
            for state in STATES:
                if state == "done" and not done:
                    counts[state] = None
                    continue
                # One indexed count per state, not a GROUP BY over the table.
                counts[state] = self._x(
                    conn, "SELECT count(*) FROM eventmask_deliveries WHERE state = ?", (state,)
                ).fetchone()[0]
            oldest = self._x(
                conn,
                "SELECT min(received_at) FROM eventmask_deliveries "
                "WHERE state IN ('pending', 'claimed')",
            ).fetchone()[0]
            rejected = self._x(
                conn,
                "SELECT count(*) FROM eventmask_rejections WHERE at >= ?",
                (self.clock() - 86_400,),
            ).fetchone()[0]
        return {
            **counts,
            "oldest_pending_age_s": None if oldest is None else round(self.clock() - oldest, 3),
            "rejected_last_24h": rejected,
        }

    def entries(self, state: str | None = None, limit: int = 50) -> list[Entry]:
        if state is not None and state not in STATES:
            raise InboxError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        with self._connection() as conn:
            rows = self._x(
                conn,
                f"SELECT {_COLUMNS} FROM eventmask_deliveries {where} ORDER BY id DESC LIMIT ?",
                (*args, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def get(self, entry_id: int) -> Entry:
        with self._connection() as conn:
            row = self._x(
                conn, f"SELECT {_COLUMNS} FROM eventmask_deliveries WHERE id = ?", (entry_id,)
            ).fetchone()
        if row is None:
            raise InboxError(f"no inbox entry {entry_id}")
        return _entry(row)

    def retry(self, entry_id: int) -> None:
        with self._transaction() as conn:
            changed = self._x(
                conn,
                "UPDATE eventmask_deliveries SET state = 'pending', attempts = 0, "
                "available_at = ?, lease_owner = NULL, lease_until = NULL "
                "WHERE id = ? AND state IN ('dead', 'pending')",
                (self.clock(), entry_id),
            ).rowcount
        if changed != 1:
            state = self.get(entry_id).state
            raise InboxError(
                f"entry {entry_id} is {state}; only dead or pending entries are retried"
            )

    def purge(self, older_than: float, chunk: int = 5_000) -> int:
        """Delete done entries and rejections older than `older_than` seconds.

        In transactions of `chunk` rows: a large purge never holds SQLite's
        write lock (or PostgreSQL's row locks) long enough to delay receivers.
        """
        cutoff = self.clock() - older_than
        removed = 0
        for table, where in (
            ("eventmask_deliveries", "state = 'done' AND done_at < ?"),
            ("eventmask_rejections", "at < ?"),
        ):
            while True:
                with self._transaction() as conn:
                    count = self._x(
                        conn,
                        f"DELETE FROM {table} WHERE id IN "
                        f"(SELECT id FROM {table} WHERE {where} LIMIT ?)",
                        (cutoff, chunk),
                    ).rowcount
                if table == "eventmask_deliveries":
                    removed += count
                if count < chunk:
                    break
        return removed

    def rejections(self, limit: int = 50) -> list[dict[str, Any]]:
        with self._connection() as conn:
            rows = self._x(
                conn,
                "SELECT id, at, status, reason, remote, body FROM eventmask_rejections "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            {
                "id": r[0],
                "at": r[1],
                "status": r[2],
                "reason": r[3],
                "remote": r[4],
                "body": None if r[5] is None else bytes(r[5]).decode("utf-8", "replace"),
            }
            for r in rows
        ]

    def _stop_writer(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join(timeout=30)


# -- SQLite ---------------------------------------------------------------------------------

_SQLITE_V1: Final = (
    """CREATE TABLE IF NOT EXISTS eventmask_deliveries (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    event TEXT NOT NULL,
    property_id TEXT,
    body BLOB NOT NULL,
    body_hash TEXT NOT NULL,
    revision_key TEXT,
    idempotency_key TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    available_at REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    last_error TEXT,
    done_at REAL
)""",
    "CREATE INDEX IF NOT EXISTS eventmask_deliveries_ready "
    "ON eventmask_deliveries (state, available_at)",
    "CREATE INDEX IF NOT EXISTS eventmask_deliveries_hash "
    "ON eventmask_deliveries (body_hash, received_at)",
    "CREATE INDEX IF NOT EXISTS eventmask_deliveries_revision "
    "ON eventmask_deliveries (revision_key, received_at)",
    """CREATE TABLE IF NOT EXISTS eventmask_rejections (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    remote TEXT,
    body BLOB
)""",
)

_BUSY_DEADLINE: Final = 30.0
_BUSY_POLL: Final = 0.002  # the longest wait between two tries for the write lock


def _retry_busy(action: Callable[[], Any]) -> Any:
    """Run `action`, retrying while the database is locked by another writer."""
    delay = 0.0001
    deadline = time.monotonic() + _BUSY_DEADLINE
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if "locked" not in message and "busy" not in message:
                raise
            if time.monotonic() > deadline:
                raise InboxError(f"the inbox database stayed locked for 30 s: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, _BUSY_POLL)


# Version 2: purging done entries, and counting them, no longer scans the table.
_SQLITE_V2: Final = (
    "CREATE INDEX IF NOT EXISTS eventmask_deliveries_done "
    "ON eventmask_deliveries (done_at) WHERE state = 'done'",
    "CREATE INDEX IF NOT EXISTS eventmask_rejections_at ON eventmask_rejections (at)",
)


class SQLiteInbox(SQLInbox):
    """The embedded inbox: one SQLite file in WAL mode, ``synchronous=FULL``.

    The schema is created or upgraded when the inbox is opened.

    >>> import tempfile, os
    >>> inbox = SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> inbox.put(b'{"event":"message"}', {"event": "message"}).duplicate
    False
    >>> inbox.put(b'{"event":"message"}', {"event": "message"}).duplicate
    True
    >>> inbox.close()
    """

    backend = "sqlite"
    MIGRATIONS = (_SQLITE_V1, _SQLITE_V2)
    _db_errors = (sqlite3.Error,)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        dedup_window: float = 86_400.0,
        dedup_revisions: bool = False,
        lease: float = 60.0,
        max_attempts: int = 10,
        backoff: float = 1.0,
        max_backoff: float = 3_600.0,
        max_rejected_body: int = 4_096,
        batch_budget: float = 0.02,
        clock: Callable[[], float] = time.time,
        migrate: bool = True,
    ) -> None:
        super().__init__(
            dedup_window=dedup_window,
            dedup_revisions=dedup_revisions,
            lease=lease,
            max_attempts=max_attempts,
            backoff=backoff,
            max_backoff=max_backoff,
            max_rejected_body=max_rejected_body,
            batch_budget=batch_budget,
            clock=clock,
        )
        self.path = os.fspath(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        if migrate:
            self.migrated = self.migrate()
        else:
            self._check_schema(self.path)

    def _connect(self) -> sqlite3.Connection:
        # No busy timeout: SQLite's own busy handler sleeps up to 100 ms at a
        # time, which became the receiver's p99.  Write transactions start
        # with `_begin`, which retries in steps of a fraction of a millisecond.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            self._all.append(conn)
        yield conn

    def _begin(self, conn: sqlite3.Connection) -> None:
        # IMMEDIATE: a deferred transaction that reads and then writes can
        # hit a busy snapshot that no waiting resolves.
        _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))

    def _yield_lock(self) -> None:
        # SQLite's write lock has no queue: a worker that begins again the
        # moment it commits wins every time against the receiver's writer,
        # which polls for the lock every 2 ms at most, and acknowledgements
        # would wait for the whole batch.  One poll interval is enough.
        time.sleep(_BUSY_POLL)

    def _has_table(self, conn: sqlite3.Connection, name: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def _writer_done(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()

    def _insert_batch(
        self, conn: sqlite3.Connection, items: list[tuple[bytes, Mapping[str, Any]]]
    ) -> list[PutResult]:
        return [self._insert(conn, body, doc) for body, doc in items]

    def _insert(self, conn: sqlite3.Connection, body: bytes, doc: Mapping[str, Any]) -> PutResult:
        now = self.clock()
        digest, revision = dedup_keys(body, doc, self.dedup_revisions)
        since = now - self.dedup_window
        row = conn.execute(
            "SELECT id, idempotency_key FROM eventmask_deliveries "
            "WHERE body_hash = ? AND received_at >= ? ORDER BY id LIMIT 1",
            (digest, since),
        ).fetchone()
        if row is None and revision is not None:
            row = conn.execute(
                "SELECT id, idempotency_key FROM eventmask_deliveries "
                "WHERE revision_key = ? AND received_at >= ? ORDER BY id LIMIT 1",
                (revision, since),
            ).fetchone()
        if row is not None:
            return PutResult(row[0], True, row[1])
        key = revision or f"body:{digest}"
        prop = doc.get("property_id")
        cur = conn.execute(
            "INSERT INTO eventmask_deliveries (received_at, event, property_id, body, body_hash, "
            "revision_key, idempotency_key, available_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                now,
                doc["event"],
                prop if isinstance(prop, str) else None,
                body,
                digest,
                revision,
                key,
                now,
            ),
        )
        assert cur.lastrowid is not None
        return PutResult(cur.lastrowid, False, key)

    def claim(self, owner: str, limit: int = 16) -> list[Entry]:
        now = self.clock()
        with self._transaction() as conn:
            # A lease that ran out with no attempts left: the worker died on
            # this entry every time.  It is a dead letter, not a loop.
            conn.execute(
                "UPDATE eventmask_deliveries SET state = 'dead', lease_owner = NULL, "
                "lease_until = NULL, last_error = coalesce(last_error, 'worker lease expired') "
                "WHERE state = 'claimed' AND lease_until < ? AND attempts >= ?",
                (now, self.max_attempts),
            )
            rows = conn.execute(
                f"UPDATE eventmask_deliveries SET state = 'claimed', lease_owner = ?, "
                f"lease_until = ?, attempts = attempts + 1 WHERE id IN ("
                f"SELECT id FROM eventmask_deliveries "
                f"WHERE (state = 'pending' AND available_at <= ?) "
                f"OR (state = 'claimed' AND lease_until < ?) ORDER BY id LIMIT ?) "
                f"RETURNING {_COLUMNS}",
                (owner, now + self.lease, now, now, limit),
            ).fetchall()
        return sorted((_entry(r) for r in rows), key=lambda e: e.id)

    def close(self) -> None:
        if self._closed:
            return
        self._stop_writer()
        for conn in self._all:
            with suppress(sqlite3.Error):
                conn.close()


def open_inbox(url: str, **options: Any) -> SQLInbox:
    """An inbox for a database URL.

    A file path or ``sqlite:///path`` opens `SQLiteInbox`;
    ``postgresql://...`` (or ``postgres://``) opens `PostgresInbox`, which
    needs ``pip install 'eventmask[postgres]'``.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from ._postgres import PostgresInbox

        return PostgresInbox(url, **options)
    if url.startswith("sqlite:///"):
        return SQLiteInbox(url.removeprefix("sqlite:///"), **options)
    if url.startswith("sqlite://"):
        raise InboxError("use sqlite:///PATH (three slashes) for an SQLite inbox")
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise InboxError(
            f"unsupported inbox URL scheme {scheme!r}; use a file path, sqlite:///PATH "
            "or postgresql://..."
        )
    return SQLiteInbox(url, **options)
