"""The operator's questions of the shared engine: search, timeline, dead-letter groups, attempts.

Each answer costs the same at any size of inbox (docs/dashboard.md, "Speed"):

- A time range becomes a range of ids.  Ids are given in the order
  deliveries arrive, so the first id received at or after a time is found
  by a search over the primary key (`first_ids_from`), where a scan of
  ``received_at`` would read every row (there is no index on it: each index
  costs every insert).
- A search walks ids in windows of `_WINDOW` from its cursor, and stops at
  a full page or after `_BUDGET` seconds, saying where it got to.
- The timeline counts each bucket's entries per state on the ``(state, id)``
  index, without reading a row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Final

from .._errors import InboxError
from .backend import entry_of
from .failures import failure_of
from .queries import RANGES, AttemptRecord, DeadGroup, EntryPage, EntryQuery, Range, Timeline
from .search_sql import SearchStatements
from .states import STATES
from .views import OperatorViews

__all__ = ["InboxSearch"]

_WINDOW: Final = 20_000  # ids looked at per statement of a search
_BUDGET: Final = 0.12  # seconds a search goes on looking for a page before it answers
_NO_ID: Final = 2**63 - 1


class InboxSearch(OperatorViews):
    """The questions an operator's page asks, over the read and repair side."""

    search_sql: ClassVar[SearchStatements]
    clock: Callable[[], float]

    def first_ids_from(self, conn: Any, times: Sequence[float], low: int, high: int) -> list[int]:
        """For each time, the first id in ``[low, high)`` received at or after it (`high`
        if none): boundaries that a range of ids can start or end at.

        All the searches go in step, one statement a round for every one of
        them: a round trip each on PostgreSQL, whatever their number.
        Interpolation and bisection take turns: arrivals are close to evenly
        spread, so a guess from the times at both ends lands near the answer
        (a handful of rounds instead of 20), and every other round halves
        the interval, so an uneven spread costs at most twice the bisection.
        """
        ranges = [[low, high] for _ in times]
        anchors: list[list[float | None]] = [[None, None] for _ in times]
        turn = 0
        while True:
            open_ = [k for k, (a, b) in enumerate(ranges) if a < b]
            if not open_:
                return [a for a, _ in ranges]
            guesses = [self._guess(ranges[k], anchors[k], times[k], turn) for k in open_]
            turn += 1
            rows = conn.execute(self.search_sql.first_from_each, (self.id_list(guesses),))
            for k, middle, (found, at) in zip(open_, guesses, rows.fetchall(), strict=True):
                bounds, seen = ranges[k], anchors[k]
                if found is None or found >= bounds[1]:
                    bounds[1] = middle
                elif at >= times[k]:
                    bounds[1], seen[1] = middle, at
                else:
                    bounds[0], seen[0] = found + 1, at

    @staticmethod
    def _guess(bounds: list[int], seen: list[float | None], at: float, turn: int) -> int:
        low, high = bounds
        below, above = seen
        if turn % 2 == 0 and below is not None and above is not None and above > below:
            share = (at - below) / (above - below)
            return min(high - 1, max(low, low + int(share * (high - low))))
        return (low + high) // 2

    def _id_range(self, conn: Any, since: float | None, until: float | None) -> tuple[int, int]:
        first, last = conn.execute(self.search_sql.id_bounds).fetchone()
        if first is None:
            return 0, 0
        low, high = int(first), int(last) + 1
        times = [t for t in (since, until) if t is not None]
        found = iter(self.first_ids_from(conn, times, low, high))
        if since is not None:
            low = next(found)
        if until is not None:
            high = max(low, next(found))
        return low, high

    def search(self, query: EntryQuery) -> EntryPage:
        """One page of the entries `query` asks for, in its order, from its cursor."""
        sql = self.search_sql
        where: list[str] = [sql.search]
        params: list[object] = []
        if query.states:
            where.append("(" + " OR ".join([sql.state_is] * len(query.states)) + ")")
            params.extend(query.states)
        for fragment, value in (
            (sql.event_is, query.event),
            (sql.property_is, query.property_id),
            (sql.error_has, query.error_class),
        ):
            if value is not None:
                where.append(fragment)
                params.append(value)
        if query.text is not None:
            where.append(sql.text_in)
            number = int(query.text) if query.text.isdigit() and len(query.text) < 19 else -1
            params.extend((number, query.text.encode()))
        statement = " AND ".join(where)
        statement += sql.newest_first if query.newest_first else sql.oldest_first
        started = time.monotonic()
        found: list[Any] = []
        with self.connection() as conn:
            low, high = self._id_range(conn, query.since, query.until)
            if query.after is not None:
                if query.newest_first:
                    high = min(high, query.after)
                else:
                    low = max(low, query.after + 1)
            while low < high and len(found) < query.limit:
                if query.newest_first:
                    window = (max(low, high - _WINDOW), high)
                else:
                    window = (low, min(high, low + _WINDOW))
                wanted = query.limit - len(found)
                rows = conn.execute(statement, (*window, *params, wanted)).fetchall()
                found.extend(rows)
                if len(rows) == wanted:  # the page is full within this window
                    last = rows[-1][0]
                    high, low = (last, low) if query.newest_first else (high, last + 1)
                    break
                high, low = (window[0], low) if query.newest_first else (high, window[1])
                if time.monotonic() - started > _BUDGET:
                    break
        entries = [entry_of(r) for r in found]
        if query.error_class is not None:  # the statement matched text; keep the class
            entries = [e for e in entries if _class_of(e.last_error) == query.error_class]
        more = low < high
        cursor = (high if query.newest_first else low - 1) if more else None
        partial = more and len(found) < query.limit
        return EntryPage(tuple(entries), cursor, partial, cursor if partial else None)

    def timeline(self, span: Range = "hour") -> Timeline:
        """Entries received per bucket, by state now, and refusals per bucket, by kind."""
        if span not in RANGES:
            raise InboxError(f"unknown range {span!r}; expected one of {', '.join(RANGES)}")
        width, step = RANGES[span]
        now = self.clock()
        end = (now // step + 1) * step
        start = end - width
        edges = [start + i * step for i in range(int(width // step) + 1)]
        sql = self.search_sql
        with self.connection() as conn:
            low, high = self._id_range(conn, None, None)
            ids = self.first_ids_from(conn, edges, low, high)
            lows, highs = self.id_list(ids[:-1]), self.id_list(ids[1:])
            counts: dict[str, tuple[int, ...]] = {
                state: tuple(int(r[0]) for r in conn.execute(sql.count_each,
                                                              (state, lows, highs)))
                for state in STATES
            }  # fmt: skip
            rows = conn.execute(sql.refusal_buckets, (start, end)).fetchall()
        buckets = len(edges) - 1
        refusals: dict[str, list[int]] = {}
        for bucket, kind, count in rows:
            row = refusals.setdefault(kind, [0] * buckets)
            row[min(int((bucket - start) // step), buckets - 1)] += int(count)
        return Timeline(start, step, counts, {k: tuple(v) for k, v in sorted(refusals.items())})

    def dead_letter_groups(self) -> list[DeadGroup]:
        """Dead letters grouped by exception class and handler, largest group first."""
        with self.connection() as conn:
            rows = conn.execute(self.search_sql.dead_errors).fetchall()
        groups: dict[tuple[str, str | None], list[Any]] = {}
        for error, count, first, last in rows:
            failure = failure_of(error or "")
            key = (failure.error_class, failure.handler)
            group = groups.setdefault(key, [0, first, last, failure.message])
            group[0] += int(count)
            group[1], group[2] = min(group[1], first), max(group[2], last)
        found = [DeadGroup(c, h, n, a, b, m) for (c, h), (n, a, b, m) in groups.items()]
        return sorted(found, key=lambda g: (-g.count, g.error_class, g.handler or ""))

    def retry_dead_group(self, error_class: str, handler: str | None, last_id: int) -> int:
        """Make the group's dead letters up to `last_id` pending again, in one transaction."""
        with self.transaction() as conn:
            rows = conn.execute(self.search_sql.dead_upto, (last_id,)).fetchall()
            ids = [entry for entry, error in rows if _group_of(error) == (error_class, handler)]
            if not ids:
                return 0
            params = (self.clock(), self.id_list(ids))
            return int(conn.execute(self.search_sql.retry_ids, params).rowcount)

    def attempts(self, entry_id: int) -> list[AttemptRecord]:
        """The failed attempts at one entry, oldest first (a success is its ``done_at``)."""
        with self.connection() as conn:
            rows = conn.execute(self.search_sql.attempts_of, (entry_id,)).fetchall()
        return [AttemptRecord(float(at), int(n), owner, error) for at, n, owner, error in rows]

    def ack(self, entry_id: int) -> dict[str, Any] | None:
        """The ack a revision's entry owes Channex, or None (not handled, or not a revision)."""
        with self.connection() as conn:
            row = conn.execute(self.search_sql.ack_of, (entry_id,)).fetchone()
        if row is None:
            return None
        keys = ("revision_id", "state", "attempts", "created_at", "done_at", "last_error")
        return dict(zip(keys, row, strict=True))


def _class_of(error: str | None) -> str | None:
    return None if error is None else failure_of(error).error_class


def _group_of(error: str | None) -> tuple[str, str | None]:
    failure = failure_of(error or "")
    return failure.error_class, failure.handler
