"""Booking revisions in Channex's documented shape, for tests: one, or a booking's chain.

The fields and their forms are those of the Bookings Collection page (money
as strings, dates as ``YYYY-MM-DD``, ``inserted_at`` without an offset, the
card masked); docs/testing.md shows them in use.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

__all__ = ["revision_attributes", "revision_chain"]

_START = dt.datetime(2026, 5, 1, 9, 0, 0)


def revision_attributes(
    *,
    property_id: str,
    booking_id: str | None = None,
    revision_id: str | None = None,
    status: str = "new",
    arrival: dt.date = dt.date(2026, 6, 1),
    nights: int = 2,
    amount: str = "200.00",
    inserted_at: dt.datetime = _START,
    reservation: str = "1556013801",
    **extra: Any,
) -> dict[str, Any]:
    """The attributes of one revision, as the feed and ``GET /booking_revisions/:id`` hold them.

    >>> doc = revision_attributes(property_id="716305c4-561a-4561-a187-7f5b8aeb5920")
    >>> doc["status"], doc["rooms"][0]["days"]
    ('new', {'2026-06-01': '100.00', '2026-06-02': '100.00'})
    """
    departure = arrival + dt.timedelta(days=nights)
    return {
        "id": revision_id or str(uuid.uuid4()),
        "property_id": property_id,
        "booking_id": booking_id or str(uuid.uuid4()),
        "unique_id": f"BDC-{reservation}",
        "system_id": str(uuid.uuid4().int % 10**11),
        "ota_reservation_code": reservation,
        "ota_name": "Booking.com",
        "status": status,
        "rooms": [_room(arrival, nights, amount)],
        "services": [],
        "guarantee": {
            "card_number": "411111******1111",
            "card_type": "VI",
            "cardholder_name": "A Guest",
            "cvv": "***",
            "expiration_date": "12/2030",
        },
        "customer": {"name": "A", "surname": "Guest", "mail": "guest@example.com"},
        "occupancy": {"adults": 2, "children": 0, "infants": 0},
        "arrival_date": arrival.isoformat(),
        "departure_date": departure.isoformat(),
        "arrival_hour": "14:00",
        "amount": amount,
        "currency": "EUR",
        "notes": None,
        "payment_collect": None,
        "payment_type": None,
        "inserted_at": inserted_at.isoformat(),
        **extra,
    }


def _room(arrival: dt.date, nights: int, amount: str) -> dict[str, Any]:
    per_night = f"{float(amount) / nights:.2f}"
    return {
        "amount": amount,
        "checkin_date": arrival.isoformat(),
        "checkout_date": (arrival + dt.timedelta(days=nights)).isoformat(),
        "rate_plan_id": str(uuid.uuid4()),
        "room_type_id": str(uuid.uuid4()),
        "days": {(arrival + dt.timedelta(days=n)).isoformat(): per_night for n in range(nights)},
        "occupancy": {"adults": 2, "children": 0, "infants": 0},
    }


def revision_chain(
    *,
    property_id: str,
    statuses: Sequence[str] = ("new", "modified", "cancelled"),
    start: dt.datetime = _START,
    step: dt.timedelta = dt.timedelta(minutes=5),
    **fields: Any,
) -> list[dict[str, Any]]:
    """The revisions of one booking, in the order Channex received them.

    Every revision has its own ``id`` and ``system_id``; ``booking_id``,
    ``unique_id`` and the reservation code are the booking's.

    >>> chain = revision_chain(property_id="716305c4-561a-4561-a187-7f5b8aeb5920")
    >>> [r["status"] for r in chain], len({r["booking_id"] for r in chain})
    (['new', 'modified', 'cancelled'], 1)
    """
    booking_id = fields.pop("booking_id", None) or str(uuid.uuid4())
    return [
        revision_attributes(
            property_id=property_id,
            booking_id=booking_id,
            status=status,
            inserted_at=start + n * step,
            **fields,
        )
        for n, status in enumerate(statuses)
    ]
