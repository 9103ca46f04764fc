"""A group commit's inserts into SQLite: the batch's answers are those of one at a time.

The oracle stores the same deliveries one after another with `SQLiteInbox._insert`
(the path spooled deliveries still take): a lookup by body, one by revision, an
insert, each delivery seeing every one stored before it.  The batch must give the
same results and leave the same rows.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from eventmask._inbox.engine import dedup_keys, idempotency_key
from eventmask._inbox.sqlite_puts import insert_batch
from eventmask._inbox.sqlite_sql import INSERT
from eventmask.inbox import Envelope, InboxSettings, PutResult, SQLiteInbox
from tests.helpers import envelope

WINDOW = 100.0
COLUMNS = (
    "id, received_at, event, property_id, body, body_hash, revision_key, idempotency_key, "
    "available_at, state"
)

Store = Callable[[Any, SQLiteInbox, list[Envelope], float], list[PutResult]]


def one_at_a_time(conn: Any, inbox: SQLiteInbox, batch: list[Envelope], now: float) -> list[Any]:
    results = []
    for delivery in batch:
        digest, revision = dedup_keys(delivery, inbox.settings.dedup_revisions)
        row = (now, delivery.event, delivery.property_id, delivery.body, digest, revision)
        results.append(inbox._insert(conn, row))
    return results


def batched(conn: Any, inbox: SQLiteInbox, batch: list[Envelope], now: float) -> list[Any]:
    return insert_batch(conn, batch, now, inbox.settings)


def run(
    store: Store,
    batches: list[tuple[float, list[Envelope]]],
    revisions: bool,
    seed: Sequence[Envelope] = (),
) -> Any:
    """Each batch in its own transaction at its time; the results and the rows left.

    `seed` goes in first without deduplication, as entries that share a key can
    (a booking revision fetched from the feed and a webhook naming the same one).
    """
    path = Path(tempfile.mkdtemp()) / "inbox.db"
    inbox = SQLiteInbox(path, InboxSettings(dedup_window=WINDOW, dedup_revisions=revisions))
    try:
        results = []
        with inbox.connection() as conn:
            for delivery in seed:
                digest, revision = dedup_keys(delivery, revisions)
                row = (1_000.0, delivery.event, delivery.property_id, delivery.body, digest)
                key = idempotency_key(digest, revision)
                conn.execute(INSERT, (*row, revision, key, 1_000.0))
            for now, batch in batches:
                conn.execute("BEGIN IMMEDIATE")
                results.append(store(conn, inbox, batch, now))
                conn.execute("COMMIT")
            rows = conn.execute(f"SELECT {COLUMNS} FROM eventmask_deliveries ORDER BY id")
            return results, rows.fetchall()
    finally:
        inbox.close()


def delivery(body: int, revision: str | None, event: str) -> Envelope:
    payload: dict[str, Any] = {"n": body}
    if revision is not None:
        payload["revision_id"] = revision
    return envelope({"event": event, "property_id": "p", "payload": payload})


# Few bodies and revisions, so that duplicates within a batch, across batches and
# across the window's edge are common; "R1" and "r1" are one revision key.
deliveries = st.builds(
    delivery,
    st.integers(0, 3),
    st.sampled_from([None, "R1", "r1", "R2"]),
    st.sampled_from(["booking", "booking_new", "message"]),
)
steps = st.sampled_from([0.0, 1.0, WINDOW / 2, WINDOW, WINDOW + 1])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(steps, st.lists(deliveries, min_size=1, max_size=10)), max_size=6),
    st.booleans(),
    st.lists(deliveries, max_size=4),
)
def test_a_batch_answers_as_one_at_a_time(
    plan: list[tuple[float, list[Envelope]]], revisions: bool, seed: list[Envelope]
) -> None:
    now, batches = 1_000.0, []
    for step, batch in plan:
        now += step
        batches.append((now, batch))
    expected = run(one_at_a_time, batches, revisions, seed)
    assert run(batched, batches, revisions, seed) == expected


def test_an_earlier_delivery_of_the_batch_counts() -> None:
    """A body twice in one batch, and a revision under two bodies: one entry each."""
    first, again = delivery(1, None, "message"), delivery(1, None, "message")
    booking, late = delivery(2, "R9", "booking"), delivery(3, "r9", "booking_new")
    (results,), rows = run(batched, [(1_000.0, [first, again, booking, late])], True)
    assert [(r.id, r.duplicate) for r in results] == [(1, False), (1, True), (2, False), (2, True)]
    assert results[3].idempotency_key == "revision:r9"
    assert [row[0] for row in rows] == [1, 2]


def test_ids_continue_after_the_newest_entry() -> None:
    """New rows take the ids SQLite would give: one past the newest, also after a delete."""
    path = Path(tempfile.mkdtemp()) / "inbox.db"
    inbox = SQLiteInbox(path)
    try:
        inbox.put(delivery(1, None, "message"))
        newest = inbox.put(delivery(2, None, "message"))
        with inbox.connection() as conn:
            conn.execute("DELETE FROM eventmask_deliveries WHERE id = ?", (newest.id,))
        results = [inbox.put(delivery(n, None, "message")) for n in (3, 4)]
        assert [r.id for r in results] == [newest.id, newest.id + 1]
    finally:
        inbox.close()


def test_revision_index_holds_only_revisions() -> None:
    """Version 8: the revision index is partial, and lookups by revision still use it."""
    inbox = SQLiteInbox(Path(tempfile.mkdtemp()) / "inbox.db")
    try:
        with inbox.connection() as conn:
            (sql,) = conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'eventmask_deliveries_revision'"
            ).fetchone()
            assert sql.endswith("WHERE revision_key IS NOT NULL")
            plan = " ".join(
                str(row[-1])
                for row in conn.execute(
                    "EXPLAIN QUERY PLAN SELECT id FROM eventmask_deliveries "
                    "WHERE revision_key = ? AND received_at >= ?",
                    ("revision:r1", 0.0),
                )
            )
            assert "INDEX eventmask_deliveries_revision" in plan
    finally:
        inbox.close()
