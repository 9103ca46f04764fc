"""Tests of the SQLite inbox and the worker: durability, dedup, retries, leases, exactly-once."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import orjson
import pytest

from eventmask import Notification, Router
from eventmask.asgi import InboxError, SQLiteInbox, Worker, current_delivery, open_inbox


class Clock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def inbox(tmp_path: Path, clock: Clock) -> Any:
    box = SQLiteInbox(tmp_path / "inbox.db", clock=clock, lease=10, max_attempts=3, backoff=2)
    yield box
    box.close()


def body(n: int, event: str = "message", **payload: Any) -> tuple[bytes, dict[str, Any]]:
    doc = {"event": event, "property_id": "p", "payload": {"delivery": f"d{n}", **payload}}
    return orjson.dumps(doc), doc


def test_put_is_committed_and_visible_to_another_connection(inbox: SQLiteInbox) -> None:
    """After put returns, the entry is in the file, seen by an independent connection."""
    result = inbox.put(*body(1))
    conn = sqlite3.connect(inbox.path)
    rows = conn.execute("SELECT id, state, event FROM eventmask_deliveries").fetchall()
    assert rows == [(result.id, "pending", "message")]


def test_identical_bodies_within_window_are_one_entry(inbox: SQLiteInbox, clock: Clock) -> None:
    """A retried body is acknowledged again without a new entry, until the window passes."""
    first = inbox.put(*body(1))
    again = inbox.put(*body(1))
    assert (again.id, again.duplicate) == (first.id, True)
    assert again.idempotency_key == first.idempotency_key
    clock.now += inbox.dedup_window + 1
    later = inbox.put(*body(1))
    assert not later.duplicate
    assert later.id != first.id


def test_revision_dedup_is_opt_in(tmp_path: Path) -> None:
    """booking and booking_new of one revision are two entries, or one with dedup_revisions."""
    payload = {"booking_id": "b", "revision_id": "R1"}
    docs = [{"event": e, "payload": payload} for e in ("booking", "booking_new")]
    plain = SQLiteInbox(tmp_path / "a.db")
    merged = SQLiteInbox(tmp_path / "b.db", dedup_revisions=True)
    try:
        assert [plain.put(orjson.dumps(d), d).duplicate for d in docs] == [False, False]
        results = [merged.put(orjson.dumps(d), d) for d in docs]
        assert [r.duplicate for r in results] == [False, True]
        assert results[0].idempotency_key == "revision:r1"
    finally:
        plain.close()
        merged.close()


def test_concurrent_puts_share_commits(inbox: SQLiteInbox) -> None:
    """Many threads putting at once all get distinct committed entries (group commit)."""
    results: list[Any] = []
    lock = threading.Lock()

    def put(n: int) -> None:
        result = inbox.put(*body(n))
        with lock:
            results.append(result)

    threads = [threading.Thread(target=put, args=(n,)) for n in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.id for r in results}) == 200
    assert inbox.stats()["pending"] == 200


def test_worker_marks_done_and_handler_effects_commit_once(inbox: SQLiteInbox) -> None:
    """A handler writing through current_delivery() commits with the done mark."""
    router = Router()

    @router.on("message")
    def write(n: Notification) -> None:
        ctx = current_delivery()
        ctx.connection.execute("CREATE TABLE IF NOT EXISTS fx (k TEXT)")
        ctx.connection.execute("INSERT INTO fx VALUES (?)", (ctx.idempotency_key,))

    for n in range(5):
        inbox.put(*body(n))
    assert Worker(inbox, router).run_once() == 5
    assert inbox.stats()["done"] == 5
    keys = sqlite3.connect(inbox.path).execute("SELECT k FROM fx").fetchall()
    assert len(keys) == 5
    assert len(set(keys)) == 5


def test_failure_rolls_back_effects_then_retries_with_backoff(
    inbox: SQLiteInbox, clock: Clock
) -> None:
    """A failing handler's writes are undone; the entry waits 2, 4 s...; then it is dead."""
    router = Router()

    @router.on("message")
    def write_then_fail(n: Notification) -> None:
        ctx = current_delivery()
        ctx.connection.execute("CREATE TABLE IF NOT EXISTS fx (k TEXT)")
        ctx.connection.execute("INSERT INTO fx VALUES ('x')")
        raise RuntimeError("boom")

    entry_id = inbox.put(*body(1)).id
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
    conn = sqlite3.connect(inbox.path)
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'fx'").fetchall() == []
    inbox.retry(entry_id)
    entry = inbox.get(entry_id)
    assert (entry.state, entry.attempts) == ("pending", 0)
    with pytest.raises(InboxError, match="no inbox entry 999"):
        inbox.retry(999)


