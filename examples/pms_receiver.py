"""An example PMS receiver: the webhook is a trigger, the pull is the truth.

Run it (the secret is the value you set in the Channex webhook's headers):

    EVENTMASK_SECRET=change-me eventmask serve examples.pms_receiver:router --db inbox.db

Channex delivers out of order and sometimes twice, so this receiver never
applies a payload.  It records *what to pull*: the booking revision to fetch
from the booking revisions API, and for ARI changes the date ranges per room
type and rate plan to read back.  A puller (not shown) works through the two
tables and deletes what it has fetched.  Both tables are written through the
inbox worker's transaction (`current_delivery().connection`), so each
delivery is recorded exactly once, even if the process is killed mid-way.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from eventmask import BookingPayload, Notification, Router
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
)


def _db() -> Any:
    connection = current_delivery().connection
    for statement in _SCHEMA:
        connection.execute(statement)
    return connection


@router.on("booking_new;booking_modification;booking_cancellation")
def booking_changed(n: Notification) -> None:
    """Remember the revision to pull; a second delivery of it changes nothing."""
    payload = n.payload
    revision = payload.revision_id if isinstance(payload, BookingPayload) else None
    if revision is None:  # signal-only delivery (send_data: false): pull the feed instead
        revision = f"feed:{n.property_id}"
    booking = payload.booking_id if isinstance(payload, BookingPayload) else None
    _db().execute(
        "INSERT OR IGNORE INTO revisions_to_pull VALUES (?, ?, ?, ?, ?)",
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
        if ranges and day - ranges[-1][1] <= dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


@router.on("ari")
def ari_changed(n: Notification) -> None:
    """Merge the changed dates into ranges per room type and rate plan."""
    if n.signal_only:
        return  # no items to narrow down: the puller reads the whole window
    changed: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
    for item in n.items:
        if item.date is not None:
            changed[item.room_type_id or "*", item.rate_plan_id or "*"].append(item.date)
    db = _db()
    for (room, rate), dates in changed.items():
        key = (n.property_id or "", room, rate)
        # Fold in the ranges already waiting for this key, so the table stays small.
        waiting = db.execute(
            "SELECT date_from, date_to FROM ari_to_pull "
            "WHERE property_id = ? AND room_type_id = ? AND rate_plan_id = ?",
            key,
        ).fetchall()
        for start, end in waiting:
            first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
            dates.extend(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
        db.execute(
            "DELETE FROM ari_to_pull "
            "WHERE property_id = ? AND room_type_id = ? AND rate_plan_id = ?",
            key,
        )
        db.executemany(
            "INSERT INTO ari_to_pull VALUES (?, ?, ?, ?, ?)",
            [(*key, a.isoformat(), b.isoformat()) for a, b in coalesce(dates)],
        )
