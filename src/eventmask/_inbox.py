"""The durable inbox: deliveries are committed here before Channex gets its 2xx.

`SQLiteInbox` is the embedded backend.  One writer thread owns the write
connection and commits whatever deliveries are waiting in one transaction
(group commit): with ``synchronous=FULL`` in WAL mode, concurrent
deliveries share one fsync instead of paying one each.

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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, Final, Literal

import attrs
import orjson

__all__ = [
    "DeliveryContext",
    "Entry",
    "Inbox",
    "InboxError",
    "PutResult",
    "SQLiteInbox",
    "current_delivery",
    "open_inbox",
]

State = Literal["pending", "claimed", "done", "dead"]
STATES: Final = ("pending", "claimed", "done", "dead")
SCHEMA_VERSION: Final = 1
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
    together with that mark, or not at all.  ``idempotency_key`` identifies
    the delivery for effects outside the database (it is the same on every
    attempt).
    """

    connection: Any
    entry_id: int
    idempotency_key: str
    attempt: int
    event: str


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
    """The interface every inbox backend provides (SQLite here, PostgreSQL later)."""

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
        """`process` for several entries, committed together; see SQLiteInbox."""
        raise NotImplementedError

    def release(self, owner: str) -> int:
        """Give back every entry `owner` has claimed (graceful shutdown)."""
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """Counts per state, the oldest pending entry's age, recent rejections."""
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

    def close(self) -> None:
        """Stop the writer and close connections."""
        raise NotImplementedError


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS eventmask_schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS eventmask_deliveries (
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
);
CREATE INDEX IF NOT EXISTS eventmask_deliveries_ready
    ON eventmask_deliveries (state, available_at);
CREATE INDEX IF NOT EXISTS eventmask_deliveries_hash
    ON eventmask_deliveries (body_hash, received_at);
CREATE INDEX IF NOT EXISTS eventmask_deliveries_revision
    ON eventmask_deliveries (revision_key, received_at);