def test_expired_lease_is_reclaimed(inbox: SQLiteInbox, clock: Clock) -> None:
    """An entry claimed by a worker that died is claimed again after the lease."""
    entry_id = inbox.put(*body(1)).id
    (claimed,) = inbox.claim("dead-worker")
    assert claimed.id == entry_id
    assert inbox.claim("other") == []
    clock.now += 11
    (again,) = inbox.claim("other")
    assert (again.id, again.attempts, again.lease_owner) == (entry_id, 2, "other")


def test_late_worker_cannot_mark_done(inbox: SQLiteInbox, clock: Clock) -> None:
    """A worker whose lease was taken over rolls back instead of marking done."""
    inbox.put(*body(1))
    (stale,) = inbox.claim("slow")
    clock.now += 11
    inbox.claim("fast")
    assert inbox.process(stale, "slow", lambda ctx: None) == "claimed"
    assert inbox.stats()["done"] == 0


def test_repeated_crashes_end_in_a_dead_letter(inbox: SQLiteInbox, clock: Clock) -> None:
    """An entry whose worker dies every time becomes dead after max_attempts claims."""
    entry_id = inbox.put(*body(1)).id
    for _ in range(3):
        assert len(inbox.claim("crashing")) == 1
        clock.now += 11
    assert inbox.claim("crashing") == []
    assert inbox.get(entry_id).state == "dead"


def test_release_gives_claims_back(inbox: SQLiteInbox) -> None:
    """Graceful shutdown: released entries are pending again, attempt not counted."""
    inbox.put(*body(1))
    inbox.claim("w")
    assert inbox.release("w") == 1
    (entry,) = inbox.entries()
    assert (entry.state, entry.attempts) == ("pending", 0)


def test_stats_list_show_purge_rejections(inbox: SQLiteInbox, clock: Clock) -> None:
    """Operator views: counts, listing by state, one entry, purge of old done entries."""
    inbox.put(*body(1))
    inbox.put(*body(2))
    inbox.reject(401, "missing or wrong secret header", None, "1.2.3.4:5")
    inbox.flush()
    Worker(inbox, Router()).run_once()
    stats = inbox.stats()
    assert (stats["done"], stats["pending"], stats["rejected_last_24h"]) == (2, 0, 1)
    assert [e.state for e in inbox.entries("done")] == ["done", "done"]
    assert inbox.get(1).as_dict()["body"]["payload"]["delivery"] == "d1"
    assert inbox.rejections()[0]["reason"] == "missing or wrong secret header"
    clock.now += 8 * 86_400
    assert inbox.purge(7 * 86_400) == 2
    assert inbox.stats()["done"] == 0
    with pytest.raises(InboxError, match="unknown state"):
        inbox.entries("lost")


def test_async_handlers_run_in_the_worker(inbox: SQLiteInbox) -> None:
    """Coroutine handlers are awaited by the worker, with current_delivery() available."""
    seen: list[int] = []
    router = Router()

    @router.on("message")
    async def handler(n: Notification) -> None:
        seen.append(current_delivery().entry_id)

    entry_id = inbox.put(*body(1)).id
    Worker(inbox, router).run_once()
    assert seen == [entry_id]


def test_open_inbox_urls(tmp_path: Path) -> None:
    """A path or sqlite:/// opens SQLite; other schemes are refused clearly."""
    open_inbox(str(tmp_path / "a.db")).close()
    open_inbox(f"sqlite:///{tmp_path / 'b.db'}").close()
    with pytest.raises(InboxError, match="unsupported inbox URL scheme 'mysql'"):
        open_inbox("mysql://x")


def test_reopening_keeps_entries(tmp_path: Path) -> None:
    """Entries survive closing and reopening the inbox (the schema is not recreated)."""
    first = SQLiteInbox(tmp_path / "x.db")
    first.put(*body(1))
    first.close()
    second = SQLiteInbox(tmp_path / "x.db")
    try:
        assert second.stats()["pending"] == 1
    finally:
        second.close()


def test_stopping_mid_batch_gives_the_rest_back(inbox: SQLiteInbox) -> None:
    """A worker told to stop finishes the entry in hand and releases the others."""
    for n in range(3):
        inbox.put(*body(n))
    entries = inbox.claim("w")
    calls: list[int] = []

    def run(ctx: Any) -> None:
        calls.append(ctx.entry_id)

    states = inbox.process_batch(entries, "w", run, stopping=lambda: bool(calls))
    assert states == ["done", "pending", "pending"]
    assert [(e.state, e.attempts) for e in reversed(inbox.entries())] == [
        ("done", 1),
        ("pending", 0),
        ("pending", 0),
    ]
