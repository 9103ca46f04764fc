"""The PostgreSQL inbox: many receivers and many workers, on many hosts, one inbox.

It behaves exactly like `SQLiteInbox` (same states, leases, retries, dead
letters and deduplication; the same tests run against both) and differs
where PostgreSQL lets it scale:

* Workers claim with ``FOR UPDATE SKIP LOCKED``: any number of them share
  the inbox and never claim the same entry twice, nor wait for each other.
* Deduplication takes a transaction-level advisory lock per key (body hash,
  revision) before looking, so two receivers given the same body at the same
  moment store it once.  A batch takes its locks in sorted order: batches of
  different receivers cannot deadlock.
* The schema is created and upgraded by ``eventmask inbox migrate`` (or
  `PostgresInbox.migrate`), never implicitly by a receiver starting up.
* Times are the database server's clock (each process measures its offset
  to it), so leases and backoff mean the same on every host.

Connections come from a `psycopg_pool.ConnectionPool`; they run in
autocommit mode and eventmask opens its transactions explicitly.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from .._envelope import Envelope
from .._errors import InboxUnavailable
from .backend import COLUMNS, Statements, entry_of
from .counts import POSTGRES_COUNTS
from .engine import SQLInbox, dedup_keys, idempotency_key
from .pg_pool import ReconnectingPool
from .pg_support import ServerClock, Wakeups, psycopg, redact
from .revisions import RevisionStatements
from .search_sql import POSTGRES as POSTGRES_SEARCH
from .search_sql import POSTGRES_V5
from .settings import InboxSettings
from .values import Entry, PutResult

__all__ = ["PostgresInbox"]

log = logging.getLogger("eventmask.inbox")
_CHANNEL: Final = "eventmask_inbox"

_V1: Final = (
    """CREATE TABLE eventmask_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at double precision NOT NULL,
    event text NOT NULL,
    property_id text,
    body bytea NOT NULL,
    body_hash text NOT NULL,
    revision_key text,
    idempotency_key text NOT NULL,
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'claimed', 'done', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    available_at double precision NOT NULL,
    lease_owner text,
    lease_until double precision,
    last_error text,
    done_at double precision
)""",
    # What workers scan: only the entries not yet done or dead.
    "CREATE INDEX eventmask_deliveries_open ON eventmask_deliveries (id) "
    "WHERE state IN ('pending', 'claimed')",
    "CREATE INDEX eventmask_deliveries_state ON eventmask_deliveries (state)",
    "CREATE INDEX eventmask_deliveries_hash ON eventmask_deliveries (body_hash, received_at)",
    "CREATE INDEX eventmask_deliveries_revision ON eventmask_deliveries (revision_key, received_at)"
    " WHERE revision_key IS NOT NULL",
    "CREATE INDEX eventmask_deliveries_done ON eventmask_deliveries (done_at) WHERE state = 'done'",
    """CREATE TABLE eventmask_rejections (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at double precision NOT NULL,
    status integer NOT NULL,
    reason text NOT NULL,
    remote text,
    body bytea
)""",
    "CREATE INDEX eventmask_rejections_at ON eventmask_rejections (at)",
    # One round trip per delivery: look for the body, then the revision,
    # within the window; insert when neither was seen.  The caller holds the
    # keys' advisory locks, so nobody else is between the look and the insert.
    """CREATE FUNCTION eventmask_put(
    p_now double precision, p_since double precision, p_event text, p_property text,
    p_body bytea, p_hash text, p_revision text
) RETURNS TABLE (entry_id bigint, duplicate boolean, idempotency_key text)
LANGUAGE plpgsql AS $$
DECLARE
    found_id bigint;
    found_key text;
