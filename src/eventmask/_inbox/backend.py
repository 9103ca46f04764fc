"""What an SQL backend provides: connections, transactions, and its own SQL.

The shared engine (`engine`, `processing`, `views`) decides *what* happens
to entries; a backend (`sqlite`, `postgres`) says *how* in its own dialect:
each writes its own statements, in its own placeholder style, and passes
lists of ids the way its driver takes them.  Nothing rewrites SQL text.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import Any, ClassVar

import attrs

from .._envelope import Envelope
from .counts import CountSQL
from .values import Entry, PutResult

__all__ = ["COLUMNS", "SQLBackend", "Statements", "entry_of"]

# The columns of an Entry, in its field order.
COLUMNS = (
    "id, event, property_id, body, idempotency_key, state, attempts, received_at, "
    "available_at, lease_owner, lease_until, last_error, done_at"
)


def entry_of(row: Sequence[Any]) -> Entry:
    """An `Entry` from a row of `COLUMNS`.

    >>> row = (1, "message", None, b"{}", "k", "pending", 0, 0.0, 0.0, None, None, None, None)
    >>> entry_of(row).id
    1
    """
    return Entry(*row)


@attrs.frozen(slots=True, kw_only=True)
class Statements:
    """The statements the shared engine runs, written by a backend in its own dialect.

    A parameter named ``ids`` is a list of entry ids, passed through
    `SQLBackend.id_list`.  Placeholders are the driver's own.
    """

    mark_failed: str  # (state, available_at, last_error, id, owner)
    give_back: str  # (owner): every claim of `owner` back to pending, the claim not counted
    give_back_some: str  # (owner, ids)
    owned: str  # (owner, ids) -> the ids still claimed by owner; locks them for the transaction
    mark_done: str  # (done_at, ids)
    count_refusals: str  # (bucket, status, kind, count): add to a bucket's count (an upsert)
    sample_refusal: str  # (at, status, reason, remote, body): keep one refused request
    trim_samples: str  # (keep): delete all but the newest `keep` samples
    counts: CountSQL  # the statements of `stats` (counts.py)
    entries: str  # (limit) -> rows of COLUMNS, newest first
    entries_in_state: str  # (state, limit)
    entries_of_event: str  # (event, state, state, below, limit); state None is every state
    revision_entry: str  # (revision_key) -> one row of COLUMNS: a booking revision's entry
    entry: str  # (id) -> one row of COLUMNS
    retry: str  # (available_at, id) -> rowcount 1 when a dead or pending entry was reset
    # (available_at, state, since, event, event) -> rowcount; event None matches every event
    retry_matching: str
    # (received_at, idempotency_key, id) -> the new entry's id, for a done entry only
    replay: str
    purge_done: str  # (cutoff, chunk) -> rowcount
    purge_rejections: str  # (cutoff, chunk) -> rowcount
    purge_refusal_counts: str  # (cutoff) -> rowcount
    refusals: str  # (limit) -> id, at, status, reason, remote, body
    version_table: str  # () create the version table if missing
    read_version: str  # () -> max(version)
    clear_version: str  # ()
    write_version: str  # (version)


class SQLBackend(abc.ABC):
    """The part of an inbox that speaks to one kind of database."""

    backend: ClassVar[str]
    statements: ClassVar[Statements]
    # Version n of the schema is MIGRATIONS[n - 1]: statements run in order.
    MIGRATIONS: ClassVar[tuple[tuple[str, ...], ...]]
    db_errors: ClassVar[tuple[type[Exception], ...]]

    @abc.abstractmethod
    def connection(self) -> AbstractContextManager[Any]:
        """A connection for the calling thread (autocommit; eventmask opens transactions)."""

    def begin(self, conn: Any) -> None:
        """Start a write transaction."""
        conn.execute("BEGIN")

    def commit(self, conn: Any) -> None:
        """Commit the transaction."""
        conn.execute("COMMIT")

    def rollback(self, conn: Any) -> None:
        """Roll the transaction back, ignoring a connection that already failed."""
        with suppress(*self.db_errors):
            conn.execute("ROLLBACK")

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A connection inside a write transaction: committed at the end, rolled back on error."""
        with self.connection() as conn:
            self.begin(conn)
            try:
                yield conn
                self.commit(conn)
            except BaseException:
                self.rollback(conn)
                raise

    @abc.abstractmethod
    def id_list(self, ids: Sequence[int]) -> Any:
        """A list of entry ids as one parameter of this driver."""

    @abc.abstractmethod
    def has_table(self, conn: Any, name: str) -> bool:
        """Whether the database has a table `name`."""

    def lock_migrations(self, conn: Any) -> None:  # noqa: B027 - most backends need no lock
        """Keep two migrating processes apart (inside the migration's transaction)."""

    @abc.abstractmethod
    def insert_deliveries(
        self, conn: Any, deliveries: Sequence[Envelope], now: float
    ) -> list[PutResult]:
        """Store deliveries, deduplicating on body and revision within the window."""

    def open_batch(self, conn: Any, owner: str, ids: Sequence[int]) -> set[int]:
        """Begin a batch's transaction; return the ids still claimed by `owner`.

        No other worker can take those entries until the transaction ends
        (SQLite: the write lock; PostgreSQL: row locks).
        """
        self.begin(conn)
        try:
            rows = conn.execute(self.statements.owned, (owner, self.id_list(ids))).fetchall()
        except BaseException:
            self.rollback(conn)
            raise
        return {row[0] for row in rows}

    def finish_batch(self, conn: Any, done: Sequence[int], now: float) -> None:
        """Mark the entries done and commit."""
        if done:
            conn.execute(self.statements.mark_done, (now, self.id_list(done)))
        self.commit(conn)

    def aborted(self, conn: Any) -> bool:
        """Whether the transaction can no longer do anything but roll back."""
        return False

    def yield_lock(self) -> None:  # noqa: B027 - only a single-writer database needs it
        """Between two transactions of one batch: give other writers their turn."""
