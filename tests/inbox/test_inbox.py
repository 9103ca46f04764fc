"""Tests of the inbox backends and the worker: durability, dedup, retries, leases, exactly-once.

Every test that takes `db_url` runs twice: against SQLite and against
PostgreSQL (a throwaway server, see tests/pgserver.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from eventmask import Notification, Router
from eventmask._inbox.values import Refusal, RefusalBatch
from eventmask.inbox import (
    AttemptOutcome,
    InboxError,
    InboxSettings,
    SQLiteInbox,
    Worker,
    current_delivery,
    open_inbox,
)

from ..helpers import body, envelope, query, url_of
from .conftest import Clock


def test_put_is_committed_and_visible_to_another_connection(inbox: Any) -> None:
    """After put returns, the entry is in the file, seen by an independent connection."""
    result = inbox.put(body(1))
    rows = query(url_of(inbox), "SELECT id, state, event FROM eventmask_deliveries")
    assert rows == [(result.id, "pending", "message")]


def test_identical_bodies_within_window_are_one_entry(inbox: Any, clock: Clock) -> None:
    """A retried body is acknowledged again without a new entry, until the window passes."""
    first = inbox.put(body(1))
    again = inbox.put(body(1))
    assert (again.id, again.duplicate) == (first.id, True)
    assert again.idempotency_key == first.idempotency_key
    clock.now += inbox.settings.dedup_window + 1
    later = inbox.put(body(1))
    assert not later.duplicate
    assert later.id != first.id


def test_revision_dedup_is_opt_in(db_url: str) -> None:
    """booking and booking_new of one revision are two entries, or one with dedup_revisions."""

    def docs(revision: str) -> list[dict[str, Any]]:
        payload = {"booking_id": "b", "revision_id": revision}
        return [{"event": e, "payload": payload} for e in ("booking", "booking_new")]

    plain = open_inbox(db_url, migrate=True)
    merged = open_inbox(db_url, InboxSettings(dedup_revisions=True))
    try:
        assert [plain.put(envelope(d)).duplicate for d in docs("R1")] == [False, False]
        results = [merged.put(envelope(d)) for d in docs("R2")]
        assert [r.duplicate for r in results] == [False, True]
        assert results[0].idempotency_key == "revision:r2"
        # A revision seen before is a duplicate even in a body never seen.
        late = {"event": "booking_modification", "payload": {"revision_id": "r2", "x": 1}}
        assert merged.put(envelope(late)).id == results[0].id
    finally:
        plain.close()
        merged.close()


def test_concurrent_puts_share_commits(inbox: Any) -> None:
    """Many threads putting at once all get distinct committed entries (group commit)."""
    results: list[Any] = []
    lock = threading.Lock()

    def put(n: int) -> None:
        result = inbox.put(body(n))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.id for r in results}) == 200
    assert inbox.stats()["pending"] == 200


def test_worker_marks_done_and_handler_effects_commit_once(inbox: Any) -> None:
    """A handler writing through current_delivery() commits with the done mark."""
    router = Router()

    @router.on("message")
    def write(n: Notification) -> None:
        ctx = current_delivery()
        ctx.connection.execute("CREATE TABLE IF NOT EXISTS fx (k TEXT)")
        insert = f"INSERT INTO fx VALUES ({ctx.placeholder})"
        # The typed view of the connection is the connection itself, on its own backend only.
        typed = ctx.sqlite if ctx.backend == "sqlite" else ctx.postgres
        assert typed is ctx.connection
        with pytest.raises(TypeError, match=f"runs under a {ctx.backend} inbox"):
            _ = ctx.postgres if ctx.backend == "sqlite" else ctx.sqlite
        typed.execute(insert, (ctx.idempotency_key,))

    for n in range(5):
        inbox.put(body(n))
    assert Worker(inbox, router).run_once() == 5
    assert inbox.stats()["done"] == 5
    keys = query(url_of(inbox), "SELECT k FROM fx")
    assert len(keys) == 5
    assert len(set(keys)) == 5


def test_failure_rolls_back_effects_then_retries_with_backoff(inbox: Any, clock: Clock) -> None:
    """A failing handler's writes are undone; the entry waits 2, 4 s...; then it is dead."""
    router = Router()

    @router.on("message")
    def write_then_fail(n: Notification) -> None:
        ctx = current_delivery()
        ctx.connection.execute("CREATE TABLE IF NOT EXISTS fx (k TEXT)")
        ctx.connection.execute("INSERT INTO fx VALUES ('x')")
        raise RuntimeError("boom")

    entry_id = inbox.put(body(1)).id
    worker = Worker(inbox, router)
    assert worker.run_once() == 1
    entry = inbox.get(entry_id)
    assert (entry.state, entry.attempts, entry.available_at) == ("pending", 1, clock.now + 2)
    assert "RuntimeError: boom" in (entry.last_error or "")
    assert worker.run_once() == 0  # not due yet
    clock.now += 2
    assert worker.run_once() == 1
    assert inbox.get(entry_id).available_at == clock.now + 4
    clock.now += 4
    assert worker.run_once() == 1
    assert inbox.get(entry_id).state == "dead"
    with pytest.raises((sqlite3.OperationalError, psycopg.errors.UndefinedTable)):
        query(url_of(inbox), "SELECT * FROM fx")  # the table the handler created is gone
    inbox.retry(entry_id)
    entry = inbox.get(entry_id)
    assert (entry.state, entry.attempts) == ("pending", 0)
    with pytest.raises(InboxError, match="no inbox entry 999"):
        inbox.retry(999)


