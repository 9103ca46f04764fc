"""The statements behind the operator's questions, in both dialects side by side.

Searching, the timeline and the attempt history (docs/dashboard.md) need a
dozen short statements each; they stand here together, SQLite's and
PostgreSQL's, so that the two stay the same question.  `search` composes a
search from the fragments: every value is a parameter, never SQL text.
"""

from __future__ import annotations

from typing import Final

import attrs

from .backend import COLUMNS

__all__ = ["POSTGRES", "SQLITE", "SearchStatements"]


@attrs.frozen(slots=True, kw_only=True)
class SearchStatements:
    """One dialect's statements for searching, the timeline and attempts."""

    record_attempt: str  # (entry_id, at, attempt, owner, error)
    attempts_of: str  # (entry_id) -> at, attempt, owner, error; oldest first
    ack_of: str  # (entry_id) -> revision_id, state, attempts, created_at, done_at, last_error
    purge_attempts: str  # (cutoff) -> rowcount
    id_bounds: str  # () -> min(id), max(id)
    # (ids) -> for each id, in order: the id and received_at of the first entry at or
    # above it (NULLs when there is none): many probes of a search in one statement.
    first_from_each: str
    # (state, low ids, high ids) -> for each range, in order: its count of `state`,
    # over the (state, id) index.
    count_each: str
    refusal_buckets: str  # (since, until) -> bucket, kind, count
    dead_errors: str  # () -> last_error, count, min(id), max(id) of dead entries
    dead_upto: str  # (id) -> id, last_error of dead entries at or below id
    retry_ids: str  # (available_at, ids) -> rowcount: dead entries made pending again
    search: str  # (low id, high id) -> rows of COLUMNS; fragments are ANDed after it
    state_is: str  # (state)
    event_is: str  # (event)
    property_is: str  # (property id)
    error_has: str  # (text): the stored failure contains it
    text_in: str  # (id, bytes): the entry's id, or bytes within its body
    newest_first: str  # (limit)
    oldest_first: str  # (limit)


