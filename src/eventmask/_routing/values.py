"""Reading the values Channex sends: timestamps, rates, dates, and typed fields.

Each reader raises `ValueError` with words for a bad value; `read_field`
turns that into a `FieldError` that names the key, and the caller adds the
JSON path (docs/routing.md, "What a handler receives").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from .._catalogue import COUNT_RESTRICTIONS, FLAG_RESTRICTIONS, PRICE_RESTRICTIONS
from .._envelope import read_date, type_name
from .._errors import FieldError

__all__ = [
    "opt_bool",
    "opt_int",
    "opt_str",
    "parse_rate",
    "parse_timestamp",
    "read_date",
    "read_field",
    "restriction_value",
]

_TIMESTAMP: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$"
)


def parse_timestamp(value: str) -> dt.datetime:
    """A Channex timestamp: 0 to 6 (or more) fractional digits, ``Z`` or an offset.

    Naive timestamps are taken as UTC, which is what Channex sends.

    >>> parse_timestamp("2021-12-24T00:00:00.0000Z")
    datetime.datetime(2021, 12, 24, 0, 0, tzinfo=datetime.timezone.utc)
    """
    match = _TIMESTAMP.match(value)
    if match is None:
        raise ValueError(f"not a timestamp: {value!r}")
    date, time, fraction, zone = match.groups()
    fraction = (fraction or "0")[:6].ljust(6, "0")
    if zone in (None, "Z"):
        zone = "+00:00"
    return dt.datetime.fromisoformat(f"{date}T{time}.{fraction}{zone}")


T = TypeVar("T")


def read_field(item: Mapping[str, Any], key: str, read: Callable[[Any], T]) -> T | None:
    """``read(item[key])``, None when absent or null; a bad value is a `FieldError`.

    >>> read_field({"d": "2026-01-02"}, "d", read_date)
    datetime.date(2026, 1, 2)
    """
    value = item.get(key)
    if value is None:
        return None
    try:
        return read(value)
    except ValueError as err:
        raise FieldError(key, str(err)) from None


def opt_str(value: object) -> str | None:
    """A string field, or None.

    >>> opt_str("x"), opt_str(None)
    ('x', None)
    """
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"expected a string or null, got {type_name(value)}")


def parse_rate(value: object) -> Decimal:
    """A rate as a `Decimal` amount.

    Channex sends ``rate`` either as a decimal string (``"111.00"``) or, in
    the 2022 subscription format, as an integer in minor units (``11100``).
    eventmask reads the integer form with two minor digits; for currencies
    with another exponent use ``AriChange.rate_raw``.

    >>> parse_rate("111.00"), parse_rate(11100)
    (Decimal('111.00'), Decimal('111.00'))
    """
    if isinstance(value, bool):
        raise ValueError("a rate is a number or a decimal string, not a boolean")
    if isinstance(value, int):
        return Decimal(value).scaleb(-2)
    if isinstance(value, (str, float)):
        try:
            rate = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"not a decimal rate: {value!r}") from None
        if not rate.is_finite():
            raise ValueError(f"not a finite rate: {value!r}")
        return rate
    raise ValueError(f"a rate is a number or a decimal string, not {type_name(value)}")


def opt_int(value: object) -> int | None:
    """An integer field (availability, stays), or None; a boolean is not an integer.

    >>> opt_int(3), opt_int(None)
    (3, None)
    """
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise ValueError(f"expected an integer, got {type_name(value)}")


def opt_bool(value: object) -> bool | None:
    """A flag (stop sell, closed to arrival): a boolean, or 0 and 1 as older feeds send.

    >>> opt_bool(True), opt_bool(0), opt_bool(None)
    (True, False, None)
    """
    if value is None or isinstance(value, bool):
        return value
    if value in (0, 1) and isinstance(value, int):
        return bool(value)
    raise ValueError(f"expected a boolean, got {type_name(value)}")


def _opt_rate(value: object) -> Decimal | None:
    return None if value is None else parse_rate(value)


def value_reader(key: str) -> Callable[[object], Decimal | int | bool | None]:
    """The reader of `key`'s values, as `restriction_value` reads them (KeyError if unknown).

    For a loop over many values of one key: the key is looked up once.

    >>> value_reader("rate")(11100), value_reader("stop_sell")(0)
    (Decimal('111.00'), False)
    """
    if key in PRICE_RESTRICTIONS:
        return _opt_rate
    if key in FLAG_RESTRICTIONS:
        return opt_bool
    if key in COUNT_RESTRICTIONS:
        return opt_int
    raise KeyError(key)


def restriction_value(key: str, value: object) -> Decimal | int | bool | None:
    """A restriction's value as Channex means it: a rate a `Decimal`, a count an `int`, a
    flag a `bool`; None when null.  A bad value raises ValueError; an unknown key KeyError.

    >>> restriction_value("rate", 11100), restriction_value("stop_sell", 1)
    (Decimal('111.00'), True)
    """
    return value_reader(key)(value)
