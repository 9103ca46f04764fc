"""Predicates on values, dates and times, beside a mask: what ``filter --where`` and
``--dates``, ``--since`` and ``--until`` ask (docs/filter.md, "Values, dates and times").

A mask selects ARI items by the restriction keys they carry; a predicate
asks about the values.  They follow Channex's value semantics:

- ``rate`` compares as a decimal whichever form it arrived in (``"111.00"``
  or ``11100`` minor units: docs/routing.md);
- the counts (``availability``, ``min_stay``...) compare as integers, the
  flags (``stop_sell``, ``closed_to_arrival``...) as booleans, ``0``/``1``
  included as older feeds send them;
- an item that lacks the key does not match, whatever the comparison.

Item predicates (``--where``, ``--dates``) narrow ARI payloads as the mask
does; a notification left with no item does not match, and one of another
event has no item to ask about.  Time predicates (``--since``, ``--until``)
take the notification's ``timestamp``; without one it does not match.
"""

from __future__ import annotations

import datetime as dt
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, Literal

import attrs

from .._catalogue import COUNT_RESTRICTIONS, FLAG_RESTRICTIONS, PRICE_RESTRICTIONS
from .._errors import PredicateError
from .values import parse_timestamp, restriction_value

__all__ = ["Comparison", "Predicates"]

Operator = Literal["=", "!=", "<", "<=", ">", ">="]

_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
# Longest first, so that ``>=`` is not read as ``>`` and ``=100``.
_WHERE: Final = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(!=|<=|>=|=|<|>)\s*(.*?)\s*")
_DAY: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def _literal(key: str, text: str) -> Any:
    """The comparison's value, read as the key's values are (raise ValueError)."""
    if key in FLAG_RESTRICTIONS:
        word = text.lower()
        if word not in ("true", "false"):
            raise ValueError(f"{key} is true or false, not {text!r}")
        return word == "true"
    if key in COUNT_RESTRICTIONS:
        if not re.fullmatch(r"-?\d+", text):
            raise ValueError(f"{key} is a whole number, not {text!r}")
        return int(text)
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        raise ValueError(f"{key} is a decimal amount such as 100.00, not {text!r}")
    return Decimal(text)


@attrs.frozen(slots=True)
class Comparison:
    """One ``--where``: a restriction, an operator and a value of the restriction's type.

    >>> c = Comparison.parse("rate>=100.00")
    >>> c.holds({"rate": 11100}), c.holds({"rate": "99.99"}), c.holds({"booked": 1})
    (True, False, False)
    """

    key: str
    op: Operator
    value: Any
    # A rate sent in minor units compares with the value in minor units: the
    # same answer as the Decimal it means (scaling by 100 is exact and keeps
    # order), without building one per item.  An int when the value allows.
    _minor: Any = attrs.field(init=False, eq=False, repr=False,
                              default=attrs.Factory(lambda self: _in_minor_units(self),
                                                    takes_self=True))  # fmt: skip
    _compare: Callable[[Any, Any], bool] = attrs.field(
        init=False, eq=False, repr=False,
        default=attrs.Factory(lambda self: _COMPARE[self.op], takes_self=True))  # fmt: skip

    @classmethod
    def parse(cls, text: str) -> Comparison:
        """Read ``KEY OP VALUE``; a `PredicateError` with a caret names what is wrong.

        >>> Comparison.parse("stop_sell != false").value
        False
        >>> try:
        ...     Comparison.parse("rates>1")
        ... except PredicateError as err:
        ...     print(err.message[:28], err.position)
        unknown restriction 'rates':  0
        """
        found = _WHERE.fullmatch(text)
        if found is None:
            raise PredicateError(
                "expected RESTRICTION OP VALUE, such as rate>=100.00 (OP: = != < <= > >=)",
                text,
                0,
            )
        key, op, value = found.groups()
        if key not in PRICE_RESTRICTIONS + COUNT_RESTRICTIONS + FLAG_RESTRICTIONS:
            known = ", ".join(PRICE_RESTRICTIONS + COUNT_RESTRICTIONS + FLAG_RESTRICTIONS)
            raise PredicateError(
                f"unknown restriction {key!r}: one of {known}", text, found.start(1)
            )
        if key in FLAG_RESTRICTIONS and op not in ("=", "!="):
            raise PredicateError(f"{key} is true or false: compare it with = or !=", text,
                                 found.start(2))  # fmt: skip
        try:
            typed = _literal(key, value)
        except ValueError as exc:
            raise PredicateError(str(exc), text, found.start(3)) from None
        return cls(key, op, typed)  # type: ignore[arg-type]

    def holds(self, item: Mapping[str, Any]) -> bool:
        """Whether `item` carries the key with a value that compares true.

        A value of the wrong type (a rate that is not a number) does not match.
        """
        return self.key in item and self.holds_value(item[self.key])

    def holds_value(self, raw: object) -> bool:
        """Whether the key's value `raw`, as sent, compares true.

        >>> Comparison.parse("rate>=100.00").holds_value("99.99")
        False
        """
        if raw.__class__ is int and self._minor is not None:
            return self._compare(raw, self._minor)
        try:
            value = restriction_value(self.key, raw)
        except ValueError:
            return False
        return value is not None and self._compare(value, self.value)


