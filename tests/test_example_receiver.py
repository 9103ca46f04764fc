"""The example receiver in examples/pms_receiver.py records what to pull, exactly once."""

from __future__ import annotations

import importlib
import sqlite3
from pathlib import Path

from eventmask.inbox import SQLiteInbox, Worker

from .conftest import CHANNEX
from .helpers import envelope, loads

example = importlib.import_module("examples.pms_receiver")
RT, RP = "27e24739-239c-4619-9c30-0dc390f5d7ac", "04c607e4-644d-45ea-ab1a-da920ee36e50"


def _put(inbox: SQLiteInbox, doc: dict[str, object]) -> None:
    inbox.put(envelope(doc))


def ari(*days: int) -> dict[str, object]:
    items = [
        {"date": f"2026-05-{d:02d}", "room_type_id": RT, "rate_plan_id": RP, "rate": "100.00"}
        for d in days
    ]
    return {"event": "ari", "property_id": "p1", "payload": items}


def test_bookings_and_ari_ranges(tmp_path: Path) -> None:
    """Booking revisions are recorded once; ARI dates coalesce into ranges across deliveries."""
    inbox = SQLiteInbox(tmp_path / "inbox.db")
    try:
        booking = loads((CHANNEX / "notification-booking.json").read_bytes())
        _put(inbox, {**booking, "event": "booking_new"})
        _put(inbox, {**booking, "event": "booking_modification"})  # the same revision again
        _put(inbox, {**booking, "event": "booking"})  # not routed by the example
        _put(inbox, ari(1, 2, 3, 7))
        _put(inbox, ari(4, 9))
        _put(inbox, {"event": "ari", "property_id": "p1"})  # signal-only
        worker = Worker(inbox, example.router)
        while worker.run_once():
            pass
        assert inbox.stats()["done"] == 6
    finally:
        inbox.close()
    db = sqlite3.connect(tmp_path / "inbox.db")
    revisions = db.execute("SELECT revision_id, event FROM revisions_to_pull").fetchall()
    assert revisions == [("80b3b60c-5e24-35c5-ad1b-da67cd704093", "booking_new")]
    ranges = db.execute("SELECT date_from, date_to FROM ari_to_pull ORDER BY date_from").fetchall()
    assert ranges == [
        ("2026-05-01", "2026-05-04"),
        ("2026-05-07", "2026-05-07"),
        ("2026-05-09", "2026-05-09"),
    ]


def test_the_documented_booking_example_produces_a_pull(tmp_path: Path) -> None:
    """Channex's documented `booking` notification, alone, records its revision."""
    inbox = SQLiteInbox(tmp_path / "inbox.db")
    try:
        _put(inbox, loads((CHANNEX / "notification-booking.json").read_bytes()))
        Worker(inbox, example.router).run_once()
    finally:
        inbox.close()
    db = sqlite3.connect(tmp_path / "inbox.db")
    assert db.execute("SELECT revision_id, event FROM revisions_to_pull").fetchall() == [
        ("80b3b60c-5e24-35c5-ad1b-da67cd704093", "booking")
    ]


def _traced_delivery(conn: sqlite3.Connection, doc: dict[str, object]) -> list[str]:
    """The statements one delivery runs, by the example's handlers, on `conn`."""
    from eventmask.inbox import DeliveryContext, delivery_context

    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    with delivery_context(DeliveryContext(conn, 1, "k", 1, "ari", "sqlite")):
        example.router.dispatch(doc).raise_for_errors()
    conn.set_trace_callback(None)
    return statements


def test_an_ari_delivery_costs_the_same_however_many_ranges_wait(tmp_path: Path) -> None:
    """The same statements, through the index, with 1 or 1,000 ranges already waiting."""
    few = sqlite3.connect(tmp_path / "few.db", isolation_level=None)
    many = sqlite3.connect(tmp_path / "many.db", isolation_level=None)
    _traced_delivery(few, ari(1))
    for month in range(1, 13):  # 1,000 separate ranges waiting for the same key
        for day in range(1, 29, 2):
            items = [{"date": f"20{20 + d}-{month:02d}-{day:02d}", "room_type_id": RT,
                      "rate_plan_id": RP, "rate": "1.00"} for d in range(6)]  # fmt: skip
            _traced_delivery(many, {"event": "ari", "property_id": "p1", "payload": items})
    waiting = many.execute("SELECT count(*) FROM ari_to_pull").fetchone()[0]
    assert waiting >= 1_000
    assert len(_traced_delivery(few, ari(20))) == len(_traced_delivery(many, ari(20)))
    for statement in _traced_delivery(many, ari(21)):
        if statement.startswith("SELECT") and "ari_to_pull" in statement:
            plan = " ".join(str(r[-1]) for r in many.execute(f"EXPLAIN QUERY PLAN {statement}"))
            assert "USING INDEX ari_to_pull_key" in plan, plan
            # It reads the ranges near the change, not every range of the key.
            assert len(many.execute(statement).fetchall()) <= 2


def test_as_channex_delivers_it_through_the_testing_kit(tmp_path: Path) -> None:
    """Repeats, out of order, both spellings of a revision: still one pull and the same ranges."""
    from eventmask.testing import ari as ari_notification
    from eventmask.testing import ari_item, booking_revision, harness

    revision = "5c6e8f0a-1b2c-4d3e-8f4a-5b6c7d8e9f00"
    changes = [
        ari_notification(
            *(
                ari_item(f"2026-05-{d:02d}", room_type_id=RT, rate_plan_id=RP, rate=100)
                for d in days
            ),
            property_id="p1",
        )
        for days in ((1, 2, 3, 7), (4, 9))
    ]
    with harness(example.router, directory=tmp_path, workers=2) as h:
        done = h.deliver(
            [*booking_revision("booking_new", revision_id=revision), *changes],
            duplicates=0.5,
            shuffle=True,
            seed=7,
        )
        h.drain()
    assert done.duplicates == len(done.sent) - 4
    db = sqlite3.connect(tmp_path / "inbox.db")
    assert db.execute("SELECT revision_id FROM revisions_to_pull").fetchall() == [(revision,)]
    ranges = db.execute("SELECT date_from, date_to FROM ari_to_pull ORDER BY date_from").fetchall()
    assert ranges == [
        ("2026-05-01", "2026-05-04"),
        ("2026-05-07", "2026-05-07"),
        ("2026-05-09", "2026-05-09"),
    ]