BEGIN
    SELECT d.id, d.idempotency_key INTO found_id, found_key FROM eventmask_deliveries d
        WHERE d.body_hash = p_hash AND d.received_at >= p_since ORDER BY d.id LIMIT 1;
    IF found_id IS NULL AND p_revision IS NOT NULL THEN
        SELECT d.id, d.idempotency_key INTO found_id, found_key FROM eventmask_deliveries d
            WHERE d.revision_key = p_revision AND d.received_at >= p_since
            ORDER BY d.id LIMIT 1;
    END IF;
    IF found_id IS NOT NULL THEN
        RETURN QUERY SELECT found_id, true, found_key;
        RETURN;
    END IF;
    found_key := coalesce(p_revision, 'body:' || p_hash);
    INSERT INTO eventmask_deliveries (received_at, event, property_id, body, body_hash,
            revision_key, idempotency_key, available_at)
        VALUES (p_now, p_event, p_property, p_body, p_hash, p_revision, found_key, p_now)
        RETURNING id INTO found_id;
    -- Wakes idle workers when the transaction commits (once per transaction).
    PERFORM pg_notify('eventmask_inbox', '');
    RETURN QUERY SELECT found_id, false, found_key;
END
$$""",
)

# Version 2: refusals counted per minute and kind; only the newest 1,000 kept
# one by one (docs/receiver.md, "Refusals").
_V2: Final = (
    """CREATE TABLE eventmask_refusal_counts (
    bucket double precision NOT NULL,
    status integer NOT NULL,
    kind text NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (bucket, status, kind)
)""",
    "INSERT INTO eventmask_refusal_counts (bucket, status, kind, count) "
    "SELECT floor(at / 60) * 60, status, 'before counts', count(*) "
    "FROM eventmask_rejections GROUP BY 1, 2",
    "DELETE FROM eventmask_rejections WHERE id <= "
    "(SELECT id FROM eventmask_rejections ORDER BY id DESC LIMIT 1 OFFSET 1000)",
)

# Version 3: booking revisions as entries of their own kind, one per revision,
# and the acks their handling owes Channex (docs/bookings.md).
_V3: Final = (
    "CREATE UNIQUE INDEX eventmask_revision_entries "
    "ON eventmask_deliveries (revision_key) WHERE event = 'booking_revision'",
    """CREATE TABLE eventmask_acks (
    revision_id text PRIMARY KEY,
    entry_id bigint NOT NULL,
    property_id text,
    state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'acked', 'gone')),
    attempts integer NOT NULL DEFAULT 0,
    created_at double precision NOT NULL,
    next_at double precision NOT NULL,
    done_at double precision,
    last_error text
)""",
    "CREATE INDEX eventmask_acks_due ON eventmask_acks (state, next_at)",
    # booking id and inserted_at: the order of a booking's revisions (docs/bookings.md).
    "ALTER TABLE eventmask_deliveries ADD COLUMN booking_key text",
    'CREATE INDEX eventmask_revision_order ON eventmask_deliveries (booking_key COLLATE "C") '
    "WHERE booking_key IS NOT NULL",
)

# Version 4: the last poll of each feed, for `eventmask revisions status`; scope ''
# is the account's feed (no property filter).
_V4: Final = (
    """CREATE TABLE eventmask_polls (
    scope text PRIMARY KEY,
    polled_at double precision NOT NULL,
    ok_at double precision,
    stored integer NOT NULL DEFAULT 0,
    error text
)""",
)

REVISIONS: Final = RevisionStatements(
    insert="INSERT INTO eventmask_deliveries (received_at, event, property_id, body, body_hash, "
    "revision_key, idempotency_key, available_at, booking_key) "
    "VALUES (%s, 'booking_revision', %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (revision_key) WHERE event = 'booking_revision' DO NOTHING",
    # COLLATE "C": byte order, as the keys are built to compare (SQLite's default).
    order_of="SELECT booking_key FROM eventmask_deliveries WHERE id = %s",
    older_waiting='SELECT 1 FROM eventmask_deliveries WHERE booking_key COLLATE "C" > %s '
    "AND booking_key COLLATE \"C\" < %s AND state IN ('pending', 'claimed') "
    "AND NOT (id = ANY(%s)) LIMIT 1",
    newer_done='SELECT 1 FROM eventmask_deliveries WHERE booking_key COLLATE "C" > %s '
    "AND booking_key COLLATE \"C\" < %s AND (state = 'done' OR id = ANY(%s)) LIMIT 1",
    record_acks="INSERT INTO eventmask_acks (revision_id, entry_id, property_id, created_at, "
    "next_at) SELECT substr(revision_key, 18), id, property_id, %s, %s "
    "FROM eventmask_deliveries WHERE event = 'booking_revision' AND id = ANY(%s) "
    "ON CONFLICT (revision_id) DO NOTHING",
    due_acks="UPDATE eventmask_acks SET next_at = %s WHERE revision_id IN (SELECT revision_id "
    "FROM eventmask_acks WHERE state = 'pending' AND next_at <= %s ORDER BY next_at LIMIT %s "
    "FOR UPDATE SKIP LOCKED) RETURNING revision_id, entry_id, property_id, attempts",
    unsent_acks="SELECT count(*) FROM eventmask_acks WHERE state = 'pending' AND attempts = 0",
    settle_ack="UPDATE eventmask_acks SET state = %s, done_at = %s, last_error = %s, "
    "attempts = attempts + 1 WHERE revision_id = %s",
    retry_ack="UPDATE eventmask_acks SET next_at = %s, last_error = %s, "
    "attempts = attempts + 1 WHERE revision_id = %s AND state = 'pending'",
    pause_acks="UPDATE eventmask_acks SET next_at = GREATEST(next_at, %s) "
    "WHERE state = 'pending' AND property_id IS NOT DISTINCT FROM %s",
    ack_states="SELECT property_id, state, count(*), min(created_at) FROM eventmask_acks "
    "GROUP BY property_id, state",
    entry_states="SELECT property_id, state, count(*), min(received_at) "
    "FROM eventmask_deliveries WHERE event = 'booking_revision' AND state <> 'done' "
    "GROUP BY property_id, state",
    record_poll="INSERT INTO eventmask_polls AS p (scope, polled_at, ok_at, stored, error) "
    "VALUES (%(scope)s, %(at)s, CASE WHEN %(error)s::text IS NULL THEN %(at)s END, "
    "%(stored)s, %(error)s) ON CONFLICT (scope) DO UPDATE SET polled_at = excluded.polled_at, "
    "stored = excluded.stored, error = excluded.error, ok_at = coalesce(excluded.ok_at, p.ok_at)",
    polls="SELECT scope, polled_at, ok_at, stored, error FROM eventmask_polls",
)

# One statement, one round trip: leases run out with no attempts left become
# dead letters (the worker died on the entry every time), and the oldest
# `limit` of the ready entries and the expired leases are claimed, each an
# index-ordered scan of (state, id) that stops at `limit`.  One OR over both,
# before the statistics knew the backlog, was a bitmap OR and a sort of every
# ready row: 13-17 ms a claim at 20,000 pending, 0.6 ms now (docs/receiver.md).
_CLAIM: Final = f"""
WITH expired AS (
    UPDATE eventmask_deliveries SET state = 'dead', lease_owner = NULL, lease_until = NULL,
        last_error = coalesce(last_error, 'worker lease expired')
    WHERE id IN (
        SELECT id FROM eventmask_deliveries
        WHERE state = 'claimed' AND lease_until < %(now)s AND attempts >= %(attempts)s
        FOR UPDATE SKIP LOCKED)
), ready AS (
    SELECT id FROM eventmask_deliveries
    WHERE state = 'pending' AND available_at <= %(now)s
    ORDER BY state, id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), lapsed AS (
    SELECT id FROM eventmask_deliveries
    WHERE state = 'claimed' AND lease_until < %(now)s AND attempts < %(attempts)s
    ORDER BY state, id LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
), picked AS (
    SELECT id FROM (SELECT id FROM ready UNION ALL SELECT id FROM lapsed) AS due
    ORDER BY id LIMIT %(limit)s
)
UPDATE eventmask_deliveries AS d
SET state = 'claimed', lease_owner = %(owner)s, lease_until = %(until)s,
    attempts = d.attempts + 1
