"""The shared engine of the SQL inboxes: group commit, deduplication keys, migrations.

Two backends share it and behave the same way: `SQLiteInbox` (one file,
one machine) and `PostgresInbox` (any number of receivers and workers on any
number of hosts).  In both, one writer thread per process commits whatever
deliveries are waiting in one transaction.

Deduplication keys (docs/receiver.md, "The inbox"):

* ``body``: the SHA-256 of the exact request body.  A body seen within the
  window is acknowledged again without a new entry (Channex retries repeat
  the same body).
* ``revision`` (opt-in, ``dedup_revisions``): ``revision:<revision id>`` for
  ``booking`` and its specific events, so one revision delivered as both
  ``booking`` and ``booking_new`` makes one entry, the first to arrive.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any, Final

from .._envelope import Envelope
from .._errors import InboxError, InboxUnavailable
from .interface import Inbox
from .schema import schema_problem
from .search import InboxSearch
from .settings import InboxSettings
from .values import REFUSAL_SAMPLES, Health, PutResult, RefusalBatch
from .writer import GroupWriter, Write, WriteKind

__all__ = ["SQLInbox", "dedup_keys", "idempotency_key"]


def dedup_keys(delivery: Envelope, revisions: bool) -> tuple[str, str | None]:
    """The body hash and, when enabled and present, the revision key of a delivery.

    >>> env = Envelope.read(b'{"event":"booking","payload":{"revision_id":"R1"}}')
    >>> dedup_keys(env, revisions=True)[1]
    'revision:r1'
    """
    digest = hashlib.sha256(delivery.body).hexdigest()
    revision = None
    if revisions and delivery.revision is not None:
        revision = f"revision:{delivery.revision.lower()}"
    return digest, revision


def idempotency_key(digest: str, revision: str | None) -> str:
    """The key a handler sees (`DeliveryContext.idempotency_key`): the same on every attempt.

    The revision key when revisions are deduplicated, else the body's hash;
    PostgreSQL's ``eventmask_put`` builds the same text in SQL.

    >>> idempotency_key("ab12", None), idempotency_key("ab12", "revision:r1")
    ('body:ab12', 'revision:r1')
    """
    return revision or f"body:{digest}"


# A failed write is what health reports for this long, unless a write succeeds.
_FAILURE_MEMORY: Final = 60.0


class SQLInbox(InboxSearch, Inbox):
    """What the SQL backends share; a backend adds its connections and its SQL.

    One line of descent, each class one room: `SQLBackend` (connections,
    transactions, the backend's SQL) <- `RevisionStore` (revisions, acks)
    <- `BatchProcessing` (attempts in their transactions) <- `OperatorViews`
    (reads and repairs) <- `InboxSearch` (the operator's page's questions)
    <- `SQLInbox` (intake, schema, health), which
    implements the interface `Inbox`.
    """

    def __init__(self, settings: InboxSettings | None, clock: Callable[[], float]) -> None:
        self.settings = settings or InboxSettings()
        self.clock = clock
        self._writer = GroupWriter(self._commit, self._writer_done, self._write_failed)
        # (before, after) when this inbox migrated the schema as it opened.
        self.migrated: tuple[int, int] | None = None
        # The last write outcomes, on the monotonic clock: what health reports.
        self._last_ok = 0.0
        self._last_failure: tuple[float, str] | None = None
        self._refused: BaseException | None = None  # the last refusal of check_storage

    @property
    def schema_version_expected(self) -> int:
        """The schema version this eventmask writes."""
        return len(self.MIGRATIONS)

    # -- the writer: group commit ------------------------------------------------------------

    def _writer_done(self) -> None:
        """The writer thread is about to end (close what it opened)."""

    def _write_failed(self, exc: BaseException) -> BaseException:
        if exc is not self._refused:
            # Remembered for health: a write can fail where its probe succeeds.
            # A refusal of check_storage is not: health runs that check itself.
            self._last_failure = (time.monotonic(), str(exc))
        self.storage_failed()
        if isinstance(exc, InboxError):
            return exc
        return InboxUnavailable(f"could not store the delivery: {exc}")

    def storage_failed(self) -> None:
        """A write failed: a backend may look at once at why (SQLite: the file)."""

    def check_storage(self) -> None:
        """Raise `InboxUnavailable` when the storage is known to be gone (before each write)."""

    def storage_ready(self) -> None:
        """`check_storage` before a group commit (its refusal is not remembered for health)."""
        try:
            self.check_storage()
        except InboxUnavailable as exc:
            self._refused = exc
            raise

    def _commit(self, batch: Sequence[Write]) -> list[Any]:
        """Run one batch of writes in one transaction: one commit, one fsync."""
        self.storage_ready()
        with self.transaction() as conn:
            results = self.write_batch(conn, batch)
        self._last_ok = time.monotonic()
        return results

    def write_batch(self, conn: Any, batch: Sequence[Write]) -> list[Any]:
        """The writes of one group commit, in the open transaction; their results in order."""
        puts = [w.args for w in batch if w.kind is WriteKind.PUT]
        stored = iter(self.insert_deliveries(conn, puts, self.clock()) if puts else ())
        results: list[Any] = []
        for write in batch:
            if write.kind is WriteKind.PUT:
                results.append(next(stored))
                continue
            if write.kind is WriteKind.REFUSALS:
                self._store_refusals(conn, write.args)
            results.append(None)
        return results

    def _store_refusals(self, conn: Any, batch: RefusalBatch) -> None:
        sql = self.statements
        for bucket, status, kind, count in batch.counts:
            conn.execute(sql.count_refusals, (bucket, status, kind, count))
        keep = self.settings.max_rejected_body
        for r in batch.samples[-REFUSAL_SAMPLES:]:
            body = r.body[:keep] if r.body is not None else None
            conn.execute(sql.sample_refusal, (r.at, r.status, r.reason, r.remote, body))
        if batch.samples:
            conn.execute(sql.trim_samples, (REFUSAL_SAMPLES,))

    def health(self) -> Health:
        """Whether a delivery can be stored now: a recent failure, else the backend's probe."""
        failure = self._last_failure
        if failure is not None:
            at, reason = failure
            if at > self._last_ok and time.monotonic() - at < _FAILURE_MEMORY:
                return Health(False, reason)
        try:
            self.check_storage()
            self.probe()
        except InboxError as exc:
            return Health(False, str(exc))
        return Health(True)

    def probe(self) -> None:
        """Raise `InboxError` unless the database takes writes now (a cheap check)."""

    def _check_open(self) -> None:
        if self._writer.closed:
            raise InboxError("the inbox is closed")

    def put(self, delivery: Envelope) -> PutResult:
        """Store an accepted delivery durably; return once it is committed."""
        self._check_open()
        result: PutResult = self._writer.submit(WriteKind.PUT, delivery).result()
        return result

    async def aput(self, delivery: Envelope) -> PutResult:
        """`put` for async code: waits for the group commit without blocking the loop."""
        self._check_open()
        result: PutResult = await self._writer.submit_async(WriteKind.PUT, delivery)
        return result

    def record_refusals(self, batch: RefusalBatch) -> None:
        """Add refusal counts and keep samples (best effort, not awaited; never raises)."""
        if self._writer.closed or not (batch.counts or batch.samples):
            return
        self._writer.submit(WriteKind.REFUSALS, batch)

    def flush(self) -> None:
        """Wait until every queued write has been committed."""
        self._check_open()
        self._writer.submit(WriteKind.FLUSH, ()).result()

    # -- migrations ----------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The schema version of the database (0 when eventmask has never migrated it)."""
        with self.connection() as conn:
            if not self.has_table(conn, "eventmask_schema"):
                return 0
            row = conn.execute(self.statements.read_version).fetchone()
        return int(row[0] or 0)

    def migrate(self) -> tuple[int, int]:
        """Create or upgrade the schema; return the versions before and after.

        The pending migrations and the version bump run in one transaction,
        so a failed upgrade leaves the schema as it was.  Running it again, or
        in several processes at once, is safe.
        """
        sql = self.statements
        with self.transaction() as conn:
            self.lock_migrations(conn)
            conn.execute(sql.version_table)
            before = int(conn.execute(sql.read_version).fetchone()[0] or 0)
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
                conn.execute(sql.clear_version)
                conn.execute(sql.write_version, (target,))
        return before, target

    def check_schema(self, where: str) -> None:
        """Refuse a schema this eventmask does not write, naming what to run."""
        problem = schema_problem(self.schema_version(), self.schema_version_expected, where)
        if problem is not None:
            raise InboxError(problem)

    def _stop_writer(self) -> None:
        self._writer.stop()
