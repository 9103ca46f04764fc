"""The one JSON library eventmask uses (msgspec), behind a few functions.

Everything that decodes or encodes JSON (notifications, webhook bodies,
command-line files, logs) comes through here, so decoding errors have one
wording (`InvalidJSON`: a reason, a line and a column) whatever the library
underneath says.  The stream filter also uses msgspec's typed decoding
directly, for speed (docs/filter.md, "Speed").

Decisions (docs/filter.md, "Numbers"): integers of any size decode and
encode exactly; a number outside the range of a float (``1e400``) is valid
JSON and decodes to infinity (msgspec's typed decoding, which skips what it
does not read, accepts it too, so the stream filter's two paths agree);
nesting deeper than Python's recursion limit is invalid JSON.
"""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec

from ._errors import InvalidJSON

__all__ = [
    "DecodeError",
    "Raw",
    "decoder",
    "dumps",
    "dumps_each",
    "dumps_lines",
    "dumps_pretty",
    "dumps_text",
    "loads",
]

Raw = msgspec.Raw
DecodeError = msgspec.DecodeError

# float_hook: a float beyond the range of a double becomes inf instead of an
# error (msgspec calls the hook with the number's text, for floats only).
_decode: Final = msgspec.json.Decoder(float_hook=float).decode
_encode: Final = msgspec.json.encode
_AT_BYTE: Final = re.compile(r"^(?:JSON is malformed: )?(.*?)(?: \(byte (\d+)\))?$")


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
        return _decode(data)
    except (msgspec.DecodeError, RecursionError) as err:
        raise invalid(data, err) from None


def invalid(data: bytes | bytearray | memoryview | str, err: BaseException) -> InvalidJSON:
    """The `InvalidJSON` for a decoding error of `data`, in eventmask's words."""
    text = bytes(data) if not isinstance(data, str) else data.encode("utf-8", "surrogatepass")
    if isinstance(err, RecursionError):
        return InvalidJSON("nested too deeply", 1, 1)
    message = str(err)
    if message == "Input data was truncated":
        return _at(text, len(text), "unexpected end of data")
    if message == "Invalid UTF-8 encoded string":
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as bad:
            return _at(text, bad.start, "invalid UTF-8")
        return _at(text, 0, "invalid UTF-8")
    match = _AT_BYTE.match(message)
    assert match is not None  # the pattern matches any text
    reason, at = match.groups()
    return _at(text, int(at) if at else 0, reason[:1].lower() + reason[1:])


def _at(text: bytes, offset: int, reason: str) -> InvalidJSON:
    line = text.count(b"\n", 0, offset) + 1
    start = text.rfind(b"\n", 0, offset) + 1
    column = len(text[start:offset].decode("utf-8", "replace")) + 1
    return InvalidJSON(reason, line, column)


def decoder(kind: Any) -> Any:
    """A msgspec JSON decoder for values of type `kind` (typed, skipping what it does not name).

    >>> decoder(dict[str, int]).decode(b'{"a": 1}')
    {'a': 1}
    """
    return msgspec.json.Decoder(kind)


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, keys in their order.

    >>> dumps({"event": "booking", "payload": None})
    b'{"event":"booking","payload":null}'
    """
    return _encode(value)


_each: Final = msgspec.json.Encoder()


def dumps_each(values: list[Any]) -> bytes:
    """`dumps` of each value, a line each (every line ends in a newline), in one call.

    >>> dumps_each([{"a": 1.50}, [2]])
    b'{"a":1.5}\\n[2]\\n'
    """
    return _each.encode_lines(values)


def _as_text(value: object) -> str:
    return str(value)


def dumps_text(value: Any) -> str:
    """Compact JSON as a str; values JSON cannot hold are written with `str()`.

    >>> dumps_text({"at": 1.5, "error": ValueError("x")})
    '{"at":1.5,"error":"x"}'
    """
    return _encode(value, enc_hook=_as_text).decode()


_lines: Final = msgspec.json.Encoder(enc_hook=_as_text)


def dumps_lines(values: list[Any]) -> str:
    """`dumps_text` of each value, a line each (every line ends in a newline).

    >>> dumps_lines([{"a": 1}, [2]])
    '{"a":1}\\n[2]\\n'
    """
    return _lines.encode_lines(values).decode()


def dumps_pretty(value: Any) -> str:
    """JSON indented by two spaces, for people.

    >>> print(dumps_pretty({"a": [1]}))
    {
      "a": [
        1
      ]
    }
    """
    return msgspec.json.format(_encode(value, enc_hook=_as_text), indent=2).decode()