FROM picked WHERE d.id = picked.id
RETURNING {", ".join(f"d.{c.strip()}" for c in COLUMNS.split(","))}
"""

_GIVE_BACK: Final = (
    "UPDATE eventmask_deliveries SET state = 'pending', lease_owner = NULL, "
    "lease_until = NULL, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
    "WHERE state = 'claimed' AND lease_owner = %s"
)

STATEMENTS: Final = Statements(
    mark_failed="UPDATE eventmask_deliveries SET state = %s, available_at = %s, "
    "last_error = %s, lease_owner = NULL, lease_until = NULL WHERE id = %s AND lease_owner = %s",
    give_back=_GIVE_BACK,
    give_back_some=f"{_GIVE_BACK} AND id = ANY(%s)",
    # Not SKIP LOCKED: another worker's claim may hold a row of ours for an
    # instant while it checks (and skips) it.  Waiting that instant is right;
    # skipping would leave the entry claimed until its lease ran out.
    owned="SELECT id FROM eventmask_deliveries WHERE state = 'claimed' AND lease_owner = %s "
    "AND id = ANY(%s) ORDER BY id FOR UPDATE",
    mark_done="UPDATE eventmask_deliveries SET state = 'done', done_at = %s, "
    "lease_owner = NULL, lease_until = NULL, last_error = NULL WHERE id = ANY(%s)",
    count_refusals="INSERT INTO eventmask_refusal_counts AS c (bucket, status, kind, count) "
    "VALUES (%s, %s, %s, %s) ON CONFLICT (bucket, status, kind) "
    "DO UPDATE SET count = c.count + excluded.count",
    sample_refusal="INSERT INTO eventmask_rejections (at, status, reason, remote, body) "
    "VALUES (%s, %s, %s, %s, %s)",
    trim_samples="DELETE FROM eventmask_rejections WHERE id <= "
    "(SELECT id FROM eventmask_rejections ORDER BY id DESC LIMIT 1 OFFSET %s)",
    counts=POSTGRES_COUNTS,
    entries=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE id < %s ORDER BY id DESC LIMIT %s",
    entries_in_state=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE state = %s "
    "AND id < %s ORDER BY id DESC LIMIT %s",
    entries_of_event=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE event = %s "
    "AND (%s::text IS NULL OR state = %s::text) AND id < %s ORDER BY id DESC LIMIT %s",
    revision_entry=f"SELECT {COLUMNS} FROM eventmask_deliveries "
    "WHERE revision_key = %s AND event = 'booking_revision'",
    entry=f"SELECT {COLUMNS} FROM eventmask_deliveries WHERE id = %s",
    retry="UPDATE eventmask_deliveries SET state = 'pending', attempts = 0, available_at = %s, "
    "lease_owner = NULL, lease_until = NULL WHERE id = %s AND state IN ('dead', 'pending')",
    retry_matching="UPDATE eventmask_deliveries SET state = 'pending', attempts = 0, "
    "available_at = %s, lease_owner = NULL, lease_until = NULL WHERE state = %s "
    "AND received_at >= %s AND (%s::text IS NULL OR event = %s::text)",
    # Workers listening are woken as for a new delivery (docs/deployment.md).
    replay="WITH added AS (INSERT INTO eventmask_deliveries (received_at, event, property_id, "
    "body, body_hash, revision_key, idempotency_key, available_at) SELECT v.now, d.event, "
    "d.property_id, d.body, d.body_hash, NULL, v.key, v.now FROM (SELECT %s::double precision "
    "AS now, %s::text AS key) v, eventmask_deliveries d WHERE d.id = %s AND d.state = 'done' "
    "RETURNING id) SELECT id, pg_notify('eventmask_inbox', '') FROM added",
    purge_done="DELETE FROM eventmask_deliveries WHERE id IN (SELECT id FROM "
    "eventmask_deliveries WHERE state = 'done' AND done_at < %s LIMIT %s)",
    purge_rejections="DELETE FROM eventmask_rejections WHERE id IN (SELECT id FROM "
    "eventmask_rejections WHERE at < %s LIMIT %s)",
    purge_refusal_counts="DELETE FROM eventmask_refusal_counts WHERE bucket < %s",
    refusals="SELECT id, at, status, reason, remote, body FROM eventmask_rejections "
    "ORDER BY id DESC LIMIT %s",
    version_table="CREATE TABLE IF NOT EXISTS eventmask_schema (version integer NOT NULL)",
    read_version="SELECT max(version) FROM eventmask_schema",
    clear_version="DELETE FROM eventmask_schema",
    write_version="INSERT INTO eventmask_schema (version) VALUES (%s)",
)

# pg_advisory_xact_lock key that serializes `eventmask inbox migrate` runs.
_MIGRATION_LOCK: Final = 0x6576_656E_746D_736B  # "eventmsk"


def _lock_id(key: str) -> int:
    """A signed 64-bit advisory lock id for a deduplication key."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)


