"""Aggregates over the ARI items a filter selects: counts per group, and the latest state.

``eventmask filter --count-by FIELDS`` and ``--latest`` (docs/filter.md,
"Counting and the latest state").  Both read the narrowed notifications the
filter yields, so the mask and the predicates have already chosen the items,
and both keep one small record per group: memory grows with the number of
groups, never with the number of lines.

A *cell* is one (property, room type, rate plan, date, restriction): the
smallest thing ARI sets.  Values print as Channex means them: a rate as a
decimal whichever form it came in (``24833`` minor units is ``248.33``), a
flag as true or false; a value eventmask cannot read prints as sent.  An
item carrying several restrictions is one value for each.  Only the
restrictions the mask asks for count: under ``ari:rate:*:*`` an item's
``min_stay`` is not a rate change.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final

import attrs

from .._catalogue import ARI_ID_KEYS
from .._errors import PredicateError
from .._json import loads
from .._language.items import AriFilter, Wildcard
from .._language.mask import Mask
from .values import parse_timestamp, restriction_value

__all__ = ["CELL", "FIELDS", "Counter", "Latest", "asked_restrictions", "changes"]

# What a group or a cell is made of.
CELL: Final = ("property_id", "room_type_id", "rate_plan_id", "date", "restriction")
FIELDS: Final = (*CELL, "event", "user_id")


def asked_restrictions(mask: Mask) -> frozenset[str] | None:
    """The restriction keys the mask selects items for (None: every key).

    >>> from eventmask import parse
    >>> sorted(asked_restrictions(parse("ari:rate,stop_sell:*:*")))
    ['rate', 'stop_sell']
    >>> asked_restrictions(parse("ari")) is None
    True
    """
    names: set[str] = set()
    for item in mask.items:
        if isinstance(item, Wildcard):
            return None
        if isinstance(item, AriFilter):
            if item.restrictions is None:
                return None
            names |= item.restrictions
    return frozenset(names)


def fields_of(text: str) -> tuple[str, ...]:
    """``--count-by`` as a tuple of known fields (`PredicateError` naming an unknown one).

    >>> fields_of("rate_plan_id,date")
    ('rate_plan_id', 'date')
    """
    out = []
    at = 0
    for name in text.split(","):
        field = name.strip()
        if field not in FIELDS:
            known = ", ".join(FIELDS)
            raise PredicateError(f"unknown field {field!r}: one of {known}", text, at)
        out.append(field)
        at += len(name) + 1
    return tuple(out)


def changes(lines: Iterable[bytes], wanted: frozenset[str] | None) -> Iterator[dict[str, Any]]:
    """One record per cell change in narrowed ARI notifications: the cell, its value as sent,
    the value as Channex means it, and the notification's ``timestamp`` and ``user_id``."""
    for line in lines:
        doc = loads(line)
        if doc.get("event") != "ari" or doc.get("payload").__class__ is not list:
            continue
        base = {"property_id": doc.get("property_id"), "event": "ari",
                "user_id": doc.get("user_id"), "timestamp": doc.get("timestamp")}  # fmt: skip
        for item in doc["payload"]:
            if not isinstance(item, Mapping):
                continue
            for key, raw in item.items():
                if key in ARI_ID_KEYS or (wanted is not None and key not in wanted):
                    continue
                try:
                    value = restriction_value(key, raw)
                except (KeyError, ValueError):
                    value = None  # an unknown restriction, or a bad value: counted, not valued
                yield {**base, "room_type_id": item.get("room_type_id"),
                       "rate_plan_id": item.get("rate_plan_id"), "date": item.get("date"),
                       "restriction": key, "raw": raw, "value": value}  # fmt: skip


def _numeric(value: object) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


@attrs.define(slots=True)
class _Group:
    count: int = 0
    low: Any = None
    high: Any = None
    last: Any = None


class Counter:
    """Counts per group of `fields`, with the minimum, maximum and last value where numeric.

    >>> c = Counter(("restriction",))
    >>> for v in (3, 1, 2):
    ...     c.add({"restriction": "min_stay", "value": v, "raw": v})
    >>> c.rows()
    [{'restriction': 'min_stay', 'count': 3, 'min': 1, 'max': 3, 'last': 2}]
    """

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self.groups: dict[tuple[Any, ...], _Group] = {}

    def add(self, change: Mapping[str, Any]) -> None:
        """Count one cell change in its group."""
        key = tuple(change.get(f) for f in self.fields)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = _Group()
        group.count += 1
        value = change["value"]
        group.last = change["raw"] if value is None else value
        if _numeric(value):
            group.low = value if group.low is None or value < group.low else group.low
            group.high = value if group.high is None or value > group.high else group.high

    def rows(self) -> list[dict[str, Any]]:
        """One row per group, the largest count first (ties in the fields' order)."""
        ordered = sorted(self.groups.items(),
                         key=lambda kv: (-kv[1].count, [str(k) for k in kv[0]]))  # fmt: skip
        return [
            {
                **dict(zip(self.fields, key, strict=True)),
                "count": g.count,
                "min": g.low,
                "max": g.high,
                "last": g.last,
            }
            for key, g in ordered
        ]


class Latest:
    """The last value of each cell: by the notification's timestamp, the log's order
    breaking ties (webhooks arrive out of order; the timestamp says when Channex sent it).

    >>> state = Latest()
    >>> state.add({"property_id": "p", "room_type_id": "r", "rate_plan_id": None,
    ...            "date": "2026-06-01", "restriction": "availability", "raw": 2,
    ...            "value": 2, "timestamp": "2026-05-01T10:00:00Z", "user_id": None})
    >>> [row["value"] for row in state.rows()]
    [2]
    """

    def __init__(self) -> None:
        self.cells: dict[tuple[Any, ...], tuple[Any, dict[str, Any]]] = {}

    def add(self, change: Mapping[str, Any]) -> None:
        """Keep `change` if it is the cell's latest so far."""
        key = tuple(change.get(f) for f in CELL)
        stamp = change.get("timestamp")
        try:
            when = parse_timestamp(stamp) if isinstance(stamp, str) else None
        except ValueError:
            when = None
        held = self.cells.get(key)
        if held is not None and held[0] is not None and (when is None or when < held[0]):
            return
        value = change["raw"] if change["value"] is None else change["value"]
        row = {**{f: change.get(f) for f in CELL}, "value": value,
               "timestamp": stamp, "user_id": change.get("user_id")}  # fmt: skip
        self.cells[key] = (when, row)

    def rows(self) -> list[dict[str, Any]]:
        """One row per cell, in the cell's order."""
        return [row for _, (_, row) in sorted(self.cells.items(),
                                              key=lambda kv: [str(k) for k in kv[0]])]  # fmt: skip