CREATE TABLE IF NOT EXISTS eventmask_rejections (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    remote TEXT,
    body BLOB
);
"""

_COLUMNS: Final = (
    "id, event, property_id, body, idempotency_key, state, attempts, received_at, "
    "available_at, lease_owner, lease_until, last_error, done_at"
)
_STOP: Final = object()
# Claims given back unused (shutdown): pending again, the claim not counted.
_GIVE_BACK: Final = (
    "UPDATE eventmask_deliveries SET state = 'pending', lease_owner = NULL, "
    "lease_until = NULL, attempts = max(attempts - 1, 0) "
    "WHERE state = 'claimed' AND lease_owner = ?"
)


_BUSY_DEADLINE: Final = 30.0


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
            delay = min(delay * 2, 0.002)


def _begin(conn: sqlite3.Connection) -> None:
    """Start a write transaction, waiting in short steps for the write lock."""
    _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))


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


def _entry(row: tuple[Any, ...]) -> Entry:
    return Entry(*row)


class SQLiteInbox(Inbox):
    """The embedded inbox: one SQLite file in WAL mode, ``synchronous=FULL``.

    >>> import tempfile, os
    >>> inbox = SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> inbox.put(b'{"event":"message"}', {"event": "message"}).duplicate
    False
    >>> inbox.put(b'{"event":"message"}', {"event": "message"}).duplicate
    True
    >>> inbox.close()
    """

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
    ) -> None:
        self.path = os.fspath(path)
        self.dedup_window = dedup_window
        self.dedup_revisions = dedup_revisions
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.max_rejected_body = max_rejected_body
        self.batch_budget = batch_budget
        self.clock = clock
        self._local = threading.local()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._closed = False
        conn = self._connect()
        try:
            self._migrate(conn)
        finally:
            conn.close()
        self._writer = threading.Thread(
            target=self._write_loop, name="eventmask-inbox-writer", daemon=True
        )
        self._writer.start()

    # -- connections ---------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # No busy timeout: SQLite's own busy handler sleeps up to 100 ms at a
        # time, which became the receiver's p99.  Write transactions start
        # with `_begin`, which retries in steps of a fraction of a millisecond.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        _begin(conn)
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            row = conn.execute("SELECT version FROM eventmask_schema").fetchone()
            if row is None:
                conn.execute("INSERT INTO eventmask_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row[0] > SCHEMA_VERSION:
                raise InboxError(
                    f"the inbox schema is version {row[0]}; this eventmask knows {SCHEMA_VERSION}"
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # -- the writer: group commit ------------------------------------------------------

    def _write_loop(self) -> None:
        conn = self._connect()
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
            self._commit(conn, batch)
        conn.close()

    def _commit(self, conn: sqlite3.Connection, batch: list[Any]) -> None:
        outcomes: list[tuple[Any, Any, BaseException | None]] = []
        try:
            _begin(conn)
            for kind, args, waiter in batch:
                if kind == "put":
                    outcomes.append((waiter, self._insert(conn, *args), None))
                elif kind == "flush":
                    outcomes.append((waiter, None, None))
                else:
                    conn.execute(
                        "INSERT INTO eventmask_rejections (at, status, reason, remote, body) "
                        "VALUES (?, ?, ?, ?, ?)",
                        args,
                    )
                    outcomes.append((waiter, None, None))
            conn.execute("COMMIT")  # one fsync for the whole batch
        except BaseException as exc:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            failure = InboxError(f"could not store the delivery: {exc}")
            outcomes = [(waiter, None, failure) for _, _, waiter in batch]
        _settle_all(outcomes)

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

    def _submit(self, kind: str, args: tuple[Any, ...]) -> concurrent.futures.Future[Any]:
        if self._closed:
            raise InboxError("the inbox is closed")
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._queue.put((kind, args, future))
        return future

    def put(self, body: bytes, doc: Mapping[str, Any]) -> PutResult:
        result: PutResult = self._submit("put", (body, doc)).result()
        return result

    async def aput(self, body: bytes, doc: Mapping[str, Any]) -> PutResult:
        if self._closed:
            raise InboxError("the inbox is closed")
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

    # -- workers ------------------------------------------------------------------------

    def claim(self, owner: str, limit: int = 16) -> list[Entry]:
        conn = self._conn()
        now = self.clock()
        _begin(conn)
        try:
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
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return sorted((_entry(r) for r in rows), key=lambda e: e.id)

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
        pays one fsync per batch rather than one per delivery.  A crash
        before the commit undoes the whole batch, effects included, and the
        entries are claimed again after their lease: still exactly once.
        """
        conn = self._conn()
        states: list[State] = []
        # IMMEDIATE: a deferred transaction that reads and then writes can hit
        # a busy snapshot that no waiting resolves.  The write lock it takes
        # also stops the receiver from acknowledging, so the batch commits
        # early once it has held the lock for `batch_budget` seconds: quick
        # handlers share one commit, slow ones commit one by one.
        _begin(conn)
        held = time.monotonic()
        try:
            for position, entry in enumerate(entries):
                if stopping is not None and stopping():
                    conn.execute(_GIVE_BACK + " AND id = ?", (owner, entry.id))
                    states.append("pending")
                    continue
                states.append(self._process_one(conn, entry, owner, run))
                if position + 1 < len(entries) and time.monotonic() - held > self.batch_budget:
                    conn.execute("COMMIT")
                    _begin(conn)
                    held = time.monotonic()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return states

    def _process_one(
        self,
        conn: sqlite3.Connection,
        entry: Entry,
        owner: str,
        run: Callable[[DeliveryContext], str | None],
    ) -> State:
        context = DeliveryContext(
            conn, entry.id, entry.idempotency_key, entry.attempts, entry.event
        )
        conn.execute("SAVEPOINT eventmask_entry")
        with delivery_context(context):
            error = run(context)
        if error is None:
            cur = conn.execute(
                "UPDATE eventmask_deliveries SET state = 'done', done_at = ?, lease_owner = NULL, "
                "lease_until = NULL, last_error = NULL "
                "WHERE id = ? AND state = 'claimed' AND lease_owner = ?",
                (self.clock(), entry.id, owner),
            )
            if cur.rowcount == 1:
                conn.execute("RELEASE eventmask_entry")
                return "done"
            # The lease ran out and another worker owns the entry now: undo.
            conn.execute("ROLLBACK TO eventmask_entry")
            conn.execute("RELEASE eventmask_entry")
            return "claimed"
        conn.execute("ROLLBACK TO eventmask_entry")  # the handlers' database effects go
        conn.execute("RELEASE eventmask_entry")
        dead = entry.attempts >= self.max_attempts
        delay = min(self.backoff * 2 ** (entry.attempts - 1), self.max_backoff)
        state: State = "dead" if dead else "pending"
        conn.execute(
            "UPDATE eventmask_deliveries SET state = ?, available_at = ?, last_error = ?, "
            "lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
            (state, self.clock() + delay, error[:4000], entry.id, owner),
        )
        return state

    def release(self, owner: str) -> int:
        conn = self._conn()
        _begin(conn)
        cur = conn.execute(_GIVE_BACK, (owner,))
        conn.execute("COMMIT")
        return cur.rowcount

    # -- operators ---------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        conn = self._conn()
        counts = dict.fromkeys(STATES, 0)
        for state, n in conn.execute(
            "SELECT state, count(*) FROM eventmask_deliveries GROUP BY state"
        ):
            counts[state] = n
        oldest = conn.execute(
            "SELECT min(received_at) FROM eventmask_deliveries "
            "WHERE state IN ('pending', 'claimed')"
        ).fetchone()[0]
        day = self.clock() - 86_400
        rejected = conn.execute(
            "SELECT count(*) FROM eventmask_rejections WHERE at >= ?", (day,)
        ).fetchone()[0]
        return {
            **counts,
            "oldest_pending_age_s": None if oldest is None else round(self.clock() - oldest, 3),
            "rejected_last_24h": rejected,
        }

    def entries(self, state: str | None = None, limit: int = 50) -> list[Entry]:
        conn = self._conn()
        if state is not None and state not in STATES:
            raise InboxError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
        where, args = ("WHERE state = ?", (state,)) if state else ("", ())
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM eventmask_deliveries {where} ORDER BY id DESC LIMIT ?",
            (*args, limit),
        ).fetchall()
        return [_entry(r) for r in rows]

    def get(self, entry_id: int) -> Entry:
        row = (
            self._conn()
            .execute(f"SELECT {_COLUMNS} FROM eventmask_deliveries WHERE id = ?", (entry_id,))
            .fetchone()
        )
        if row is None:
            raise InboxError(f"no inbox entry {entry_id}")
        return _entry(row)

    def retry(self, entry_id: int) -> None:
        conn = self._conn()
        _begin(conn)
        cur = conn.execute(
            "UPDATE eventmask_deliveries SET state = 'pending', attempts = 0, available_at = ?, "
            "lease_owner = NULL, lease_until = NULL WHERE id = ? AND state IN ('dead', 'pending')",
            (self.clock(), entry_id),
        )
        conn.execute("COMMIT")
        if cur.rowcount != 1:
            state = self.get(entry_id).state
            raise InboxError(
                f"entry {entry_id} is {state}; only dead or pending entries are retried"
            )

    def purge(self, older_than: float) -> int:
        conn = self._conn()
        cutoff = self.clock() - older_than
        _begin(conn)
        done = conn.execute(
            "DELETE FROM eventmask_deliveries WHERE state = 'done' AND done_at < ?", (cutoff,)
        ).rowcount
        conn.execute("DELETE FROM eventmask_rejections WHERE at < ?", (cutoff,))
        conn.execute("COMMIT")
        return done

    def rejections(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = (
            self._conn()
            .execute(
                "SELECT id, at, status, reason, remote, body FROM eventmask_rejections "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
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

    def flush(self) -> None:
        """Wait until every queued write has been committed."""
        self._submit("flush", ()).result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._writer.join(timeout=30)
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()


def open_inbox(url: str, **options: Any) -> Inbox:
    """An inbox for a database URL: a file path or ``sqlite:///path``."""
    if url.startswith("sqlite:///"):
        return SQLiteInbox(url.removeprefix("sqlite:///"), **options)
    if url.startswith("sqlite://"):
        raise InboxError("use sqlite:///PATH (three slashes) for an SQLite inbox")
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise InboxError(f"unsupported inbox URL scheme {scheme!r}; use a file path or sqlite:///")
    return SQLiteInbox(url, **options)