def test_expired_lease_is_reclaimed(inbox: Any, clock: Clock) -> None:
    """An entry claimed by a worker that died is claimed again after the lease."""
    entry_id = inbox.put(body(1)).id
    (claimed,) = inbox.claim("dead-worker")
    assert claimed.id == entry_id
    assert inbox.claim("other") == []
    clock.now += 11
    (again,) = inbox.claim("other")
    assert (again.id, again.attempts, again.lease_owner) == (entry_id, 2, "other")


def test_late_worker_cannot_mark_done(inbox: Any, clock: Clock) -> None:
    """A worker whose lease was taken over rolls back instead of marking done."""
    inbox.put(body(1))
    (stale,) = inbox.claim("slow")
    clock.now += 11
    inbox.claim("fast")
    assert inbox.process(stale, "slow", lambda ctx: AttemptOutcome()) == "claimed"
    assert inbox.stats()["done"] == 0


def test_repeated_crashes_end_in_a_dead_letter(inbox: Any, clock: Clock) -> None:
    """An entry whose worker dies every time becomes dead after max_attempts claims."""
    entry_id = inbox.put(body(1)).id
    for _ in range(3):
        assert len(inbox.claim("crashing")) == 1
        clock.now += 11
    assert inbox.claim("crashing") == []
    assert inbox.get(entry_id).state == "dead"


def test_release_gives_claims_back(inbox: Any) -> None:
    """Graceful shutdown: released entries are pending again, attempt not counted."""
    inbox.put(body(1))
    inbox.claim("w")
    assert inbox.release("w") == 1
    (entry,) = inbox.entries()
    assert (entry.state, entry.attempts) == ("pending", 0)