class PostgresInbox(SQLInbox):
    """The inbox in a PostgreSQL database (psycopg 3, with a connection pool).

    ``url`` is a libpq URL (``postgresql://user:password@host:5432/db``);
    its query string takes libpq's parameters (``sslmode``, ...).  The schema
    must have been created by ``eventmask inbox migrate --db URL`` (or pass
    ``migrate=True``).  ``pool_size`` bounds the connections this process
    opens: the writer's one, and one per busy worker thread.  By default
    times come from the database server's clock; ``clock`` replaces it (tests).

    >>> PostgresInbox.backend
    'postgresql'
    """

    backend = "postgresql"
    statements = STATEMENTS
    MIGRATIONS = (_V1, _V2, _V3, _V4, POSTGRES_V5)
    search_sql = POSTGRES_SEARCH
    revision_sql = REVISIONS
    db_errors = (psycopg.Error,)

    def __init__(
        self,
        url: str,
        settings: InboxSettings | None = None,
        *,
        clock: Callable[[], float] | None = None,
        migrate: bool = False,
        pool_size: int = 10,
        connect_timeout: float = 3.0,
    ) -> None:
        self._server_clock: ServerClock | None = None
        if clock is None:  # times from the server: leases mean the same on every host
            self._server_clock = ServerClock()
            clock = self._server_clock.now
        self._connect_timeout = max(int(connect_timeout), 1)
        super().__init__(settings, clock)
        self.url = url
        self._wakeups = Wakeups(url, _CHANNEL, self._connect_timeout)
        self._pool = ReconnectingPool(url, pool_size, connect_timeout, self.settings.write_timeout)
        try:
            if migrate:
                self.migrated = self.migrate()
            else:
                self.check_schema(redact(url))
        except BaseException:
            self._pool.close()
            raise

    def __repr__(self) -> str:
        return f"PostgresInbox({redact(self.url)!r})"

    def wait_for_work(self, timeout: float, stop: threading.Event) -> None:
        """Wait until a receiver commits a delivery (LISTEN), `timeout` passes, or `stop`."""
        self._wakeups.wait(timeout, stop)

    # -- connections and time -----------------------------------------------------------------

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A connection from the pool; `InboxUnavailable` when the server is gone.

        During an outage the answer is immediate (`ReconnectingPool`).
        """
        try:
            with self._pool.connection() as conn:
                if self._server_clock is not None:
                    self._server_clock.refresh(conn)
                yield conn
        except psycopg.OperationalError as exc:
            raise InboxUnavailable(f"the inbox database is unavailable: {exc}") from exc

    def probe(self) -> None:
        """A round trip to the server (raises `InboxError` when it is down)."""
        with self.connection() as conn:
            conn.execute("SELECT 1")

    def id_list(self, ids: Sequence[int]) -> list[int]:
        """A Python list, which psycopg sends as an array (``= ANY(%s)``)."""
        return list(ids)

    def has_table(self, conn: psycopg.Connection[Any], name: str) -> bool:
        """Whether the search path has a table `name`."""
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
        return bool(row and row[0])

    def lock_migrations(self, conn: psycopg.Connection[Any]) -> None:
        """An advisory lock for the migration's transaction: one migrator at a time."""
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))

    # -- writes -------------------------------------------------------------------------------

    def insert_deliveries(
        self, conn: psycopg.Connection[Any], deliveries: Sequence[Envelope], now: float
    ) -> list[PutResult]:
        """Lock the batch's keys in order, then one `eventmask_put` call per delivery."""
        since = now - self.settings.dedup_window
        rows = []
        locks = set()
        for delivery in deliveries:
            digest, revision = dedup_keys(delivery, self.settings.dedup_revisions)
            locks.add(_lock_id(idempotency_key(digest, None)))
            if revision is not None:
                locks.add(_lock_id(revision))
            values = (delivery.event, delivery.property_id, delivery.body, digest, revision)
            rows.append((now, since, *values))
        # In ascending order, in one statement: two batches wanting the same
        # keys queue up instead of deadlocking.
        conn.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k", (sorted(locks),)
        )
        results = []
        with conn.cursor() as cur:
            cur.executemany(
                "SELECT * FROM eventmask_put(%s, %s, %s, %s, %s, %s, %s)", rows, returning=True
            )
            while True:
                row = cur.fetchone()
                assert row is not None
                results.append(PutResult(*row))
                if not cur.nextset():
                    break
        return results

    # -- workers ------------------------------------------------------------------------------

    def claim(self, owner: str, limit: int = 16) -> list[Entry]:
        """Claim up to `limit` ready entries in one statement (``FOR UPDATE SKIP LOCKED``)."""
        now = self.clock()
        params = {"now": now, "attempts": self.settings.max_attempts, "limit": limit,
                  "owner": owner, "until": now + self.settings.lease}  # fmt: skip
        with self.connection() as conn:
            rows = conn.execute(_CLAIM, params).fetchall()
        return sorted((entry_of(r) for r in rows), key=lambda e: e.id)

    # Round trips are what a worker spends its time on: BEGIN and the row
    # locks go in one, and the done marks go with the COMMIT.

    def open_batch(self, conn: psycopg.Connection[Any], owner: str, ids: Sequence[int]) -> set[int]:
        """BEGIN and lock the rows still ours, in one round trip.

        The transaction may sit idle for at most the lease: a worker stopped
        (SIGSTOP) inside a handler that wrote through the inbox would
        otherwise hold its rows locked past its lease, and no worker could
        take them over (docs/receiver.md, "Guarantees").  The server ends
        such a session, which rolls its writes back.
        """
        idle = f"{max(int(self.settings.lease * 1000), 1)}ms"
        try:
            with conn.pipeline():
                conn.execute("BEGIN")
                conn.execute(
                    "SELECT set_config('idle_in_transaction_session_timeout', %s, true)", (idle,)
                )
                cur = conn.execute(self.statements.owned, (owner, list(ids)))
            rows = cur.fetchall()
        except BaseException:
            self.rollback(conn)
            raise
        return {row[0] for row in rows}

    def aborted(self, conn: psycopg.Connection[Any]) -> bool:
        """Whether a caught database error left the transaction unusable."""
        return conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR

    def finish_batch(self, conn: psycopg.Connection[Any], done: Sequence[int], now: float) -> None:
        """The done marks and the COMMIT, in one round trip."""
        with conn.pipeline():
            if done:
                conn.execute(self.statements.mark_done, (now, list(done)))
            conn.execute("COMMIT")

    def close(self) -> None:
        """Stop the writer and the listener; close the pool."""
        if self._writer.closed:
            return
        self._stop_writer()
        self._wakeups.close()
        self._pool.close()
