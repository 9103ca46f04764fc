"""Processing claimed entries: a handler holds no lock unless it writes through the inbox.

Every test that takes `db_url` runs against SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from eventmask import Notification, Router
from eventmask._errors import LeaseLost
from eventmask.inbox import (
    AttemptOutcome,
    InboxSettings,
    InboxUnavailable,
    Worker,
    current_delivery,
    open_inbox,
)

from ..helpers import body, query, url_of
from .conftest import Clock


def _blocking_router(started: threading.Event, release: threading.Event) -> Router:
    router = Router()

    @router.on("message")
    def hang(n: Notification) -> None:
        if n.raw["payload"]["delivery"] == "d0":
            started.set()
            release.wait(30)

    return router


def test_a_hanging_handler_holds_no_lock(inbox: Any) -> None:
    """While one handler hangs, deliveries are stored and another worker drains the rest."""
    started, release = threading.Event(), threading.Event()
    router = _blocking_router(started, release)
    inbox.put(body(0))
    stuck = Worker(inbox, router, batch=1).start()
    try:
        assert started.wait(10)
        began = time.monotonic()
        for n in range(1, 6):
            inbox.put(body(n))
        assert time.monotonic() - began < 1.0
        other = Worker(inbox, router)
        assert other.run_once() == 5
        assert inbox.stats()["done"] == 5
    finally:
        release.set()
        stuck.stop()
    assert inbox.stats()["done"] == 6


def test_a_handler_that_wrote_commits_before_the_next_one_runs(inbox: Any) -> None:
    """An entry whose handler wrote through the inbox is done before the next handler starts."""
    started, release = threading.Event(), threading.Event()
    router = Router()

    @router.on("message")
    def write_or_hang(n: Notification) -> None:
        if n.raw["payload"]["delivery"] == "d1":
            ctx = current_delivery()
            ctx.connection.execute("CREATE TABLE IF NOT EXISTS fx (k TEXT)")
            ctx.connection.execute("INSERT INTO fx VALUES ('one')")
        else:
            started.set()
            release.wait(30)

    first = inbox.put(body(1)).id
    inbox.put(body(2))
    worker = Worker(inbox, router).start()
    try:
        assert started.wait(10)
        assert inbox.get(first).state == "done"
        assert query(url_of(inbox), "SELECT k FROM fx") == [("one",)]
        began = time.monotonic()
        inbox.put(body(3))
        assert time.monotonic() - began < 1.0
    finally:
        release.set()
        worker.stop()


def test_marks_of_quick_handlers_share_one_commit(inbox: Any) -> None:
    """Handlers that never touch the connection are marked done together, in order."""
    ids = [inbox.put(body(n)).id for n in range(8)]
    states = inbox.process_batch(inbox.claim("w", 8), "w", lambda ctx: AttemptOutcome())
    assert states == ["done"] * 8
    assert [inbox.get(i).state for i in ids] == ["done"] * 8


def test_a_handler_that_fails_after_writing_leaves_no_effect(inbox: Any, clock: Clock) -> None:
    """The writes of a failed handler roll back; the failure is still recorded."""

    def write_then_fail(ctx: Any) -> AttemptOutcome:
        ctx.connection.execute("CREATE TABLE IF NOT EXISTS fx (k TEXT)")
        ctx.connection.execute("INSERT INTO fx VALUES ('x')")
        return AttemptOutcome("RuntimeError: boom")

    def write(ctx: Any) -> AttemptOutcome:
        ctx.connection.execute("CREATE TABLE IF NOT EXISTS fy (k TEXT)")
        ctx.connection.execute("INSERT INTO fy VALUES ('y')")
        return AttemptOutcome()

    ids = [inbox.put(body(n)).id for n in range(2)]
    entries = inbox.claim("w", 2)
    attempts = {ids[0]: write_then_fail, ids[1]: write}
    states = inbox.process_batch(entries, "w", lambda ctx: attempts[ctx.entry_id](ctx))
    assert states == ["pending", "done"]
    assert "boom" in (inbox.get(ids[0]).last_error or "")
    assert query(url_of(inbox), "SELECT k FROM fy") == [("y",)]
    with pytest.raises(Exception, match="fx"):
        query(url_of(inbox), "SELECT k FROM fx")


def test_a_lease_lost_during_the_handler_commits_nothing(inbox: Any, clock: Clock) -> None:
    """A handler that touches the inbox after its lease was taken over gets LeaseLost."""
    inbox.put(body(1))
    (entry,) = inbox.claim("slow")
    raised: list[BaseException] = []

    def late(ctx: Any) -> AttemptOutcome:
        clock.now += 11  # past the lease: another worker takes the entry
        assert len(inbox.claim("fast")) == 1
        try:
            ctx.connection.execute("SELECT 1")
        except LeaseLost as exc:
            raised.append(exc)
            return AttemptOutcome(str(exc))
        return AttemptOutcome()

    assert inbox.process(entry, "slow", late) == "claimed"
    assert "another worker took it" in str(raised[0])
    assert inbox.get(entry.id).lease_owner == "fast"


def test_a_stopped_postgres_worker_is_taken_over_after_its_lease(postgres_url: str) -> None:
    """Rows locked by a worker stuck after writing are free again once its lease ends.

    The server ends a session idle in a transaction for longer than the
    lease: the stuck worker's writes roll back, another worker takes the
    entry, and the effect is written once.
    """
    settings = InboxSettings(lease=1.0)
    inbox = open_inbox(postgres_url, settings, migrate=True)
    try:
        with inbox.connection() as conn:
            conn.execute("DROP TABLE IF EXISTS fx")
            conn.execute("CREATE TABLE fx (k text)")
        inbox.put(body(1))
        (entry,) = inbox.claim("stopped")
        wrote, release = threading.Event(), threading.Event()
        failures: list[BaseException] = []

        def write_then_hang(ctx: Any) -> AttemptOutcome:
            ctx.connection.execute("INSERT INTO fx VALUES ('stopped')")
            wrote.set()
            release.wait(30)
            return AttemptOutcome()

        def stopped() -> None:
            try:
                inbox.process(entry, "stopped", write_then_hang)
            except InboxUnavailable as exc:
                failures.append(exc)

        thread = threading.Thread(target=stopped)
        thread.start()
        assert wrote.wait(10)
        deadline = time.monotonic() + 10
        taken: list[Any] = []
        while not taken and time.monotonic() < deadline:
            time.sleep(0.2)
            taken = inbox.claim("other")
        assert [e.id for e in taken] == [entry.id]

        def write(ctx: Any) -> AttemptOutcome:
            ctx.connection.execute("INSERT INTO fx VALUES ('other')")
            return AttemptOutcome()

        assert inbox.process(taken[0], "other", write) == "done"
        release.set()
        thread.join(10)
        assert failures, "the stopped worker's commit must fail"
        assert query(postgres_url, "SELECT k FROM fx") == [("other",)]
    finally:
        inbox.close()
