"""The SQLite inbox's intake spool: where deliveries wait while the inbox's write lock is held.

SQLite has one writer per file.  A worker whose handler writes through
`current_delivery().connection` holds the inbox's write lock until that
entry commits, and a handler can hang there (a slow call, a stopped
process).  Receivers must not wait for it (docs/receiver.md, "Intake no
handler can hold"): when the lock cannot be had within ``spill_after``
seconds, the group-commit writer commits the deliveries into this second
file instead, whose lock only receivers and movers take, for milliseconds.

Every delivery is in at least one of the two files at all times, so
deduplication stays exact:

* a spooler holds the spool's lock and reads the inbox (WAL readers never
  wait for the writer): a body in either file is a duplicate;
* a mover holds the inbox's lock, then the spool's, copies every spooled row
  into the inbox (deduplicated as any delivery, with its own receipt time),
  commits the inbox, then deletes the rows from the spool.  A crash between
  the two commits leaves rows that the next move finds already stored.  An
  empty spool is seen with one read and no lock; a delivery spooled just
  after it is moved by the next commit, and deduplicated then.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Final, NamedTuple

from .._errors import InboxUnavailable
from .sqlite_file import file_uri, spool_path, spooled_in

__all__ = ["Spool", "SpooledRow"]

_SCHEMA: Final = """CREATE TABLE IF NOT EXISTS eventmask_intake (
    id INTEGER PRIMARY KEY,
    received_at REAL NOT NULL,
    event TEXT NOT NULL,
    property_id TEXT,
    body BLOB NOT NULL,
    body_hash TEXT NOT NULL,
    revision_key TEXT
)"""
_INDEX: Final = (
    "CREATE INDEX IF NOT EXISTS eventmask_intake_hash ON eventmask_intake (body_hash)",
    "CREATE INDEX IF NOT EXISTS eventmask_intake_revision ON eventmask_intake (revision_key)",
)
_ROWS: Final = (
    "SELECT id, received_at, event, property_id, body, body_hash, revision_key "
    "FROM eventmask_intake ORDER BY id"
)


class SpooledRow(NamedTuple):
    """One delivery waiting in the spool."""

    id: int
    received_at: float
    event: str
    property_id: str | None
    body: bytes
    body_hash: str
    revision_key: str | None


class Spool:
    """The spool file beside an inbox file (``<inbox>-intake``), created on first spill.

    >>> import os, tempfile
    >>> spool = Spool(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> spool.exists(), spool.count()
    (False, 0)
    """

    def __init__(self, inbox_path: str) -> None:
        self.path = spool_path(inbox_path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def exists(self) -> bool:
        """Whether anything was ever spilled (one stat: cheap before every move)."""
        return os.path.exists(self.path)

    def empty(self) -> bool:
        """Whether no delivery waits (a stat, then one indexed read; no lock taken)."""
        if not self.exists():
            return True
        row = self.connection().execute("SELECT 1 FROM eventmask_intake LIMIT 1").fetchone()
        return row is None

    def _connect(self) -> sqlite3.Connection:
        uri = file_uri(self.path, "rwc")
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(_SCHEMA)
            for statement in _INDEX:
                conn.execute(statement)
        except sqlite3.Error as exc:
            raise InboxUnavailable(f"cannot open the intake spool {self.path}: {exc}") from exc
        return conn

    def connection(self) -> sqlite3.Connection:
        """This thread's connection to the spool (opened, and the file created, on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """The spool's write lock (its busy handler waits: it is only ever held briefly)."""
        conn = self.connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise InboxUnavailable(f"the intake spool {self.path} is unavailable: {exc}") from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise

    def find(self, conn: sqlite3.Connection, digest: str, revision: str | None) -> bool:
        """Whether a spooled delivery has this body (or revision key)."""
        row = conn.execute("SELECT 1 FROM eventmask_intake WHERE body_hash = ?", (digest,))
        if row.fetchone() is not None:
            return True
        if revision is None:
            return False
        row = conn.execute("SELECT 1 FROM eventmask_intake WHERE revision_key = ?", (revision,))
        return row.fetchone() is not None

    def add(self, conn: sqlite3.Connection, row: tuple[object, ...]) -> None:
        """Spool one delivery: (received_at, event, property_id, body, body_hash, revision_key)."""
        conn.execute(
            "INSERT INTO eventmask_intake (received_at, event, property_id, body, body_hash, "
            "revision_key) VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )

    def rows(self, conn: sqlite3.Connection) -> list[SpooledRow]:
        """Every spooled delivery, oldest first."""
        return [SpooledRow(*r) for r in conn.execute(_ROWS).fetchall()]

    def remove(self, conn: sqlite3.Connection, up_to: int) -> None:
        """Forget the rows moved into the inbox."""
        conn.execute("DELETE FROM eventmask_intake WHERE id <= ?", (up_to,))

    def count(self) -> int:
        """How many deliveries wait in the spool (0 when there is no spool)."""
        return self.summary()[0]

    def summary(self) -> tuple[int, float | None]:
        """How many deliveries wait, and the receipt time of the oldest."""
        if not self.exists():
            return 0, None
        return spooled_in(self.connection())

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            for conn in self._all:
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
