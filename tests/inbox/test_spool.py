"""The SQLite inbox's intake spool: deliveries are stored while a handler holds the write lock."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventmask import Router
from eventmask._inbox.spool import Spool
from eventmask.inbox import InboxSettings, SQLiteInbox, Worker

from ..helpers import Holder, body, query


@pytest.fixture
def box(tmp_path: Path) -> Iterator[SQLiteInbox]:
    inbox = SQLiteInbox(tmp_path / "inbox.db", InboxSettings(spill_after=0.1))
    yield inbox
    inbox.close()


def test_a_held_lock_spools_the_delivery_at_once(box: SQLiteInbox) -> None:
    """The put returns in about spill_after, durable in the spool; stats count it pending."""
    holder = Holder(box.path)
    try:
        started = time.monotonic()
        stored = box.put(body(1))
        assert time.monotonic() - started < 1.0
        assert (stored.id, stored.duplicate) == (None, False)
        assert stored.idempotency_key.startswith("body:")
        assert query(box.spool.path, "SELECT count(*) FROM eventmask_intake") == [(1,)]
        assert box.stats(done=False)["pending"] == 1
        assert box.health().ok
    finally:
        holder.release()


def test_spooled_deliveries_move_in_and_are_handled_once(box: SQLiteInbox) -> None:
    """Once the lock is free, the next claim moves the spool into the inbox, in order."""
    holder = Holder(box.path)
    try:
        for n in range(3):
            box.put(body(n))
        assert box.put(body(1)).duplicate  # a retry of a spooled body
    finally:
        holder.release()
    seen: list[str] = []
    router = Router()
    router.add("message", lambda n: seen.append(n.raw["payload"]["delivery"]))
    assert Worker(box, router).run_once() == 3
    assert seen == ["d0", "d1", "d2"]
    assert box.spool.count() == 0
    assert box.put(body(2)).duplicate  # still deduplicated once moved


def test_a_body_in_the_inbox_is_a_duplicate_when_spooled(box: SQLiteInbox) -> None:
    """Deduplication looks in both files: the entry already stored keeps its id."""
    first = box.put(body(1))
    holder = Holder(box.path)
    try:
        again = box.put(body(1))
    finally:
        holder.release()
    assert (again.id, again.duplicate) == (first.id, True)
    assert box.spool.count() == 0


def test_a_move_interrupted_before_the_spool_commit_stores_nothing_twice(
    box: SQLiteInbox,
) -> None:
    """A row left in the spool after its move committed is found in the inbox, and dropped."""
    holder = Holder(box.path)
    try:
        box.put(body(1))
    finally:
        holder.release()
    (spooled,) = query(box.spool.path, "SELECT * FROM eventmask_intake")
    box.flush()  # the writer moves the spool on its next commit
    box.put(body(2))
    assert box.spool.count() == 0
    conn = sqlite3.connect(box.spool.path)  # as if the delete had not committed
    conn.execute("INSERT INTO eventmask_intake VALUES (?, ?, ?, ?, ?, ?, ?)", spooled)
    conn.commit()
    conn.close()
    box.put(body(3))
    assert box.spool.count() == 0
    assert query(box.path, "SELECT count(*) FROM eventmask_deliveries") == [(3,)]


def test_no_spool_file_until_a_spill(box: SQLiteInbox) -> None:
    """An inbox whose lock was never held writes no second file."""
    box.put(body(1))
    Worker(box, Router()).run_once()
    assert not Spool(box.path).exists()
