"""`AriChange`: one ARI item, typed.

Channex sends only the restrictions that changed, so an item is sparse: a
field is None when its key was not sent (`changes` says exactly which were).
`rate` is a `Decimal` in both of Channex's forms (docs/routing.md, "What a
handler receives").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from .._catalogue import ARI_ID_KEYS, COUNT_RESTRICTIONS, FLAG_RESTRICTIONS
from .._errors import FieldError
from .values import opt_bool, opt_int, opt_str, parse_rate, read_date, read_field

__all__ = ["AriChange"]

# The typed fields below are checked against the catalogue by the tests
# (tests/routing/test_ari.py): one field per restriction.
_COUNTS = COUNT_RESTRICTIONS
_FLAGS = FLAG_RESTRICTIONS


@attrs.frozen(slots=True, kw_only=True)
class AriChange:
    """One ARI item: a date, its room type and rate plan, and what changed.

    Every item has a `date` (an item without one raises `FieldError`).  Each
    restriction is a typed field, None when the item did not carry it;
    `changes` holds exactly the restriction keys present (unknown ones too).
    `rate` is a `Decimal` whichever form Channex used; `rate_raw` keeps the
    value as sent.  `raw` is the item mapping itself, unchanged.

    >>> change = AriChange.from_item({"date": "2026-05-01", "rate": 11100, "stop_sell": False})
    >>> change.rate, change.stop_sell, change.availability, "stop_sell" in change
    (Decimal('111.00'), False, None, True)
    """

    date: dt.date
    room_type_id: str | None
    rate_plan_id: str | None
    changes: Mapping[str, Any]
    rate: Decimal | None
    rate_raw: Any
    availability: int | None = None
    availability_offset: int | None = None
    booked: int | None = None
    max_availability: int | None = None
    max_stay: int | None = None
    min_stay: int | None = None
    min_stay_arrival: int | None = None
    min_stay_through: int | None = None
    closed_to_arrival: bool | None = None
    closed_to_departure: bool | None = None
    stop_sell: bool | None = None
    stop_sell_manual: bool | None = None
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> AriChange:
        """Build the typed view of one item mapping.

        Raises `FieldError` (a `NotificationError` naming the key) on a bad value.

        >>> AriChange.from_item({"date": "2026-05-01", "rate": "99.5", "booked": 2}).booked
        2
        """
        date = read_field(item, "date", read_date)
        if date is None:
            # Channex dates every ARI item (docs/routing.md): one without is malformed.
            raise FieldError("date", "an ARI item needs a date (YYYY-MM-DD)")
        typed: dict[str, Any] = {n: read_field(item, n, opt_int) for n in _COUNTS if n in item}
        typed.update((n, read_field(item, n, opt_bool)) for n in _FLAGS if n in item)
        return cls(
            date=date,
            room_type_id=read_field(item, "room_type_id", opt_str),
            rate_plan_id=read_field(item, "rate_plan_id", opt_str),
            changes={k: v for k, v in item.items() if k not in ARI_ID_KEYS},
            rate=read_field(item, "rate", parse_rate),
            rate_raw=item.get("rate"),
            raw=item,
            **typed,
        )

    def __contains__(self, restriction: object) -> bool:
        return restriction in self.changes
