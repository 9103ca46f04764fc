"""The embedded inbox: one SQLite file in WAL mode, ``synchronous=FULL``.

SQLite has one writer at a time, so this backend is about that lock: write
transactions begin ``IMMEDIATE``, waits for the lock are short polls rather
than SQLite's busy handler, and a worker steps aside between the
transactions of a batch so that receivers are not starved.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, Final

from .._envelope import Envelope
from .._errors import InboxUnavailable
from .._json import dumps_text
from .backend import entry_of
from .engine import SQLInbox, dedup_keys, idempotency_key
from .search_sql import SQLITE as SQLITE_SEARCH
from .search_sql import SQLITE_V7
from .settings import InboxSettings
from .spool import Spool
from .sqlite_file import claim_file, file_uri, identity
from .sqlite_puts import insert_batch
from .sqlite_sql import (
    CLAIM,
    EXPIRE,
    FIND_BODY,
    FIND_REVISION,
    INSERT,
    REVISIONS,
    STATEMENTS,
    V1,
    V2,
    V3,
    V4,
    V5,
    V6,
    V8,
)
from .values import Entry, PutResult
from .writer import Write, WriteKind

__all__ = ["SQLiteInbox"]

log = logging.getLogger("eventmask.inbox")

_BUSY_POLL: Final = 0.002  # the longest wait between two tries for the write lock


class _Locked(InboxUnavailable):
    """Another connection held the write lock for the whole wait."""


def _retry_busy(action: Callable[[], Any], patience: float) -> Any:
    """Run `action`, retrying while another writer holds the lock, for `patience` seconds."""
    delay = 0.0001
    deadline = time.monotonic() + patience
    while True:
        try:
            return action()
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if "locked" not in message and "busy" not in message:
                raise
            if time.monotonic() > deadline:
                raise _Locked(
                    f"the inbox database stayed locked for {patience:g} s "
                    "(another process holds its write lock)"
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, _BUSY_POLL)


# size: the backend's connections, its storage checks and its intake spool all turn on
# the one write lock; the spool's file handling itself lives in spool.py.
class SQLiteInbox(SQLInbox):
    """The embedded inbox: one SQLite file in WAL mode, ``synchronous=FULL``.

    The schema is created or upgraded when the inbox is opened (``migrate``).
    With ``create=False`` the file must already be an eventmask inbox; a
    missing path, a directory, or another application's database is refused
    with `NotAnInbox` and left untouched.  A file deleted or replaced while in
    use makes every later write fail fast with `InboxUnavailable`.

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
    MIGRATIONS = (V1, V2, V3, V4, V5, V6, SQLITE_V7, V8)
    search_sql = SQLITE_SEARCH
    revision_sql = REVISIONS
    db_errors = (sqlite3.Error,)

    def __init__(
        self,
        path: str | os.PathLike[str],
        settings: InboxSettings | None = None,
        *,
        clock: Callable[[], float] = time.time,
        migrate: bool = True,
        create: bool = True,
    ) -> None:
        super().__init__(settings, clock)
        self.path = os.fspath(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lost: str | None = None
        self.created = claim_file(self.path, create)
        self._identity = identity(self.path)
        self._folder = os.path.dirname(os.path.abspath(self.path))
        self.spool = Spool(self.path)
        self._spilling = False  # this process is spooling: logged when it starts and ends
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
        # mode=rw: a connection never creates the file (`claim_file` did).
        uri = file_uri(self.path, "rw")
        try:
            conn = sqlite3.connect(
                uri, uri=True, isolation_level=None, check_same_thread=False, timeout=0
            )
            _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"), self._patience)
            conn.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise InboxUnavailable(f"cannot open the inbox at {self.path}: {exc}") from exc
        return conn

    @property
    def _patience(self) -> float:
        return self.settings.write_timeout

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection (one per thread, opened on first use)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            self._all.append(conn)
        yield conn

    def begin(self, conn: sqlite3.Connection) -> None:
        """BEGIN IMMEDIATE, polling for the write lock up to the settings' write_timeout."""
        # IMMEDIATE: a deferred transaction that reads and then writes can
        # hit a busy snapshot that no waiting resolves.
        _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"), self._patience)

    # -- storage faults ---------------------------------------------------------------------

    def check_storage(self) -> None:
        """Raise `InboxUnavailable` once the file is gone or replaced, or its disk is full.

        Run before every commit and by the health check, so both say the same.
        """
        # One stat per group commit (3 us measured, against a commit's fsync of
        # milliseconds): a delivery acknowledged into an unlinked file is lost.
        if self._lost is None:
            self._check_identity()
        if self._lost is not None:
            raise InboxUnavailable(self._lost)
        # And one statvfs: a disk that another process filled would fail the
        # commit half-way; below the margin the answer is a clean 503 at once,
        # and /health says so before any delivery fails.
        try:
            free = shutil.disk_usage(self._folder).free
        except OSError:
            return  # the identity check above speaks for a folder that is gone
        if free < self.settings.min_free_bytes:
            raise InboxUnavailable(
                f"the disk holding {self.path} has {free:,} bytes free, under the "
                f"{self.settings.min_free_bytes:,} the inbox keeps in reserve"
            )

    def storage_failed(self) -> None:
        """After a write error, look at the file at once."""
        self._check_identity()

    def _check_identity(self) -> None:
        try:
            now = identity(self.path)
        except OSError:
            now = None
        if now != self._identity:
            # Acknowledging into an unlinked file would lose every delivery.
            self._lost = (
                f"the inbox file {self.path} was deleted or replaced while in use: "
                "restart with the right file"
            )

    def probe(self) -> None:
        """Raise unless a delivery could be committed now: the storage, then the write lock.

        The file's permission bits are not asked: the connections opened it
        read-write, and a file made read-only afterwards still takes their
        writes (what a delivery would get is what the lock says).
        """
        self.check_storage()
        with self.connection() as conn:
            try:
                _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"), 0.2)
            except _Locked:
                # A handler holds the lock: deliveries go to the spool, so
                # health asks the spool (it says what a delivery would get).
                with self.spool.transaction():
                    return
            conn.execute("ROLLBACK")

    def yield_lock(self) -> None:
        """Sleep one poll interval, so a waiting receiver gets the write lock."""
        # SQLite's write lock has no queue: a worker that begins again the
        # moment it commits wins every time against the receiver's writer,
        # which polls for the lock every 2 ms at most, and acknowledgements
        # would wait for the whole batch.  One poll interval is enough.
        time.sleep(_BUSY_POLL)

    def id_list(self, ids: Sequence[int]) -> str:
        """A JSON array, read by ``json_each`` in the statements."""
        return dumps_text(list(ids))

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
        """Look for the batch's bodies (and revisions) within the window; insert what is new."""
        return insert_batch(conn, deliveries, now, self.settings)

    def _stored(
        self, conn: sqlite3.Connection, digest: str, revision: str | None, at: float
    ) -> tuple[int, str] | None:
        """The entry that already holds this body (or revision) within the window of `at`."""
        since = at - self.settings.dedup_window
        row = conn.execute(FIND_BODY, (digest, since)).fetchone()
        if row is None and revision is not None:
            row = conn.execute(FIND_REVISION, (revision, since)).fetchone()
        return None if row is None else (row[0], row[1])

    def _insert(self, conn: sqlite3.Connection, row: tuple[Any, ...]) -> PutResult:
        """Store one delivery (received_at, event, property_id, body, digest, revision)."""
        at, _, _, _, digest, revision = row
        found = self._stored(conn, digest, revision, at)
        if found is not None:
            return PutResult(found[0], True, found[1])
        key = idempotency_key(digest, revision)
        cur = conn.execute(INSERT, (*row, key, at))
        assert cur.lastrowid is not None
        return PutResult(cur.lastrowid, False, key)

    # -- intake that no handler can hold (docs/receiver.md, "Intake no handler can hold") ----

    def _commit(self, batch: Sequence[Write]) -> list[Any]:
        """One group commit into the inbox, or into the spool while the lock is held."""
        self.storage_ready()
        with self.connection() as conn:
            try:
                _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"), self.settings.spill_after)
            except _Locked:
                results = self._spill(conn, batch)
            else:
                try:
                    with self._moving(conn):
                        results = self.write_batch(conn, batch)
                        conn.execute("COMMIT")
                except BaseException:
                    self.rollback(conn)
                    raise
        self._last_ok = time.monotonic()
        return results

    def _spill(self, conn: sqlite3.Connection, batch: Sequence[Write]) -> list[Any]:
        """Commit the batch's deliveries into the spool, deduplicated against both files."""
        now = self.clock()
        results: list[Any] = []
        with self.spool.transaction() as spool:
            for write in batch:
                if write.kind is not WriteKind.PUT:
                    results.append(None)  # refusal counts are best effort: not spooled
                    continue
                delivery: Envelope = write.args
                digest, revision = dedup_keys(delivery, self.settings.dedup_revisions)
                key = idempotency_key(digest, revision)
                found = self._stored(conn, digest, revision, now)  # a WAL read: no lock
                if found is not None:
                    results.append(PutResult(found[0], True, found[1]))
                elif self.spool.find(spool, digest, revision):
                    results.append(PutResult(None, True, key))
                else:
                    row = (now, delivery.event, delivery.property_id, delivery.body)
                    self.spool.add(spool, (*row, digest, revision))
                    results.append(PutResult(None, False, key))
        if not self._spilling:  # once per episode, not once per group commit
            self._spilling = True
            log.warning(
                "the inbox's write lock is held: deliveries go to the intake spool",
                extra={"fields": {"spool": self.spool.path}},
            )
        return results

    @contextmanager
    def _moving(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Inside the inbox's open transaction: move every spooled delivery into it.

        The block must commit the inbox; the spool's rows are deleted after
        that, in the spool's own transaction (held meanwhile, so that no
        delivery is spooled between the move and the commit).  An empty spool
        is seen with one read, without its lock: every commit pays that once
        any spill has left the file behind.  A delivery spooled just after
        that read is moved by the next commit, and deduplicated then.
        """
        if self.spool.empty():
            yield
            return
        with self.spool.transaction() as spool:
            rows = self.spool.rows(spool)
            for row in rows:
                self._insert(conn, row[1:])
            yield
            if rows:
                self.spool.remove(spool, rows[-1].id)
        if rows and self._spilling:
            self._spilling = False
            log.warning(
                "the inbox's write lock is free again: spooled deliveries moved in",
                extra={"fields": {"deliveries": len(rows)}},
            )

    def claim(self, owner: str, limit: int = 16) -> list[Entry]:
        """Claim up to `limit` ready entries, oldest first."""
        now = self.clock()
        lease = self.settings.lease
        with self.connection() as conn:
            self.begin(conn)
            try:
                with self._moving(conn):
                    conn.execute(EXPIRE, (now, self.settings.max_attempts))
                    values = (owner, now + lease, now, limit, now, limit, limit)
                    rows = conn.execute(CLAIM, values).fetchall()
                    conn.execute("COMMIT")
            except BaseException:
                self.rollback(conn)
                raise
        return sorted((entry_of(r) for r in rows), key=lambda e: e.id)

    def spooled(self) -> tuple[int, float | None]:
        """How many deliveries wait in the intake spool, and when the oldest came."""
        return self.spool.summary()

    def close(self) -> None:
        """Stop the writer and close every connection."""
        if self._writer.closed:
            return
        self._stop_writer()
        self.spool.close()
        for conn in self._all:
            with suppress(sqlite3.Error):
                conn.close()
