"""The SQLite inbox's schema, migrations and statements, in SQLite's dialect.

`sqlite.py` runs them; the shared engine runs `STATEMENTS` (docs/receiver.md,
"The inbox").
"""

from __future__ import annotations

from typing import Final

from .backend import COLUMNS, Statements
from .counts import SQLITE_COUNTS
from .revisions import RevisionStatements
from .sqlite_file import READ_VERSION

V1: Final = (
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
V2: Final = (
    "CREATE INDEX IF NOT EXISTS eventmask_deliveries_done "
    "ON eventmask_deliveries (done_at) WHERE state = 'done'",
    "CREATE INDEX IF NOT EXISTS eventmask_rejections_at ON eventmask_rejections (at)",
)

# Version 3: refusals are counted per minute and kind, and only the newest
# 1,000 are kept one by one, so that a flood of refused requests grows the
# file by a constant (docs/receiver.md, "Refusals").
V3: Final = (
    """CREATE TABLE IF NOT EXISTS eventmask_refusal_counts (
    bucket REAL NOT NULL,
    status INTEGER NOT NULL,
    kind TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (bucket, status, kind)
)""",
    "INSERT INTO eventmask_refusal_counts (bucket, status, kind, count) "
    "SELECT CAST(at / 60 AS INTEGER) * 60, status, 'before counts', count(*) "
    "FROM eventmask_rejections GROUP BY 1, 2",
    "DELETE FROM eventmask_rejections WHERE id <= "
    "(SELECT id FROM eventmask_rejections ORDER BY id DESC LIMIT 1 OFFSET 1000)",
)

# A list of ids is one JSON array parameter, read back with json_each.
IDS: Final = "(SELECT value FROM json_each(?))"
GIVE_BACK: Final = (
    "UPDATE eventmask_deliveries SET state = 'pending', lease_owner = NULL, "
    "lease_until = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
    "WHERE state = 'claimed' AND lease_owner = ?"
)

STATEMENTS: Final = Statements(
    mark_failed="UPDATE eventmask_deliveries SET state = ?, available_at = ?, last_error = ?, "
    "lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?",
    give_back=GIVE_BACK,
    give_back_some=f"{GIVE_BACK} AND id IN {IDS}",
    owned="SELECT id FROM eventmask_deliveries WHERE state = 'claimed' AND lease_owner = ? "
    f"AND id IN {IDS}",
    mark_done="UPDATE eventmask_deliveries SET state = 'done', done_at = ?, lease_owner = NULL, "
    f"lease_until = NULL, last_error = NULL WHERE id IN {IDS}",
    count_refusals="INSERT INTO eventmask_refusal_counts (bucket, status, kind, count) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (bucket, status, kind) "
    "DO UPDATE SET count = count + excluded.count",
    sample_refusal="INSERT INTO eventmask_rejections (at, status, reason, remote, body) "
    "VALUES (?, ?, ?, ?, ?)",
    trim_samples="DELETE FROM eventmask_rejections WHERE id <= "
    "(SELECT id FROM eventmask_rejections ORDER BY id DESC LIMIT 1 OFFSET ?)",
    # In counts.py, which `inbox stats` imports without the rest of the inbox.
    counts=SQLITE_COUNTS,
    entries=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE id < ? ORDER BY id DESC LIMIT ?",
    entries_in_state=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE state = ? "
    "AND id < ? ORDER BY id DESC LIMIT ?",
    # No index on event: the listing walks ids downwards until the page is full,
    # quick for an event that is common, a scan for one that is rare.
    entries_of_event=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE event = ? "
    "AND (? IS NULL OR state = ?) AND id < ? ORDER BY id DESC LIMIT ?",
    revision_entry=f"SELECT {COLUMNS} FROM eventmask_deliveries "
    "WHERE revision_key = ? AND event = 'booking_revision'",
    entry=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE id = ?",
    retry="UPDATE eventmask_deliveries SET state = 'pending', attempts = 0, available_at = ?, "
    "lease_owner = NULL, lease_until = NULL WHERE id = ? AND state IN ('dead', 'pending')",
    retry_matching="UPDATE eventmask_deliveries SET state = 'pending', attempts = 0, "
    "available_at = ?, lease_owner = NULL, lease_until = NULL WHERE id IN (SELECT id FROM "
    "eventmask_deliveries INDEXED BY eventmask_deliveries_claim WHERE state = ? "
    "AND received_at >= ? AND (? IS NULL OR event = ?))",
    replay="INSERT INTO eventmask_deliveries (received_at, event, property_id, body, body_hash, "
    "revision_key, idempotency_key, available_at) SELECT ?1, event, property_id, body, "
    "body_hash, NULL, ?2, ?1 FROM eventmask_deliveries WHERE id = ?3 AND state = 'done' "
    "RETURNING id",
    # INDEXED BY: the planner preferred (state, id) and read every done entry to find
    # none old enough; the partial index on done_at reads only the old ones.
    purge_done="DELETE FROM eventmask_deliveries WHERE id IN (SELECT id FROM "
    "eventmask_deliveries INDEXED BY eventmask_deliveries_done "
    "WHERE state = 'done' AND done_at < ? LIMIT ?)",
    purge_rejections="DELETE FROM eventmask_rejections WHERE id IN (SELECT id FROM "
    "eventmask_rejections WHERE at < ? LIMIT ?)",
    purge_refusal_counts="DELETE FROM eventmask_refusal_counts WHERE bucket < ?",
    refusals="SELECT id, at, status, reason, remote, body FROM eventmask_rejections "
    "ORDER BY id DESC LIMIT ?",
    version_table="CREATE TABLE IF NOT EXISTS eventmask_schema (version INTEGER NOT NULL)",
    read_version=READ_VERSION,
    clear_version="DELETE FROM eventmask_schema",
    write_version="INSERT INTO eventmask_schema (version) VALUES (?)",
)

# A lease that ran out with no attempts left: the worker died on this entry
# every time.  It is a dead letter, not a loop.
EXPIRE: Final = (
    "UPDATE eventmask_deliveries SET state = 'dead', lease_owner = NULL, "
    "lease_until = NULL, last_error = coalesce(last_error, 'worker lease expired') "
    "WHERE state = 'claimed' AND lease_until < ? AND attempts >= ?"
)
# (owner, lease_until, now, limit, now, limit, limit).  Two index-ordered
# subqueries, each stopping at `limit`: one `OR` over both states was
# planned as a multi-index OR plus a sort of every ready row, and a claim
# took 3.6 ms at 20,000 pending and 86 ms at 300,000 (benchmarks/bench_claim.py).
CLAIM: Final = (
    "UPDATE eventmask_deliveries SET state = 'claimed', lease_owner = ?, "
    "lease_until = ?, attempts = attempts + 1 WHERE id IN ("
    "SELECT id FROM (SELECT id FROM eventmask_deliveries INDEXED BY eventmask_deliveries_claim "
    "WHERE state = 'pending' AND available_at <= ? ORDER BY id LIMIT ?) "
    "UNION ALL "
    "SELECT id FROM (SELECT id FROM eventmask_deliveries INDEXED BY eventmask_deliveries_claim "
    "WHERE state = 'claimed' AND lease_until < ? ORDER BY id LIMIT ?) "
    "ORDER BY id LIMIT ?) "
    f"RETURNING {COLUMNS}"
)
FIND_BODY: Final = (
    "SELECT id, idempotency_key FROM eventmask_deliveries "
    "WHERE body_hash = ? AND received_at >= ? ORDER BY id LIMIT 1"
)
FIND_REVISION: Final = (
    "SELECT id, idempotency_key FROM eventmask_deliveries "
    "WHERE revision_key = ? AND received_at >= ? ORDER BY id LIMIT 1"
)
INSERT: Final = (
    "INSERT INTO eventmask_deliveries (received_at, event, property_id, body, body_hash, "
    "revision_key, idempotency_key, available_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)

# A group commit's lookups, one statement for the whole batch (sqlite_puts.py): the
# keys are one JSON array, and each key is still one probe of its index.
FIND_BODIES: Final = (
    "SELECT body_hash, id, idempotency_key FROM eventmask_deliveries "
    "WHERE body_hash IN (SELECT value FROM json_each(?)) AND received_at >= ? ORDER BY id"
)
FIND_REVISIONS: Final = (
    "SELECT revision_key, id, idempotency_key FROM eventmask_deliveries "
    "WHERE revision_key IN (SELECT value FROM json_each(?)) AND received_at >= ? ORDER BY id"
)
# The ids SQLite itself would give, max(id) + 1 onwards, named so that a batch's rows
# go in with one executemany (inside the write lock, nobody else inserts meanwhile).
LAST_ID: Final = "SELECT max(id) FROM eventmask_deliveries"
INSERT_WITH_ID: Final = (
    "INSERT INTO eventmask_deliveries (id, received_at, event, property_id, body, body_hash, "
    "revision_key, idempotency_key, available_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


# Version 4: booking revisions as entries of their own kind, one per revision,
# and the acks their handling owes Channex (docs/bookings.md).
V4: Final = (
    "CREATE UNIQUE INDEX IF NOT EXISTS eventmask_revision_entries "
    "ON eventmask_deliveries (revision_key) WHERE event = 'booking_revision'",
    """CREATE TABLE IF NOT EXISTS eventmask_acks (
    revision_id TEXT PRIMARY KEY,
    entry_id INTEGER NOT NULL,
    property_id TEXT,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_at REAL NOT NULL,
    done_at REAL,
    last_error TEXT
)""",
    "CREATE INDEX IF NOT EXISTS eventmask_acks_due ON eventmask_acks (state, next_at)",
    # The claim's order, oldest first within a state (CLAIM).
    "CREATE INDEX IF NOT EXISTS eventmask_deliveries_claim ON eventmask_deliveries (state, id)",
    # booking id and inserted_at: the order of a booking's revisions (docs/bookings.md).
    "ALTER TABLE eventmask_deliveries ADD COLUMN booking_key TEXT",
    "CREATE INDEX IF NOT EXISTS eventmask_revision_order ON eventmask_deliveries (booking_key) "
    "WHERE booking_key IS NOT NULL",
)

# Version 5: the last poll of each feed, for `eventmask revisions status`; scope ''
# is the account's feed (no property filter).
V5: Final = (
    """CREATE TABLE IF NOT EXISTS eventmask_polls (
    scope TEXT PRIMARY KEY,
    polled_at REAL NOT NULL,
    ok_at REAL,
    stored INTEGER NOT NULL DEFAULT 0,
    error TEXT
)""",
)

# Version 6: the (state, available_at) index of version 1 goes.  Every statement
# that reads by state is served by the claim's (state, id) index, and each index
# costs every insert, state change and delete: without it a purge deletes about
# 30% more rows a second (benchmarks/bench_operator.py).
V6: Final = ("DROP INDEX IF EXISTS eventmask_deliveries_ready",)

# Version 8: the revision index holds only the deliveries that have a revision key, as
# on PostgreSQL.  Every lookup by revision names a key (`revision_key = ?` or `IN`),
# which a partial index on `revision_key IS NOT NULL` serves; most deliveries (every
# ARI one) have none, and each of them paid an index entry.
V8: Final = (
    "DROP INDEX IF EXISTS eventmask_deliveries_revision",
    "CREATE INDEX IF NOT EXISTS eventmask_deliveries_revision "
    "ON eventmask_deliveries (revision_key, received_at) WHERE revision_key IS NOT NULL",
)

REVISIONS: Final = RevisionStatements(
    insert="INSERT OR IGNORE INTO eventmask_deliveries (received_at, event, property_id, body, "
    "body_hash, revision_key, idempotency_key, available_at, booking_key) "
    "VALUES (?, 'booking_revision', ?, ?, ?, ?, ?, ?, ?)",
    order_of="SELECT booking_key FROM eventmask_deliveries WHERE id = ?",
    # INDEXED BY: left to itself the planner walked the state index, every pending entry.
    older_waiting="SELECT 1 FROM eventmask_deliveries INDEXED BY eventmask_revision_order "
    "WHERE booking_key IS NOT NULL AND booking_key > ? AND booking_key < ? "
    f"AND state IN ('pending', 'claimed') AND id NOT IN {IDS} LIMIT 1",
    newer_done="SELECT 1 FROM eventmask_deliveries INDEXED BY eventmask_revision_order "
    "WHERE booking_key IS NOT NULL AND booking_key > ? AND booking_key < ? "
    f"AND (state = 'done' OR id IN {IDS}) LIMIT 1",
    record_acks="INSERT OR IGNORE INTO eventmask_acks (revision_id, entry_id, property_id, "
    "created_at, next_at) SELECT substr(revision_key, 18), id, property_id, ?, ? "
    f"FROM eventmask_deliveries WHERE event = 'booking_revision' AND id IN {IDS}",
    due_acks="UPDATE eventmask_acks SET next_at = ?1 WHERE revision_id IN (SELECT revision_id "
    "FROM eventmask_acks WHERE state = 'pending' AND next_at <= ?2 ORDER BY next_at LIMIT ?3) "
    "RETURNING revision_id, entry_id, property_id, attempts",
    unsent_acks="SELECT count(*) FROM eventmask_acks WHERE state = 'pending' AND attempts = 0",
    settle_ack="UPDATE eventmask_acks SET state = ?, done_at = ?, last_error = ?, "
    "attempts = attempts + 1 WHERE revision_id = ?",
    retry_ack="UPDATE eventmask_acks SET next_at = ?, last_error = ?, attempts = attempts + 1 "
    "WHERE revision_id = ? AND state = 'pending'",
    pause_acks="UPDATE eventmask_acks SET next_at = max(next_at, ?) "
    "WHERE state = 'pending' AND property_id IS ?",
    ack_states="SELECT property_id, state, count(*), min(created_at) FROM eventmask_acks "
    "GROUP BY property_id, state",
    entry_states="SELECT property_id, state, count(*), min(received_at) "
    "FROM eventmask_deliveries WHERE event = 'booking_revision' AND state != 'done' "
    "GROUP BY property_id, state",
    record_poll="INSERT INTO eventmask_polls (scope, polled_at, ok_at, stored, error) "
    "VALUES (:scope, :at, CASE WHEN :error IS NULL THEN :at END, :stored, :error) "
    "ON CONFLICT (scope) DO UPDATE "
    "SET polled_at = excluded.polled_at, stored = excluded.stored, error = excluded.error, "
    "ok_at = coalesce(excluded.ok_at, eventmask_polls.ok_at)",
    polls="SELECT scope, polled_at, ok_at, stored, error FROM eventmask_polls",
)
