"""What an operator sees and does: counts, listings, one entry, retry, purge, refusals.

Identical on both backends (docs/deployment.md, "Watching it"); each backend
supplies the statements.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from .._errors import InboxError
from .backend import entry_of
from .counts import read_counts, refusal_kinds
from .processing import BatchProcessing
from .revisions import revision_key
from .values import STATES, Entry

__all__ = ["OperatorViews"]

# Above every entry id: both backends' ids are 64-bit integers.
_NO_ID = 2**63 - 1

# A purge's transactions aim at this many seconds each (see `purge`).
_PURGE_STEP = 0.1


def _next_chunk(size: int, took: float) -> int:
    """The next purge chunk: doubled while a transaction is quick, halved when slow.

    >>> _next_chunk(5_000, 0.01), _next_chunk(5_000, 0.1), _next_chunk(5_000, 0.5)
    (10000, 5000, 2500)
    """
    if took < _PURGE_STEP / 2:
        return min(size * 2, 200_000)
    if took > _PURGE_STEP * 2:
        return max(size // 2, 1_000)
    return size


class OperatorViews(BatchProcessing):
    """The read and repair side of the shared engine, over its processing."""

    clock: Callable[[], float]

    def stats(self, *, done: bool = True) -> dict[str, Any]:
        """Counts per state, the oldest pending entry's age, refusals in the last 24 hours.

        ``refused_by_kind_last_24h`` splits the refusals by status and kind
        (``wrong secret``, ``too large``...): the first thing to look at when
        ``refused_last_24h`` is not 0.

        ``done=False`` leaves out the count of done entries (None), the one
        that grows with the table: what a frequent health check wants.
        """
        # The spool first: see `read_counts`.
        spooled = self.spooled()
        with self.connection() as conn:
            return read_counts(conn, self.statements.counts, spooled, self.clock(), done=done)

    def spooled(self) -> tuple[int, float | None]:
        """Deliveries stored outside the table, waiting to move in (SQLite's intake spool)."""
        return 0, None

    def entries(
        self,
        state: str | None = None,
        limit: int = 50,
        *,
        before: int | None = None,
        event: str | None = None,
    ) -> list[Entry]:
        """Entries, newest first, optionally of one state and one event, with ids below `before`."""
        if state is not None and state not in STATES:
            raise InboxError(f"unknown state {state!r}; expected one of {', '.join(STATES)}")
        below = _NO_ID if before is None else before
        sql = self.statements
        with self.connection() as conn:
            if event is not None:
                params: tuple[Any, ...] = (event, state, state, below, limit)
                rows = conn.execute(sql.entries_of_event, params).fetchall()
            elif state is None:
                rows = conn.execute(sql.entries, (below, limit)).fetchall()
            else:
                rows = conn.execute(sql.entries_in_state, (state, below, limit)).fetchall()
        return [entry_of(r) for r in rows]

    def get(self, entry_id: int) -> Entry:
        """One entry (raise InboxError if there is none)."""
        with self.connection() as conn:
            row = conn.execute(self.statements.entry, (entry_id,)).fetchone()
        if row is None:
            raise InboxError(f"no inbox entry {entry_id}")
        return entry_of(row)

    def revision_entry(self, revision_id: str) -> Entry:
        """The entry of one booking revision, by its Channex id (raise InboxError if none)."""
        with self.connection() as conn:
            row = conn.execute(self.statements.revision_entry, (revision_key(revision_id),))
            found = row.fetchone()
        if found is None:
            raise InboxError(f"no inbox entry for booking revision {revision_id}")
        return entry_of(found)

    def retry(self, entry_id: int) -> None:
        """Make a dead (or failed) entry pending again, attempts reset."""
        with self.transaction() as conn:
            changed = conn.execute(self.statements.retry, (self.clock(), entry_id)).rowcount
        if changed != 1:
            state = self.get(entry_id).state
            raise InboxError(
                f"entry {entry_id} is {state}; only dead or pending entries are retried"
            )

    def retry_matching(
        self, state: str = "dead", *, since: float | None = None, event: str | None = None
    ) -> int:
        """Make every `state` entry received since `since` (of `event`) pending again.

        `state` is ``dead`` or ``pending`` (entries waiting out a backoff);
        attempts are reset.  Returns how many entries changed.
        """
        if state not in ("dead", "pending"):
            raise InboxError(f"only dead or pending entries are retried, not {state!r}")
        params = (self.clock(), state, since or 0.0, event, event)
        with self.transaction() as conn:
            return int(conn.execute(self.statements.retry_matching, params).rowcount)

    def replay(self, entry_id: int) -> int:
        """Store a done entry's body again as a new pending entry; return the new id.

        For a handler that was wrong and is fixed: the new entry has its own
        idempotency key (``replay:<id>:<random>``), so a handler that
        deduplicates on the key runs again.  Channex's retries of the
        original still deduplicate against the original.
        """
        key = f"replay:{entry_id}:{uuid.uuid4().hex[:12]}"
        with self.transaction() as conn:
            # fetchall: the statement is finished before the commit.
            rows = conn.execute(self.statements.replay, (self.clock(), key, entry_id)).fetchall()
        if not rows:
            state = self.get(entry_id).state
            hint = "; use retry for a dead entry" if state == "dead" else ""
            raise InboxError(f"entry {entry_id} is {state}; only done entries are replayed{hint}")
        return int(rows[0][0])

    def purge(self, older_than: float, chunk: int = 5_000) -> int:
        """Delete done entries and refusals older than `older_than` seconds.

        In transactions of about 0.1 s each, starting at `chunk` rows: a large
        purge never holds SQLite's write lock (or PostgreSQL's row locks) long
        enough to delay receivers, however much a row costs to delete on this
        disk.  (Larger chunks did not make the purge itself faster: its time is
        in the index updates, benchmarks/bench_operator.py.)
        """
        cutoff = self.clock() - older_than
        removed = 0
        for statement in (self.statements.purge_done, self.statements.purge_rejections):
            size = chunk
            while True:
                started = time.perf_counter()
                with self.transaction() as conn:
                    count = int(conn.execute(statement, (cutoff, size)).rowcount)
                if statement is self.statements.purge_done:
                    removed += count
                if count < size:
                    break
                size = _next_chunk(size, time.perf_counter() - started)
        with self.transaction() as conn:  # a row per minute and kind: a small table
            conn.execute(self.statements.purge_refusal_counts, (cutoff,))
            # Failed attempts are rows of their own (docs/dashboard.md); a dead
            # letter older than the cutoff keeps its last error, not its history.
            conn.execute(self.search_sql.purge_attempts, (cutoff,))
        return removed

    def refusal_counts(self, since: float) -> list[dict[str, Any]]:
        """Refusals since `since` (epoch seconds), counted per status and kind, largest first."""
        with self.connection() as conn:
            return refusal_kinds(conn, self.statements.counts, since)

    def refusals(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent refused requests (the kept samples), newest first."""
        with self.connection() as conn:
            rows = conn.execute(self.statements.refusals, (limit,)).fetchall()
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
