"""The embedded inbox: one SQLite file in WAL mode, ``synchronous=FULL``.

SQLite has one writer at a time, so this backend is about that lock: write
transactions begin ``IMMEDIATE``, waits for the lock are short polls rather
than SQLite's busy handler, and a worker steps aside between the
transactions of a batch so that receivers are not starved.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Final

from .._envelope import Envelope
from .._errors import InboxError
from .backend import COLUMNS, Statements, entry_of
from .base import Entry, PutResult
from .engine import SQLInbox, dedup_keys
from .settings import InboxSettings

__all__ = ["SQLiteInbox"]

_V1: Final = (
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

# Version 2: purging done entries, and counting them, no longer scans the table.
_V2: Final = (
    "CREATE INDEX IF NOT EXISTS eventmask_deliveries_done "
    "ON eventmask_deliveries (done_at) WHERE state = 'done'",
    "CREATE INDEX IF NOT EXISTS eventmask_rejections_at ON eventmask_rejections (at)",
)

# A list of ids is one JSON array parameter, read back with json_each.
_IDS: Final = "(SELECT value FROM json_each(?))"
_GIVE_BACK: Final = (
    "UPDATE eventmask_deliveries SET state = 'pending', lease_owner = NULL, "
    "lease_until = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
    "WHERE state = 'claimed' AND lease_owner = ?"
)

STATEMENTS: Final = Statements(
    mark_failed="UPDATE eventmask_deliveries SET state = ?, available_at = ?, last_error = ?, "
    "lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
    give_back=_GIVE_BACK,
    give_back_some=f"{_GIVE_BACK} AND id IN {_IDS}",
    owned="SELECT id FROM eventmask_deliveries WHERE state = 'claimed' AND lease_owner = ? "
    f"AND id IN {_IDS}",
    mark_done="UPDATE eventmask_deliveries SET state = 'done', done_at = ?, lease_owner = NULL, "
    f"lease_until = NULL, last_error = NULL WHERE id IN {_IDS}",
    reject="INSERT INTO eventmask_rejections (at, status, reason, remote, body) "
    "VALUES (?, ?, ?, ?, ?)",
    count_state="SELECT count(*) FROM eventmask_deliveries WHERE state = ?",
    oldest_open="SELECT min(received_at) FROM eventmask_deliveries "
    "WHERE state IN ('pending', 'claimed')",
    rejected_since="SELECT count(*) FROM eventmask_rejections WHERE at >= ?",
    entries=f"SELECT {COLUMNS} FROM eventmask_deliveries ORDER BY id DESC LIMIT ?",
    entries_in_state=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE state = ? "
    "ORDER BY id DESC LIMIT ?",
    entry=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE id = ?",
    retry="UPDATE eventmask_deliveries SET state = 'pending', attempts = 0, available_at = ?, "
    "lease_owner = NULL, lease_until = NULL WHERE id = ? AND state IN ('dead', 'pending')",
    purge_done="DELETE FROM eventmask_deliveries WHERE id IN (SELECT id FROM "
    "eventmask_deliveries WHERE state = 'done' AND done_at < ? LIMIT ?)",
    purge_rejections="DELETE FROM eventmask_rejections WHERE id IN (SELECT id FROM "
    "eventmask_rejections WHERE at < ? LIMIT ?)",
    rejections="SELECT id, at, status, reason, remote, body FROM eventmask_rejections "
    "ORDER BY id DESC LIMIT ?",
    version_table="CREATE TABLE IF NOT EXISTS eventmask_schema (version INTEGER NOT NULL)",
    read_version="SELECT max(version) FROM eventmask_schema",
    clear_version="DELETE FROM eventmask_schema",
    write_version="INSERT INTO eventmask_schema (version) VALUES (?)",
)

# A lease that ran out with no attempts left: the worker died on this entry
# every time.  It is a dead letter, not a loop.
_EXPIRE: Final = (
    "UPDATE eventmask_deliveries SET state = 'dead', lease_owner = NULL, "
    "lease_until = NULL, last_error = coalesce(last_error, 'worker lease expired') "
    "WHERE state = 'claimed' AND lease_until < ? AND attempts >= ?"
)
_CLAIM: Final = (
    "UPDATE eventmask_deliveries SET state = 'claimed', lease_owner = ?, "
    "lease_until = ?, attempts = attempts + 1 WHERE id IN ("
    "SELECT id FROM eventmask_deliveries "
    "WHERE (state = 'pending' AND available_at <= ?) "
    "OR (state = 'claimed' AND lease_until < ?) ORDER BY id LIMIT ?) "
    f"RETURNING {COLUMNS}"
)
_FIND_BODY: Final = (
    "SELECT id, idempotency_key FROM eventmask_deliveries "
    "WHERE body_hash = ? AND received_at >= ? ORDER BY id LIMIT 1"
)
_FIND_REVISION: Final = (
    "SELECT id, idempotency_key FROM eventmask_deliveries "
    "WHERE revision_key = ? AND received_at >= ? ORDER BY id LIMIT 1"
)
_INSERT: Final = (
    "INSERT INTO eventmask_deliveries (received_at, event, property_id, body, body_hash, "
    "revision_key, idempotency_key, available_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
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


class SQLiteInbox(SQLInbox):
    """The embedded inbox: one SQLite file in WAL mode, ``synchronous=FULL``.

    The schema is created or upgraded when the inbox is opened.

    >>> import tempfile, os
    >>> from eventmask.inbox import Envelope
    >>> inbox = SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> inbox.put(Envelope.read(b'{"event":"message"}')).duplicate
    False
    >>> inbox.put(Envelope.read(b'{"event":"message"}')).duplicate
    True
    >>> inbox.close()
    """

    backend = "sqlite"
    statements = STATEMENTS
    MIGRATIONS = (_V1, _V2)
    db_errors = (sqlite3.Error,)

    def __init__(
        self,
        path: str | os.PathLike[str],
        settings: InboxSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        migrate: bool = True,
    ) -> None:
        super().__init__(settings, clock)
        self.path = os.fspath(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        if migrate:
            self.migrated = self.migrate()
        else:
            self.check_schema(self.path)

    def __repr__(self) -> str:
        return f"SQLiteInbox({self.path!r})"

    def _connect(self) -> sqlite3.Connection:
        # No busy timeout: SQLite's own busy handler sleeps up to 100 ms at a
        # time, which became the receiver's p99.  Write transactions start
        # with `begin`, which retries in steps of a fraction of a millisecond.
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=0)
        _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (one per thread, opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            self._all.append(conn)
        yield conn

    def begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, polling for the write lock."""
        # IMMEDIATE: a deferred transaction that reads and then writes can
        # hit a busy snapshot that no waiting resolves.
        _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"))

    def yield_lock(self) -> None:
        """Sleep one poll interval, so a waiting receiver gets the write lock."""
        # SQLite's write lock has no queue: a worker that begins again the
        # moment it commits wins every time against the receiver's writer,
        # which polls for the lock every 2 ms at most, and acknowledgements
        # would wait for the whole batch.  One poll interval is enough.
        time.sleep(_BUSY_POLL)

    def id_list(self, ids: Sequence[int]) -> str:
        """A JSON array, read by ``json_each`` in the statements."""
        return json.dumps(list(ids))

    def has_table(self, conn: sqlite3.Connection, name: str) -> bool:
        """Whether the file has a table `name`."""
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    def _writer_done(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()

    def insert_deliveries(
        self, conn: sqlite3.Connection, deliveries: Sequence[Envelope], now: float
    ) -> list[PutResult]:
        """Look for each body (and revision) within the window; insert what is new."""
        since = now - self.settings.dedup_window
        results = []
        for delivery in deliveries:
            digest, revision = dedup_keys(delivery, self.settings.dedup_revisions)
            row = conn.execute(_FIND_BODY, (digest, since)).fetchone()
            if row is None and revision is not None:
                row = conn.execute(_FIND_REVISION, (revision, since)).fetchone()
            if row is not None:
                results.append(PutResult(row[0], True, row[1]))
                continue
            key = revision or f"body:{digest}"
            values = (now, delivery.event, delivery.property_id, delivery.body, digest)
            cur = conn.execute(_INSERT, (*values, revision, key, now))
            assert cur.lastrowid is not None
            results.append(PutResult(cur.lastrowid, False, key))
        return results

    def claim(self, owner: str, limit: int = 16) -> list[Entry]:
        """Claim up to `limit` ready entries, oldest first."""
        now = self.clock()
        lease = self.settings.lease
        with self.transaction() as conn:
            conn.execute(_EXPIRE, (now, self.settings.max_attempts))
            rows = conn.execute(_CLAIM, (owner, now + lease, now, now, limit)).fetchall()
        return sorted((entry_of(r) for r in rows), key=lambda e: e.id)

    def close(self) -> None:
        """Stop the writer and close every connection."""
        if self._writer.closed:
            return
        self._stop_writer()
        for conn in self._all:
            with suppress(sqlite3.Error):
                conn.close()
