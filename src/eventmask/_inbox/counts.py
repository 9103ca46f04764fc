"""`stats`: counts per state, the oldest pending age, the refusals of the last day.

Both backends read them through `read_counts` with their own `CountSQL`.  The
module stands on the standard library alone, and imports not even `typing` at
run time, so that ``eventmask inbox stats`` on an SQLite file (a health check
that may run every few seconds) reads an inbox without the rest of it
(docs/architecture.md, "Start-up").
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: see _cli/common.py
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BUCKET",
    "DAY",
    "POSTGRES_COUNTS",
    "SQLITE_COUNTS",
    "CountSQL",
    "bucket_of",
    "read_counts",
    "refusal_kinds",
]

# Refusals are counted over the last day.
DAY = 86_400.0
# Refusals are counted per minute: a count's bucket is its minute's start, in epoch seconds.
BUCKET = 60.0


def bucket_of(moment: float) -> float:
    """The bucket of `moment` (epoch seconds): the start of the minute that holds it.

    A refusal is counted in its moment's bucket, and the refusals since a
    moment are those of its bucket and after: a minute counts when any of it is
    in the window, in memory (`RefusalLog.counted`) as in the inbox, so that the
    two agree.  Asking the inbox for ``bucket >= since`` left out the refusals
    of `since`'s own minute.

    >>> bucket_of(90.0), bucket_of(120.0)
    (60.0, 120.0)
    """
    return moment // BUCKET * BUCKET


class CountSQL:
    """The statements of `read_counts`, in one backend's dialect.

    >>> sql = CountSQL(count_state="...", count_open="...", oldest_open="...",
    ...                refused_since="...", refusal_kinds="...")
    >>> sql.count_open
    '...'
    """

    __slots__ = ("count_open", "count_state", "oldest_open", "refusal_kinds", "refused_since")

    def __init__(
        self,
        *,
        count_state: str,
        count_open: str,
        oldest_open: str,
        refused_since: str,
        refusal_kinds: str,
    ) -> None:
        self.count_state = count_state  # (state) -> count
        # () -> the counts of pending, claimed and dead entries, in one snapshot
        self.count_open = count_open
        self.oldest_open = oldest_open  # () -> min(received_at) of pending and claimed entries
        self.refused_since = refused_since  # (bucket) -> the sum of refusal counts since
        # (bucket) -> status, kind, count since, per status and kind
        self.refusal_kinds = refusal_kinds


def _counts_in(mark: str, claim_index: str) -> CountSQL:
    """The statements in the dialect whose parameter mark is `mark`; `claim_index` is
    what names the claim's index after the table (empty: the planner's choice)."""
    return CountSQL(
        count_state=f"SELECT count(*) FROM eventmask_deliveries WHERE state = {mark}",
        # One statement, so one snapshot: counted apart, an entry moving from claimed
        # back to pending between two counts was in neither (and `drain` saw no work).
        count_open="SELECT "
        + ", ".join(
            f"(SELECT count(*) FROM eventmask_deliveries WHERE state = '{state}')"
            for state in ("pending", "claimed", "dead")
        ),
        oldest_open=f"SELECT min(received_at) FROM eventmask_deliveries{claim_index} "
        "WHERE state IN ('pending', 'claimed')",
        refused_since=f"SELECT sum(count) FROM eventmask_refusal_counts WHERE bucket >= {mark}",
        refusal_kinds="SELECT status, kind, sum(count) FROM eventmask_refusal_counts "
        f"WHERE bucket >= {mark} GROUP BY status, kind",
    )


# SQLite's and PostgreSQL's, both here so that `inbox stats` on a file needs no more.
# INDEXED BY here and in sqlite_sql.py: without it SQLite's planner scanned the table, or
# skip-scanned the revision index, to find a few pending rows among a million.
SQLITE_COUNTS = _counts_in("?", " INDEXED BY eventmask_deliveries_claim")
POSTGRES_COUNTS = _counts_in("%s", "")


def read_counts(
    conn: Any,
    sql: CountSQL,
    spooled: tuple[int, float | None],
    now: float,
    *,
    done: bool = True,
) -> dict[str, Any]:
    """The document of `Inbox.stats`, read on `conn`.

    `spooled` is (deliveries waiting in SQLite's intake spool, the oldest's
    receipt time), read *before* this call: a delivery moving from the spool
    into the table meanwhile is then counted twice, never missed (which would
    let `drain` stop early).

    >>> import sqlite3
    >>> from eventmask._inbox.sqlite import SQLiteInbox
    >>> conn = sqlite3.connect(":memory:")
    >>> for step in SQLiteInbox.MIGRATIONS:
    ...     _ = [conn.execute(statement) for statement in step]
    >>> sql = SQLiteInbox.statements.counts
    >>> read_counts(conn, sql, (2, 90.0), 100.0)["pending"]
    2
    """
    waiting, spooled_at = spooled
    # Each count is indexed, not a GROUP BY over the table.
    pending, claimed, dead = conn.execute(sql.count_open).fetchone()
    counts: dict[str, int | None]
    counts = {"pending": pending, "claimed": claimed, "done": None, "dead": dead}
    if done:
        counts["done"] = conn.execute(sql.count_state, ("done",)).fetchone()[0]
    oldest = conn.execute(sql.oldest_open).fetchone()[0]
    since = bucket_of(now - DAY)
    refused = int(conn.execute(sql.refused_since, (since,)).fetchone()[0] or 0)
    if waiting:  # spooled deliveries are pending too: stored, not yet handled
        counts["pending"] = (counts["pending"] or 0) + waiting
        oldest = spooled_at if oldest is None else min(oldest, spooled_at)
    return {
        **counts,
        "oldest_pending_age_s": None if oldest is None else round(now - oldest, 3),
        "refused_last_24h": refused,
        "refused_by_kind_last_24h": refusal_kinds(conn, sql, now - DAY) if refused else [],
    }


def refusal_kinds(conn: Any, sql: CountSQL, since: float) -> list[dict[str, Any]]:
    """Refusals since `since` (epoch seconds, from its minute on: `bucket_of`), counted
    per status and kind, largest first.

    >>> import sqlite3
    >>> conn = sqlite3.connect(":memory:")
    >>> _ = conn.execute("CREATE TABLE eventmask_refusal_counts (bucket, status, kind, count)")
    >>> _ = conn.executemany("INSERT INTO eventmask_refusal_counts VALUES (?, ?, ?, ?)",
    ...     [(60, 401, "wrong secret", 2), (120, 401, "wrong secret", 3), (60, 413, "large", 4)])
    >>> refusal_kinds(conn, SQLITE_COUNTS, 120.0)
    [{'status': 401, 'kind': 'wrong secret', 'count': 3}]
    >>> refusal_kinds(conn, SQLITE_COUNTS, 90.0)[0]
    {'status': 401, 'kind': 'wrong secret', 'count': 5}
    >>> [c["count"] for c in refusal_kinds(conn, SQLITE_COUNTS, 0.0)]
    [5, 4]
    """
    rows = conn.execute(sql.refusal_kinds, (bucket_of(since),)).fetchall()
    counted = [{"status": r[0], "kind": r[1], "count": int(r[2])} for r in rows]
    return sorted(counted, key=lambda c: (-c["count"], c["status"], c["kind"]))