def test_stats_list_show_purge_rejections(inbox: Any, clock: Clock) -> None:
    """Operator views: counts, listing by state, one entry, purge of old done entries."""
    inbox.put(body(1))
    inbox.put(body(2))
    refusal = Refusal(clock.now, 401, "wrong secret", "missing or wrong secret header", "1.2.3.4:5")
    inbox.record_refusals(
        RefusalBatch(((clock.now // 60 * 60, 401, "wrong secret", 1),), (refusal,))
    )
    inbox.flush()
    Worker(inbox, Router()).run_once()
    stats = inbox.stats()
    assert (stats["done"], stats["pending"], stats["refused_last_24h"]) == (2, 0, 1)
    assert [e.state for e in inbox.entries("done")] == ["done", "done"]
    assert inbox.get(1).as_dict()["body"]["payload"]["delivery"] == "d1"
    assert inbox.refusals()[0]["reason"] == "missing or wrong secret header"
    clock.now += 8 * 86_400
    assert inbox.purge(7 * 86_400) == 2
    assert inbox.stats()["done"] == 0
    with pytest.raises(InboxError, match="unknown state"):
        inbox.entries("lost")


def test_async_handlers_run_in_the_worker(inbox: Any) -> None:
    """Coroutine handlers are awaited by the worker, with current_delivery() available."""
    seen: list[int] = []
    router = Router()

    @router.on("message")
    async def handler(n: Notification) -> None:
        seen.append(current_delivery().entry_id)

    entry_id = inbox.put(body(1)).id
    Worker(inbox, router).run_once()
    assert seen == [entry_id]


def test_open_inbox_urls(tmp_path: Path) -> None:
    """A path or sqlite:/// opens SQLite; other schemes are refused clearly."""
    assert isinstance(open_inbox(str(tmp_path / "a.db")), SQLiteInbox)
    open_inbox(f"sqlite:///{tmp_path / 'b.db'}").close()
    with pytest.raises(InboxError, match="three slashes"):
        open_inbox("sqlite://b.db")
    with pytest.raises(InboxError, match="unsupported inbox URL scheme 'mysql'"):
        open_inbox("mysql://x")


def test_reopening_keeps_entries(db_url: str) -> None:
    """Entries survive closing and reopening the inbox (the schema is not recreated)."""
    first = open_inbox(db_url, migrate=True)
    first.put(body(1))
    first.close()
    second = open_inbox(db_url, migrate=True)
    try:
        assert second.stats()["pending"] == 1
    finally:
        second.close()


def test_stopping_mid_batch_gives_the_rest_back(inbox: Any) -> None:
    """A worker told to stop finishes the entry in hand and releases the others."""
    for n in range(3):
        inbox.put(body(n))
    entries = inbox.claim("w")
    calls: list[int] = []

    def run(ctx: Any) -> AttemptOutcome:
        calls.append(ctx.entry_id)
        return AttemptOutcome()

    states = inbox.process_batch(entries, "w", run, stopping=lambda: bool(calls))
    assert states == ["done", "pending", "pending"]
    assert [(e.state, e.attempts) for e in reversed(inbox.entries())] == [
        ("done", 1),
        ("pending", 0),
        ("pending", 0),
    ]


def test_two_receivers_store_one_body_once(db_url: str) -> None:
    """Two inboxes (two receiver processes) given the same bodies at once keep one entry each."""
    receivers = [open_inbox(db_url, migrate=True) for _ in range(2)]
    results: list[list[Any]] = [[], []]
    start = threading.Barrier(8)

    def put(index: int) -> None:
        box = receivers[index % 2]
        start.wait()
        for n in range(60):
            results[index % 2].append(box.put(body(n)))

    threads = [threading.Thread(target=put, args=(i,)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert receivers[0].stats()["pending"] == 60
        everything = results[0] + results[1]
        assert sum(not r.duplicate for r in everything) == 60
        by_key: dict[str, set[int]] = {}
        for r in everything:
            by_key.setdefault(r.idempotency_key, set()).add(r.id)
        assert all(len(ids) == 1 for ids in by_key.values())  # every copy names one entry
    finally:
        for box in receivers:
            box.close()


def test_concurrent_claims_never_overlap(db_url: str) -> None:
    """Workers claiming at once from separate inboxes (separate hosts) never share an entry."""
    setup = open_inbox(db_url, migrate=True)
    for n in range(300):
        setup.put(body(n))
    claimers = [open_inbox(db_url) for _ in range(4)]
    claimed: list[list[int]] = [[] for _ in range(8)]
    start = threading.Barrier(8)

    def claim(index: int) -> None:
        box = claimers[index % 4]
        start.wait()
        while entries := box.claim(f"w{index}", 7):
            claimed[index].extend(e.id for e in entries)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        every = [i for ids in claimed for i in ids]
        assert len(every) == 300
        assert len(set(every)) == 300
        assert setup.stats()["claimed"] == 300
    finally:
        for box in [setup, *claimers]:
            box.close()


def test_a_swallowed_database_error_is_a_failed_attempt(db_url: str, clock: Clock) -> None:
    """A handler that hides a failed statement cannot leave the worker stuck.

    PostgreSQL aborts the transaction: the attempt fails and is retried.
    SQLite only fails the statement: the entry is done.  Either way the
    worker goes on with the other entries of the batch.
    """
    box = open_inbox(db_url, clock=clock, migrate=True)
    router = Router()

    @router.on("message")
    def hide_error(n: Notification) -> None:
        if n.raw["payload"]["delivery"] == "d1":
            with contextlib.suppress(sqlite3.Error, psycopg.Error):
                current_delivery().connection.execute("SELECT * FROM no_such_table")

    try:
        ids = [box.put(body(n)).id for n in range(3)]
        assert Worker(box, router).run_once() == 3
        states = [box.get(i).state for i in ids]
        if box.backend == "postgresql":
            assert states == ["done", "pending", "done"]
            assert "aborted by a database error" in (box.get(ids[1]).last_error or "")
        else:
            assert states == ["done", "done", "done"]
    finally:
        box.close()


def test_migrate_creates_then_reports_the_version(db_url: str) -> None:
    """migrate goes from 0 to the current version once; again it changes nothing."""
    box = open_inbox(db_url, migrate=True)
    try:
        current = box.schema_version_expected
        assert box.schema_version() == current
        assert box.migrate() == (current, current)
        assert query(db_url, "SELECT version FROM eventmask_schema") == [(current,)]
    finally:
        box.close()


def test_a_newer_schema_is_refused(db_url: str) -> None:
    """A database migrated by a newer eventmask is not touched by this one."""
    open_inbox(db_url, migrate=True).close()
    if "://" in db_url:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("UPDATE eventmask_schema SET version = 99")
    else:
        with sqlite3.connect(db_url) as conn:
            conn.execute("UPDATE eventmask_schema SET version = 99")
    with pytest.raises(InboxError, match=r"schema is version 99.*upgrade eventmask"):
        open_inbox(db_url, migrate=True)
    with pytest.raises(InboxError, match=r"version 99.*upgrade eventmask"):
        open_inbox(db_url, migrate=False)


def test_postgres_needs_an_explicit_migration(postgres_url: str) -> None:
    """A receiver or worker never creates the schema; it names the command that does."""
    with pytest.raises(InboxError, match=r"version 0.*eventmask inbox migrate --db postgresql://"):
        open_inbox(postgres_url)
    assert query(postgres_url, "SELECT to_regclass('eventmask_schema') IS NULL") == [(True,)]


def test_concurrent_migrations_apply_once(postgres_url: str) -> None:
    """Several processes running migrate at once: one creates the schema, the rest see it."""
    outcomes: list[Any] = []
    start = threading.Barrier(4)

    def migrate() -> None:
        from eventmask.inbox import PostgresInbox

        start.wait()
        try:
            box = PostgresInbox(postgres_url, migrate=True)
            outcomes.append(box.migrate())
            box.close()
        except Exception as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from eventmask.inbox import PostgresInbox

    current = len(PostgresInbox.MIGRATIONS)
    assert outcomes == [(current, current)] * 4
    assert query(postgres_url, "SELECT version FROM eventmask_schema") == [(current,)]


def test_postgres_connection_errors_are_clear_and_hide_the_password() -> None:
    """Nothing listens on the port: InboxError with the URL, password masked."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql://app:s3cret@127.0.0.1:{port}/pms"
    with pytest.raises(InboxError, match=r"cannot connect to the inbox at") as caught:
        open_inbox(url, connect_timeout=1)
    assert "s3cret" not in str(caught.value)
    assert f"app:***@127.0.0.1:{port}/pms" in str(caught.value)
    assert "Connection refused" in str(caught.value)
    with pytest.raises(InboxError, match="invalid PostgreSQL URL"):
        open_inbox("postgresql://h/db?no_such_option=1")


def test_postgres_times_follow_the_server_clock(postgres_url: str) -> None:
    """Without a clock argument, times are the database server's (one clock for all hosts)."""
    box = open_inbox(postgres_url, migrate=True)
    try:
        stored = box.put(body(1))
        ((received, server_now),) = query(
            postgres_url,
            f"SELECT received_at, extract(epoch FROM clock_timestamp())::float8 "
            f"FROM eventmask_deliveries WHERE id = {stored.id}",
        )
        assert 0 <= server_now - received < 5
        assert abs(box.clock() - server_now) < 5
    finally:
        box.close()


def test_inbox_migrate_command(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`eventmask inbox migrate` creates the schema, then says it is up to date."""
    from eventmask._cli import main
    from eventmask.inbox import PostgresInbox

    current = len((SQLiteInbox if "://" not in db_url else PostgresInbox).MIGRATIONS)
    assert main(["inbox", "migrate", "--db", db_url]) == 0
    assert capsys.readouterr().out == f"migrated the inbox schema from version 0 to {current}\n"
    assert main(["inbox", "migrate", "--db", db_url]) == 0
    assert capsys.readouterr().out == f"the inbox schema is up to date (version {current})\n"
    assert main(["inbox", "stats", "--json", "--db", db_url]) == 0
    assert '"pending": 0' in capsys.readouterr().out


def test_inbox_commands_refuse_an_unmigrated_postgres(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reading a database nobody migrated is a usage error that names the fix."""
    from eventmask._cli import main

    assert main(["inbox", "stats", "--db", postgres_url]) == 2
    assert "eventmask inbox migrate --db" in capsys.readouterr().err
    assert main(["worker", "tests.apps:recording", "--db", postgres_url]) == 2
    assert "eventmask inbox migrate --db" in capsys.readouterr().err
    # The early exit gave the loggers back: nothing writes to this test's stderr later.
    import logging

    for name in ("eventmask", "uvicorn.error"):
        assert (logging.getLogger(name).handlers, logging.getLogger(name).propagate) == ([], True)


def test_a_version_1_sqlite_file_is_upgraded_in_place(tmp_path: Path) -> None:
    """A file written by the first release (schema 1) gains version 2, entries kept."""
    from eventmask._inbox.sqlite_sql import V1 as _SQLITE_V1

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in _SQLITE_V1:
        conn.execute(statement)
    conn.execute("CREATE TABLE eventmask_schema (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO eventmask_schema VALUES (1)")
    conn.execute(
        "INSERT INTO eventmask_deliveries (received_at, event, body, body_hash, "
        "idempotency_key, available_at) VALUES (1, 'message', X'7B7D', 'h', 'body:h', 1)"
    )
    conn.commit()
    conn.close()
    current = len(SQLiteInbox.MIGRATIONS)
    with pytest.raises(InboxError, match=rf"version 1, this eventmask needs version {current}"):
        SQLiteInbox(path, migrate=False)
    box = SQLiteInbox(path)
    try:
        assert box.migrated == (1, current)
        assert box.stats()["pending"] == 1
    finally:
        box.close()
    indexes = {name for (name,) in query(str(path), "SELECT name FROM sqlite_master")}
    assert {"eventmask_deliveries_done", "eventmask_rejections_at"} <= indexes
    assert "eventmask_deliveries_ready" not in indexes  # version 6: the claim's index serves
    assert query(str(path), "SELECT version FROM eventmask_schema") == [(current,)]


def test_purge_works_in_chunks(db_url: str, clock: Clock) -> None:
    """A purge larger than one chunk removes everything old and nothing recent."""
    box = open_inbox(db_url, clock=clock, migrate=True)
    try:
        for n in range(25):
            box.put(body(n))
        Worker(box, Router(), batch=25).run_once()
        clock.now += 100
        for n in range(25, 30):
            box.put(body(n))
        Worker(box, Router(), batch=25).run_once()
        assert box.purge(50, chunk=4) == 25
        stats = box.stats()
        assert (stats["done"], stats["pending"]) == (5, 0)
        assert box.stats(done=False)["done"] is None
    finally:
        box.close()


def test_postgres_wakes_idle_workers_at_once(postgres_url: str) -> None:
    """A worker waiting 5 s between empty claims handles a new delivery well before that."""
    box = open_inbox(postgres_url, migrate=True)
    handled = threading.Event()
    router = Router()

    @router.on("message")
    def note(n: Notification) -> None:
        handled.set()

    worker = Worker(box, router, idle=5.0).start()
    try:
        time.sleep(0.5)  # the worker found nothing and is waiting
        started = time.monotonic()
        box.put(body(1))
        assert handled.wait(10)
        assert time.monotonic() - started < 2.0
    finally:
        worker.stop()
        box.close()


def test_a_slow_batch_does_not_keep_sqlite_receivers_waiting(tmp_path: Path) -> None:
    """While a worker runs a batch of slow handlers, a put waits for one handler, not all.

    The worker commits after each slow entry and steps aside before taking
    SQLite's write lock again; otherwise it would win the lock every time and
    the put would wait for the whole batch (16 x 0.25 s).
    """
    box = SQLiteInbox(tmp_path / "inbox.db")
    router = Router()
    router.add("message", lambda n: time.sleep(0.25))
    for n in range(16):
        box.put(body(n))
    worker = Worker(box, router).start()
    try:
        time.sleep(0.6)  # two entries in: the batch holds 14 more
        started = time.monotonic()
        box.put(body(99))
        assert time.monotonic() - started < 1.5
    finally:
        worker.stop()
        box.close()


def test_refusal_counts_add_up_per_minute_status_and_kind(inbox: Any, clock: Clock) -> None:
    """Counts of the same minute and kind are summed, in one row, on both backends."""
    minute = clock.now // 60 * 60
    for count in (3, 4):
        inbox.record_refusals(RefusalBatch(((minute, 401, "wrong secret", count),), ()))
    inbox.record_refusals(
        RefusalBatch(((minute, 413, "too large", 1), (minute - 600, 401, "wrong secret", 50)), ())
    )
    inbox.flush()
    assert inbox.refusal_counts(minute - 60) == [
        {"status": 401, "kind": "wrong secret", "count": 7},
        {"status": 413, "kind": "too large", "count": 1},
    ]
    assert inbox.refusal_counts(0)[0] == {"status": 401, "kind": "wrong secret", "count": 57}
    assert inbox.refusals() == []  # counts alone keep no samples
    stats = inbox.stats()
    assert stats["refused_last_24h"] == 58
    assert stats["refused_by_kind_last_24h"][1] == {"status": 413, "kind": "too large", "count": 1}


def test_health_probes_the_storage(inbox: Any) -> None:
    assert inbox.health().ok


def test_health_reports_a_deleted_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    box = SQLiteInbox(path)
    try:
        box.put(envelope({"event": "message", "property_id": "p"}))
        path.unlink()
        health = box.health()
        assert not health.ok
        assert "deleted or replaced" in str(health.reason)
        with pytest.raises(InboxError, match="deleted or replaced"):
            box.put(envelope({"event": "message", "property_id": "q"}))
    finally:
        box.close()


def test_the_interface_is_abstract_and_the_engine_one_line_of_descent() -> None:
    """An inbox that leaves out a method cannot be made; the engine's classes form one chain
    (no diamond), and only the engine itself adds the interface beside it."""
    import abc

    from eventmask._inbox.backend import SQLBackend
    from eventmask._inbox.engine import SQLInbox
    from eventmask.inbox import Inbox, PostgresInbox

    class Partial(Inbox):
        def put(self, delivery: object) -> None:  # type: ignore[override]
            del delivery

    with pytest.raises(TypeError, match=r"abstract methods .*claim"):
        Partial()  # type: ignore[abstract]
    assert isinstance(Inbox, abc.ABCMeta)
    for backend in (SQLiteInbox, PostgresInbox):
        chain = [c for c in backend.__mro__ if c.__module__.startswith("eventmask._inbox")]
        for cls in chain:
            bases = [b for b in cls.__bases__ if b is not abc.ABC]
            roots = (Inbox, SQLBackend)  # the interface, and the bottom of the engine
            assert len(bases) == (2 if cls is SQLInbox else 0 if cls in roots else 1), cls
    names = [c.__name__ for c in SQLiteInbox.__mro__]
    assert names.index("Inbox") == len(names) - 3  # after the whole engine, before ABC, object
