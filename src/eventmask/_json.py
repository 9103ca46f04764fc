"""The one JSON library eventmask uses, behind four functions.

Everything that decodes or encodes JSON (notifications, webhook bodies,
command-line files, logs) comes through here, so decoding errors have one
wording (`InvalidJSON`: a reason, a line and a column) whatever the library
underneath says.
"""

from __future__ import annotations

from typing import Any

import orjson

from ._errors import InvalidJSON

__all__ = ["dumps", "dumps_pretty", "dumps_text", "loads"]


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON text; raise `InvalidJSON` with the reason, line and column.

    >>> loads(b'{"event": "booking"}')
    {'event': 'booking'}
    >>> loads(b"{")
    Traceback (most recent call last):
    ...
    eventmask._errors.InvalidJSON: invalid JSON: unexpected end of data (line 1, column 2)
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as err:
        raise InvalidJSON(err.msg, err.lineno, err.colno) from None


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, keys in their order.

    >>> dumps({"event": "booking", "payload": None})
    b'{"event":"booking","payload":null}'
    """
    return orjson.dumps(value)


def dumps_text(value: Any) -> str:
    """Compact JSON as a str; values JSON cannot hold are written with `str()`.

    >>> dumps_text({"at": 1.5})
    '{"at":1.5}'
    """
    return orjson.dumps(value, default=str).decode()


def dumps_pretty(value: Any) -> str:
    """JSON indented by two spaces, for people.

    >>> print(dumps_pretty({"a": [1]}))
    {
      "a": [
        1
      ]
    }
    """
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
