"""The one reader of Channex notifications: decode, event, ARI items, revision id.

The receiver, the router, the stream filter and the inbox all read a
notification through this module, so a notification means the same thing
everywhere and every problem has one wording.  Reading checks only what
matching needs (an object with a string ``event``; for ``ari``, an array of
item objects); the typed models are built later, and only for handlers.

Channex adds events and fields every year: unknown ones are normal and never
raise here (docs/routing.md, "Matching").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

import attrs

from ._catalogue import BOOKING, BOOKING_REVISION_EVENTS, REVISION_ID_KEYS
from ._errors import InputError, InvalidJSON, NotificationError
from ._json import loads

__all__ = [
    "Envelope",
    "NotificationInput",
    "ari_items",
    "check_ari_items",
    "decode_line",
    "input_error",
    "load",
    "read_date",
    "revision_id",
    "type_name",
]

NotificationInput: TypeAlias = Mapping[str, Any] | bytes | bytearray | memoryview | str

# The events under which one booking revision can arrive twice.
_REVISION_EVENTS: Final = frozenset({BOOKING, *BOOKING_REVISION_EVENTS})

_JSON_TYPES: Final[dict[type, str]] = {
    dict: "object",
    list: "array",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def type_name(value: object) -> str:
    """The JSON name of a value's type, for error messages.

    >>> type_name([1]), type_name(None), type_name(1.5)
    ('array', 'null', 'number')
    """
    return _JSON_TYPES.get(type(value), type(value).__name__)


def read_date(value: object) -> dt.date:
    """An ISO date (YYYY-MM-DD), as Channex writes every date: ARI items, bookings.

    >>> read_date("2026-05-01")
    datetime.date(2026, 5, 1)
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {type_name(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _decode(data: bytes | bytearray | memoryview | str) -> Any:
    try:
        return loads(data)
    except InvalidJSON as err:
        raise NotificationError(
            f"invalid JSON: {err.reason}", line=err.line, column=err.column
        ) from None


def _envelope_problem(doc: object) -> NotificationError:
    """Why a decoded document is not a notification (it is not, when this is called)."""
    if not isinstance(doc, Mapping):
        return NotificationError(f"expected a JSON object, got {type_name(doc)}")
    if "event" not in doc:
        return NotificationError("missing required field 'event'")
    return NotificationError(f"expected a string, got {type_name(doc['event'])}", "$.event")


def load(notification: NotificationInput) -> Mapping[str, Any]:
    """The notification as a mapping with a string ``event``; raise `NotificationError`.

    Accepts a decoded mapping, or JSON as ``bytes``/``str``.

    >>> load(b'{"event": "booking", "payload": {}}')["event"]
    'booking'
    >>> load(b'[1]')
    Traceback (most recent call last):
    ...
    eventmask._errors.NotificationError: @ $: expected a JSON object, got array
    """
    if notification.__class__ is dict:
        # The router's hot path: a decoded object with a string event.
        if notification.get("event").__class__ is str:
            return notification
        doc: object = notification
    elif isinstance(notification, (bytes, bytearray, memoryview, str)):
        doc = _decode(notification)
    elif isinstance(notification, Mapping):
        doc = notification
    else:
        raise NotificationError(
            f"expected a mapping or JSON bytes/str, got {type(notification).__name__}"
        )
    if isinstance(doc, Mapping) and isinstance(doc.get("event"), str):
        return doc
    raise _envelope_problem(doc)


def decode_line(line: bytes | str, source: str, number: int) -> dict[str, Any]:
    """One line of a JSON Lines stream as a notification, or `InputError` at ``source:line``.

    >>> decode_line(b'{"event": 7}', "feed.jsonl", 4)
    Traceback (most recent call last):
    ...
    eventmask._errors.InputError: feed.jsonl:4:1: expected a string, got integer (at $.event)
    """
    try:
        doc = loads(line)
    except InvalidJSON as err:
        raise InputError(f"invalid JSON: {err.reason}", source, number, err.column) from None
    if doc.__class__ is not dict or doc.get("event").__class__ is not str:
        raise input_error(_envelope_problem(doc), source, number)
    return doc


def input_error(err: NotificationError, source: str, number: int) -> InputError:
    """The `InputError` for line `number` of `source` that `err` describes.

    >>> print(input_error(NotificationError("expected an array", "$.payload"), "f", 2))
    f:2:1: expected an array (at $.payload)
    """
    where = "" if err.path == "$" else f" (at {err.path})"
    return InputError(f"{err.message}{where}", source, number, err.column or 1)


def _not_an_array(payload: object) -> bool:
    return type(payload) is not list and (
        not isinstance(payload, Sequence) or isinstance(payload, (str, bytes))
    )


def check_ari_items(payload: object) -> None:
    """Raise `NotificationError` unless `payload` is an array of ARI item objects.

    This is the one ARI item-shape check: the router's index calls it when
    its fast path meets an odd payload, so its errors are these.

    >>> check_ari_items([{"rate": 1}, 5])
    Traceback (most recent call last):
    ...
    eventmask._errors.NotificationError: @ $.payload[1]: expected an ARI item object, got integer
    """
    if _not_an_array(payload):
        raise NotificationError(
            f"expected an array of ARI items, got {type_name(payload)}", "$.payload"
        )
    items: Sequence[object] = payload  # type: ignore[assignment]
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise NotificationError(
                f"expected an ARI item object, got {type_name(item)}", f"$.payload[{index}]"
            )


def check_ari_array(payload: object) -> None:
    """Raise `NotificationError` unless an ARI payload is an array (its items unchecked)."""
    if _not_an_array(payload):
        raise NotificationError(
            f"expected an array of ARI items, got {type_name(payload)}", "$.payload"
        )


def ari_items(doc: Mapping[str, Any]) -> Sequence[Mapping[str, Any]] | None:
    """The ARI items of an ``ari`` notification; None when it is signal-only.

    A missing or null ``payload`` is a signal-only notification (a webhook
    with ``send_data: false``).  Anything else must be an array of objects.

    >>> ari_items({"event": "ari"}) is None, ari_items({"event": "ari", "payload": []})
    (True, [])
    """
    payload = doc.get("payload")
    if payload is None:
        return None
    check_ari_items(payload)
    items: Sequence[Mapping[str, Any]] = payload
    return items


def revision_id(payload: Mapping[str, Any], *, strict: bool = True) -> str | None:
    """The booking revision id of a booking-family payload: eventmask's one rule for it.

    Channex names it ``revision_id`` or ``booking_revision_id``.  The first of
    the two that holds a non-empty string is the revision; null, absent and
    empty values are skipped.  A value of another type raises
    `NotificationError` with its path, or is skipped when ``strict`` is false
    (the receiver, which must store what it cannot yet judge).

    >>> revision_id({"revision_id": None, "booking_revision_id": "R"})
    'R'
    >>> revision_id({"revision_id": 123})
    Traceback (most recent call last):
    ...
    eventmask._errors.NotificationError: @ $.payload.revision_id: expected a string, got integer
    """
    for key in REVISION_ID_KEYS:
        value = payload.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, str):
            return value
        if strict:
            raise NotificationError(
                f"expected a string, got {type_name(value)}", f"$.payload.{key}"
            )
    return None


@attrs.frozen(slots=True)
class Envelope:
    """One delivery as the receiver read it: the exact body and what the inbox needs of it.

    ``revision`` is the booking revision id when the event is one under which
    Channex can deliver one revision twice (``booking`` and its specific
    events), else None: the inbox deduplicates on it when asked to.

    >>> env = Envelope.read(b'{"event":"booking_new","payload":{"revision_id":"R1"}}')
    >>> env.event, env.revision
    ('booking_new', 'R1')
    """

    body: bytes = attrs.field(repr=False)
    doc: Mapping[str, Any] = attrs.field(repr=False)
    event: str
    property_id: str | None
    revision: str | None

    @classmethod
    def read(cls, body: bytes) -> Envelope:
        """Read a request body; raise `NotificationError` when it is not a notification."""
        return cls.of(body, load(body))

    @classmethod
    def of(cls, body: bytes, doc: Mapping[str, Any]) -> Envelope:
        """An envelope for a body already decoded into `doc` (a notification mapping)."""
        event: str = doc["event"]
        prop = doc.get("property_id")
        revision = None
        if event in _REVISION_EVENTS:
            payload = doc.get("payload")
            if isinstance(payload, Mapping):
                revision = revision_id(payload, strict=False)
        return cls(body, doc, event, prop if isinstance(prop, str) else None, revision)
