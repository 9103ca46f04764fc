"""An example PMS receiver: the webhook is a trigger, the pull is the truth.

Run it (the secret is the value you set in the Channex webhook's headers):

    EVENTMASK_SECRET=change-me-to-a-long-secret eventmask serve examples.pms_receiver:router \\
        --db inbox.db

Channex delivers out of order and sometimes twice, so this receiver never
applies a payload.  It records *what to pull*: the booking revision to fetch
from the booking revisions API, and for ARI changes the date ranges per room
type and rate plan to read back.  A puller (not shown) works through the two
tables and deletes what it has fetched.  Both tables are written through the
inbox worker's transaction (`current_delivery().connection`), so each
delivery is recorded exactly once, even if the process is killed mid-way.
The same code runs on a SQLite and a PostgreSQL inbox.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from eventmask import Notification, Router
from eventmask.inbox import current_delivery

router = Router()

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS revisions_to_pull (
        revision_id TEXT PRIMARY KEY,
        booking_id TEXT,
        property_id TEXT,
        event TEXT NOT NULL,
        received_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS ari_to_pull (
        property_id TEXT NOT NULL,
        room_type_id TEXT NOT NULL,
        rate_plan_id TEXT NOT NULL,
        date_from TEXT NOT NULL,
        date_to TEXT NOT NULL
    )""",
    # Finding the ranges a change touches is one indexed lookup, however many
    # ranges wait: a delivery's cost does not grow with what is stored.
    "CREATE INDEX IF NOT EXISTS ari_to_pull_key "
    "ON ari_to_pull (property_id, room_type_id, rate_plan_id, date_from)",
)
_DAY = dt.timedelta(days=1)


def _db() -> tuple[Any, str]:
    """The worker's connection, with its tables, and its placeholder (? or %s)."""
    delivery = current_delivery()
    connection = delivery.connection
    for statement in _SCHEMA:
        connection.execute(statement)
    return connection, "?" if delivery.backend == "sqlite" else "%s"


# `booking` fires for every revision and the specific events for the same
# revisions too; recording is idempotent (one row per revision), so taking
# all of them loses nothing and records each revision once.
@router.on("booking;booking_new;booking_modification;booking_cancellation")
def booking_changed(n: Notification) -> None:
    """Remember the revision to pull; a second delivery of it changes nothing."""
    revision = booking = None
    if not n.signal_only:
        revision, booking = n.booking.revision_id, n.booking.booking_id
    if revision is None:  # no data (send_data: false): pull the property's feed instead
        revision = f"feed:{n.property_id}"
    db, mark = _db()
    db.execute(
        f"INSERT INTO revisions_to_pull VALUES ({', '.join([mark] * 5)}) "
        "ON CONFLICT (revision_id) DO NOTHING",
        (
            revision,
            booking,
            n.property_id,
            n.event,
            n.timestamp.isoformat() if n.timestamp else None,
        ),
    )


def coalesce(dates: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive dates as inclusive ranges.

    >>> d = dt.date.fromisoformat
    >>> ranges = coalesce([d("2026-05-03"), d("2026-05-01"), d("2026-05-02"), d("2026-05-07")])
    >>> [(a.isoformat(), b.isoformat()) for a, b in ranges]
    [('2026-05-01', '2026-05-03'), ('2026-05-07', '2026-05-07')]
    """
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(dates)):
        if ranges and day - ranges[-1][1] <= _DAY:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def merge(ranges: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    """Ranges that overlap or touch, merged.

    >>> d = dt.date.fromisoformat
    >>> merge([(d("2026-05-04"), d("2026-05-09")), (d("2026-05-01"), d("2026-05-03"))])
    [(datetime.date(2026, 5, 1), datetime.date(2026, 5, 9))]
    """
    out: list[tuple[dt.date, dt.date]] = []
    for start, end in sorted(ranges):
        if out and start - out[-1][1] <= _DAY:
            out[-1] = (out[-1][0], max(end, out[-1][1]))
        else:
            out.append((start, end))
    return out


def _waiting_near(
    db: Any, mark: str, key: tuple[str, str, str], low: str, high: str
) -> list[tuple[str, str]]:
    """The waiting ranges of `key` that overlap or touch [low, high]: two index probes."""
    where = f"property_id = {mark} AND room_type_id = {mark} AND rate_plan_id = {mark}"
    inside = db.execute(
        f"SELECT date_from, date_to FROM ari_to_pull WHERE {where} "
        f"AND date_from >= {mark} AND date_from <= {mark}",
        (*key, low, high),
    ).fetchall()
    # Ranges never overlap each other: only the last one starting before `low`
    # can reach into [low, high].
    before = db.execute(
        f"SELECT date_from, date_to FROM ari_to_pull WHERE {where} AND date_from < {mark} "
        "ORDER BY date_from DESC LIMIT 1",
        (*key, low),
    ).fetchall()
    found = [(a, b) for a, b in inside] + [(a, b) for a, b in before if b >= low]
    for start, _ in found:
        db.execute(f"DELETE FROM ari_to_pull WHERE {where} AND date_from = {mark}", (*key, start))
    return found


@router.on("ari")
def ari_changed(n: Notification) -> None:
    """Merge the changed dates into the ranges waiting per room type and rate plan.

    A delivery costs a few index probes per changed range, however many
    ranges are already waiting.
    """
    if n.signal_only:
        return  # no items to narrow down: the puller reads the whole window
    changed: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
    for item in n.items:
        if item.date is not None:
            changed[item.room_type_id or "*", item.rate_plan_id or "*"].append(item.date)
    db, mark = _db()
    for (room, rate), dates in changed.items():
        key = (n.property_id or "", room, rate)
        ranges = coalesce(dates)
        for start, end in list(ranges):
            low, high = (start - _DAY).isoformat(), (end + _DAY).isoformat()
            for a, b in _waiting_near(db, mark, key, low, high):
                ranges.append((dt.date.fromisoformat(a), dt.date.fromisoformat(b)))
        db.executemany(
            f"INSERT INTO ari_to_pull VALUES ({', '.join([mark] * 5)})",
            [(*key, a.isoformat(), b.isoformat()) for a, b in merge(ranges)],
        )