def _in_minor_units(comparison: Comparison) -> int | Decimal | None:
    """A price comparison's value in minor units (None for another key)."""
    if comparison.key not in PRICE_RESTRICTIONS:
        return None
    minor: Decimal = comparison.value.scaleb(2)
    return int(minor) if minor == minor.to_integral_value() else minor


def _day(text: str, whole: str, at: int) -> str:
    try:
        if not _DAY.fullmatch(text):
            raise ValueError
        dt.date.fromisoformat(text)
    except ValueError:
        raise PredicateError(f"expected a date YYYY-MM-DD, not {text!r}", whole, at) from None
    return text


def _instant(value: float | dt.datetime | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return dt.datetime.fromtimestamp(value, dt.UTC)


@attrs.frozen(slots=True, kw_only=True)
class Predicates:
    """What a filter asks beyond its mask: item dates, item values, and a time window.

    `dates` is ``(first, last)`` as ``YYYY-MM-DD`` strings, both included
    (ISO dates compare as text); `since` and `until` bound the
    notification's ``timestamp`` (``since`` included, ``until`` not).

    >>> p = Predicates.of(dates="2026-06-01..2026-06-30", where=["closed_to_arrival=true"])
    >>> p.item({"date": "2026-06-10", "closed_to_arrival": True})
    True
    >>> p.item({"date": "2026-07-01", "closed_to_arrival": True})
    False
    """

    dates: tuple[str, str] | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    where: tuple[Comparison, ...] = ()

    @classmethod
    def of(
        cls,
        *,
        dates: str | None = None,
        since: float | dt.datetime | None = None,
        until: float | dt.datetime | None = None,
        where: Iterable[str] = (),
    ) -> Predicates:
        """Read the predicates as the command line gives them (`PredicateError` if wrong).

        `dates` is ``FROM..TO`` or one date; `since` and `until` are epoch
        seconds or aware datetimes.

        >>> Predicates.of(dates="2026-06-01").dates
        ('2026-06-01', '2026-06-01')
        >>> try:
        ...     Predicates.of(dates="2026-06-30..2026-06-01")
        ... except PredicateError as err:
        ...     print(err)
        the range ends before it starts (at position 12)
          2026-06-30..2026-06-01
                      ^
        """
        span = None
        if dates is not None:
            first, sep, last = dates.partition("..")
            first = _day(first.strip(), dates, 0)
            last = _day(last.strip(), dates, len(first) + 2) if sep else first
            if last < first:
                raise PredicateError("the range ends before it starts", dates, len(first) + 2)
            span = (first, last)
        begin, end = _instant(since), _instant(until)
        if begin is not None and end is not None and end <= begin:
            raise PredicateError("--until is not after --since", "", 0)
        return cls(dates=span, since=begin, until=end,
                   where=tuple(Comparison.parse(w) for w in where))  # fmt: skip

    @property
    def on_items(self) -> bool:
        """Whether the predicates ask about ARI items (and so narrow payloads)."""
        return self.dates is not None or bool(self.where)

    @property
    def empty(self) -> bool:
        """Whether there is nothing to ask.

        >>> Predicates().empty
        True
        """
        return not self.on_items and self.since is None and self.until is None

    def item(self, item: Mapping[str, Any]) -> bool:
        """Whether one ARI item passes every item predicate."""
        if self.dates is not None and not self.in_dates(item.get("date")):
            return False
        return all(c.holds(item) for c in self.where)

    def in_dates(self, day: object) -> bool:
        """Whether an item's ``date`` is in the `dates` range (a date of any other type is not).

        >>> Predicates.of(dates="2026-06-01..2026-06-30").in_dates("2026-06-30")
        True
        """
        if self.dates is None:
            return True
        return isinstance(day, str) and self.dates[0] <= day[:10] <= self.dates[1]

    def notification(self, doc: Mapping[str, Any]) -> bool:
        """Whether a notification's ``timestamp`` is inside the time window.

        >>> from datetime import datetime, UTC
        >>> p = Predicates(since=datetime(2026, 1, 1, tzinfo=UTC))
        >>> p.notification({"timestamp": "2026-03-01T00:00:00.000Z"}), p.notification({})
        (True, False)
        """
        return self.at(doc.get("timestamp"))

    def at(self, stamp: object) -> bool:
        """Whether a notification sent at `stamp` (its ``timestamp``, as sent) is in the window.

        >>> Predicates().at(None), Predicates.of(since=0.0).at(None)
        (True, False)
        """
        if self.since is None and self.until is None:
            return True
        if not isinstance(stamp, str):
            return False
        try:
            when = parse_timestamp(stamp)
        except ValueError:
            return False
        return (self.since is None or when >= self.since) and (
            self.until is None or when < self.until
        )