SQLITE_V7: Final = (
    """CREATE TABLE IF NOT EXISTS eventmask_attempts (
    entry_id INTEGER NOT NULL,
    at REAL NOT NULL,
    attempt INTEGER NOT NULL,
    owner TEXT,
    error TEXT NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS eventmask_attempts_entry ON eventmask_attempts (entry_id, at)",
    "CREATE INDEX IF NOT EXISTS eventmask_attempts_at ON eventmask_attempts (at)",
)

POSTGRES_V5: Final = (
    """CREATE TABLE IF NOT EXISTS eventmask_attempts (
    entry_id bigint NOT NULL,
    at double precision NOT NULL,
    attempt integer NOT NULL,
    owner text,
    error text NOT NULL
)""",
    "CREATE INDEX IF NOT EXISTS eventmask_attempts_entry ON eventmask_attempts (entry_id, at)",
    "CREATE INDEX IF NOT EXISTS eventmask_attempts_at ON eventmask_attempts (at)",
    # (state, id) in place of (state): the same statements are served, and a
    # state's entries in a range of ids are counted on the index alone (the
    # timeline: a week at 1M entries took 1.4 s with (state) alone; the index
    # count stays one per table, so every write costs what it did).
    "CREATE INDEX IF NOT EXISTS eventmask_deliveries_state_id ON eventmask_deliveries (state, id)",
    "DROP INDEX IF EXISTS eventmask_deliveries_state",
)

_D: Final = "eventmask_deliveries"

SQLITE: Final = SearchStatements(
    record_attempt="INSERT INTO eventmask_attempts (entry_id, at, attempt, owner, error) "
    "VALUES (?, ?, ?, ?, ?)",
    attempts_of="SELECT at, attempt, owner, error FROM eventmask_attempts WHERE entry_id = ? "
    "ORDER BY at",
    ack_of="SELECT revision_id, state, attempts, created_at, done_at, last_error "
    "FROM eventmask_acks WHERE entry_id = ?",
    purge_attempts="DELETE FROM eventmask_attempts WHERE at < ?",
    # Two subqueries: each is one step down the primary key, where min and max
    # side by side in one SELECT made SQLite scan the table.
    id_bounds=f"SELECT (SELECT min(id) FROM {_D}), (SELECT max(id) FROM {_D})",
    first_from_each=f"SELECT d.id, d.received_at FROM json_each(?) j LEFT JOIN {_D} d "
    f"ON d.id = (SELECT min(id) FROM {_D} WHERE id >= j.value) ORDER BY j.key",
    # INDEXED BY: the (state, id) index answers a count without reading a row.
    count_each=f"SELECT (SELECT count(*) FROM {_D} INDEXED BY eventmask_deliveries_claim "
    "WHERE state = ?1 AND id >= a.value AND id < b.value) "
    "FROM json_each(?2) a JOIN json_each(?3) b ON a.key = b.key ORDER BY a.key",
    refusal_buckets="SELECT bucket, kind, sum(count) FROM eventmask_refusal_counts "
    "WHERE bucket >= ? AND bucket < ? GROUP BY bucket, kind",
    dead_errors=f"SELECT last_error, count(*), min(id), max(id) FROM {_D} "
    "INDEXED BY eventmask_deliveries_claim WHERE state = 'dead' GROUP BY last_error",
    dead_upto=f"SELECT id, last_error FROM {_D} INDEXED BY eventmask_deliveries_claim "
    "WHERE state = 'dead' AND id <= ?",
    retry_ids=f"UPDATE {_D} SET state = 'pending', attempts = 0, available_at = ?, "
    "lease_owner = NULL, lease_until = NULL "
    "WHERE state = 'dead' AND id IN (SELECT value FROM json_each(?))",
    search=f"SELECT {COLUMNS} FROM {_D} WHERE id >= ? AND id < ?",
    state_is="state = ?",
    event_is="event = ?",
    property_is="property_id = ?",
    error_has="instr(last_error, ?) > 0",
    text_in="(id = ? OR instr(body, ?) > 0)",
    newest_first=" ORDER BY id DESC LIMIT ?",
    oldest_first=" ORDER BY id LIMIT ?",
)

POSTGRES: Final = SearchStatements(
    record_attempt="INSERT INTO eventmask_attempts (entry_id, at, attempt, owner, error) "
    "VALUES (%s, %s, %s, %s, %s)",
    attempts_of="SELECT at, attempt, owner, error FROM eventmask_attempts WHERE entry_id = %s "
    "ORDER BY at",
    ack_of="SELECT revision_id, state, attempts, created_at, done_at, last_error "
    "FROM eventmask_acks WHERE entry_id = %s",
    purge_attempts="DELETE FROM eventmask_attempts WHERE at < %s",
    id_bounds=f"SELECT (SELECT min(id) FROM {_D}), (SELECT max(id) FROM {_D})",
    first_from_each="SELECT d.id, d.received_at FROM unnest(%s::bigint[]) WITH ORDINALITY "
    f"AS g(v, n) LEFT JOIN LATERAL (SELECT id, received_at FROM {_D} WHERE id >= g.v "
    "ORDER BY id LIMIT 1) d ON true ORDER BY g.n",
    count_each=f"SELECT (SELECT count(*) FROM {_D} WHERE state = %s AND id >= r.a "
    "AND id < r.b) FROM unnest(%s::bigint[], %s::bigint[]) WITH ORDINALITY AS r(a, b, n) "
    "ORDER BY r.n",
    refusal_buckets="SELECT bucket, kind, sum(count) FROM eventmask_refusal_counts "
    "WHERE bucket >= %s AND bucket < %s GROUP BY bucket, kind",
    dead_errors=f"SELECT last_error, count(*), min(id), max(id) FROM {_D} "
    "WHERE state = 'dead' GROUP BY last_error",
    dead_upto=f"SELECT id, last_error FROM {_D} WHERE state = 'dead' AND id <= %s",
    retry_ids=f"UPDATE {_D} SET state = 'pending', attempts = 0, available_at = %s, "
    "lease_owner = NULL, lease_until = NULL WHERE state = 'dead' AND id = ANY(%s)",
    search=f"SELECT {COLUMNS} FROM {_D} WHERE id >= %s AND id < %s",
    state_is="state = %s",
    event_is="event = %s",
    property_is="property_id = %s",
    error_has="strpos(last_error, %s) > 0",
    text_in="(id = %s OR position(%s::bytea in body) > 0)",
    newest_first=" ORDER BY id DESC LIMIT %s",
    oldest_first=" ORDER BY id LIMIT %s",
)
