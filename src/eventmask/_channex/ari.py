"""Reading ARI back from Channex: restrictions per rate plan, availability per room type.

Written from Channex's "Availability and Rates" page (docs/ari.md):

* ``GET /api/v1/restrictions?filter[property_id]=…&filter[date][gte]=…&filter[date][lte]=…
  &filter[restrictions]=rate,…``: ``data`` is ``{rate plan id: {date: {restriction: value}}}``;
* ``GET /api/v1/availability?filter[property_id]=…&filter[date][gte]=…&filter[date][lte]=…``:
  ``data`` is ``{room type id: {date: availability}}``.

Both are limited to 10 requests a minute per property (the "Rate Limits"
page).  The answers are turned into items in the shape of an ``ari``
webhook's payload, so that what was read can go to the same handlers as
what was pushed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final

from .._catalogue import is_uuid

__all__ = ["READABLE", "availability_items", "availability_params", "restriction_items",
           "restriction_params"]  # fmt: skip

# The restrictions the read accepts, as the page lists them.
READABLE: Final = (
    "availability",
    "rate",
    "min_stay_arrival",
    "min_stay_through",
    "min_stay",
    "closed_to_arrival",
    "closed_to_departure",
    "stop_sell",
    "max_stay",
    "availability_offset",
    "max_availability",
)


def _dates(first: dt.date, last: dt.date | None) -> dict[str, str]:
    last = first if last is None else last
    if last < first:
        raise ValueError(f"the date range ends ({last}) before it starts ({first})")
    return {"filter[date][gte]": first.isoformat(), "filter[date][lte]": last.isoformat()}


def _property(property_id: str) -> dict[str, str]:
    if not is_uuid(property_id):
        raise ValueError(f"a property id is a UUID, not {property_id[:80]!r}")
    return {"filter[property_id]": property_id}


def restriction_params(
    property_id: str, first: dt.date, last: dt.date | None, restrictions: Iterable[str]
) -> dict[str, str]:
    """The query of a restrictions read; `ValueError` before anything is sent.

    >>> restriction_params("716305c4-561a-4561-a187-7f5b8aeb5920", dt.date(2026, 6, 1), None,
    ...                    ["rate"])["filter[restrictions]"]
    'rate'
    """
    names = list(dict.fromkeys(restrictions))
    unknown = [n for n in names if n not in READABLE]
    if not names or unknown:
        raise ValueError(f"restrictions to read: one or more of {', '.join(READABLE)}"
                         + (f"; not {', '.join(unknown)}" if unknown else ""))  # fmt: skip
    return {**_property(property_id), **_dates(first, last),
            "filter[restrictions]": ",".join(names)}  # fmt: skip


def availability_params(property_id: str, first: dt.date, last: dt.date | None) -> dict[str, str]:
    """The query of an availability read.

    >>> availability_params("716305c4-561a-4561-a187-7f5b8aeb5920", dt.date(2026, 6, 1),
    ...                     dt.date(2026, 6, 2))["filter[date][lte]"]
    '2026-06-02'
    """
    return {**_property(property_id), **_dates(first, last)}


def _mapping(doc: Any, what: str) -> Mapping[str, Any]:
    found = doc.get("data") if isinstance(doc, Mapping) else None
    if not isinstance(found, Mapping):
        raise ValueError(f"Channex answered the {what} read without a data object")
    return found


def restriction_items(doc: Any) -> list[dict[str, Any]]:
    """The answer of a restrictions read as ARI items: one per rate plan and date.

    >>> restriction_items({"data": {"r1": {"2026-06-01": {"rate": "200.00"}}}})
    [{'date': '2026-06-01', 'rate_plan_id': 'r1', 'rate': '200.00'}]
    """
    items = []
    for rate_plan, days in _mapping(doc, "restrictions").items():
        if not isinstance(days, Mapping):
            raise ValueError(f"rate plan {rate_plan}: expected dates, got {type(days).__name__}")
        for day, values in days.items():
            if not isinstance(values, Mapping):
                raise ValueError(f"rate plan {rate_plan}, {day}: expected restrictions")
            items.append({"date": day, "rate_plan_id": rate_plan, **values})
    return items


def availability_items(doc: Any) -> list[dict[str, Any]]:
    """The answer of an availability read as ARI items: one per room type and date.

    >>> availability_items({"data": {"t1": {"2026-06-01": 20}}})
    [{'date': '2026-06-01', 'room_type_id': 't1', 'availability': 20}]
    """
    items: list[dict[str, Any]] = []
    for room_type, days in _mapping(doc, "availability").items():
        if not isinstance(days, Mapping):
            raise ValueError(f"room type {room_type}: expected dates, got {type(days).__name__}")
        items.extend({"date": day, "room_type_id": room_type, "availability": count}
                     for day, count in days.items())  # fmt: skip
    return items
