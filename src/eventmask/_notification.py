"""Channex notifications: reading the envelope, and typed views for handlers.

Reading is split in two on purpose.  `load` decodes JSON (orjson) and checks
only what matching needs: an object with a string ``event``.  The typed
models (`Notification`, `AriChange`, the payload classes) are built by cattrs
only when a handler is about to receive the notification, and lazily even
then, so routing never pays for objects nobody reads.

Channex adds events and fields every year: unknown events get a
`GenericPayload`, unknown fields are kept in ``raw``, and neither raises.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias, TypeVar

import attrs
import orjson

from ._errors import NotificationError

__all__ = [
    "AriChange",
    "BookingPayload",
    "ChannelPayload",
    "GenericPayload",
    "MessagePayload",
    "Notification",
    "NotificationInput",
    "ReviewPayload",
    "SyncErrorPayload",
    "load",
]

NotificationInput: TypeAlias = Mapping[str, Any] | bytes | bytearray | memoryview | str

# Keys of an ARI item that are not restrictions.
ARI_ID_KEYS: Final = frozenset({"date", "room_type_id", "rate_plan_id"})


def type_name(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    return {
        dict: "object",
        list: "array",
        str: "string",
        int: "integer",
        float: "number",
        bool: "boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)


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
        event = notification.get("event")
        if event.__class__ is str:
            return notification
    if isinstance(notification, (bytes, bytearray, memoryview, str)):
        try:
            doc = orjson.loads(notification)
        except orjson.JSONDecodeError as err:
            raise NotificationError(
                f"invalid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
            ) from None
    elif isinstance(notification, Mapping):
        doc = notification
    else:
        raise NotificationError(
            f"expected a mapping or JSON bytes/str, got {type(notification).__name__}"
        )
    if not isinstance(doc, Mapping):
        raise NotificationError(f"expected a JSON object, got {type_name(doc)}")
    event = doc.get("event")
    if not isinstance(event, str):
        if event is None and "event" not in doc:
            raise NotificationError("missing required field 'event'")
        raise NotificationError(f"expected a string, got {type_name(event)}", "$.event")
    return doc


def check_ari_array(payload: object) -> None:
    """Raise `NotificationError` unless an ARI payload is an array."""
    if type(payload) is not list and (
        not isinstance(payload, Sequence) or isinstance(payload, (str, bytes))
    ):
        raise NotificationError(
            f"expected an array of ARI items, got {type_name(payload)}", "$.payload"
        )


def ari_items(doc: Mapping[str, Any]) -> Sequence[Mapping[str, Any]] | None:
    """The ARI items of an ``ari`` notification; None when it is signal-only.

    A missing or null ``payload`` is a signal-only notification.  Anything
    else must be an array of objects.
    """
    payload = doc.get("payload")
    if payload is None:
        return None
    check_ari_array(payload)
    for index, item in enumerate(payload):
        if not isinstance(item, Mapping):
            raise NotificationError(
                f"expected an ARI item object, got {type_name(item)}", f"$.payload[{index}]"
            )
    items: Sequence[Mapping[str, Any]] = payload
    return items


# -- typed values -------------------------------------------------------------------

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


class FieldError(ValueError):
    """A bad value under `key` of an object."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


T = TypeVar("T")


def _field(item: Mapping[str, Any], key: str, read: Callable[[Any], T]) -> T | None:
    value = item.get(key)
    if value is None:
        return None
    try:
        return read(value)
    except ValueError as err:
        raise FieldError(key, str(err)) from None


def _date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise ValueError(f"expected a date string, got {type_name(value)}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _opt_str(value: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(f"expected a string or null, got {type_name(value)}")


@attrs.frozen(slots=True)
class AriChange:
    """One ARI item: a date, its room type and rate plan, and what changed.

    Channex sends only the restrictions that changed, so `changes` is sparse:
    it holds exactly the restriction keys present in the item.  `rate` is a
    `Decimal` whichever form Channex used; `rate_raw` keeps the value as sent.
    `raw` is the item mapping itself, unchanged.
    """

    date: dt.date | None
    room_type_id: str | None
    rate_plan_id: str | None
    changes: Mapping[str, Any]
    rate: Decimal | None
    rate_raw: Any
    raw: Mapping[str, Any] = attrs.field(repr=False)

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> AriChange:
        """Build the typed view of one item mapping.

        Raises `FieldError` (a `ValueError` naming the key) on a bad value.

        >>> AriChange.from_item({"date": "2026-05-01", "rate": "99.5"}).rate
        Decimal('99.5')
        """
        rate_raw = item.get("rate")
        return cls(
            date=_field(item, "date", _date),
            room_type_id=_field(item, "room_type_id", _opt_str),
            rate_plan_id=_field(item, "rate_plan_id", _opt_str),
            changes={k: v for k, v in item.items() if k not in ARI_ID_KEYS},
            rate=_field(item, "rate", parse_rate),
            rate_raw=rate_raw,
            raw=item,
        )

    def __contains__(self, restriction: object) -> bool:
        return restriction in self.changes


@attrs.frozen(slots=True, kw_only=True)
class GenericPayload:
    """The payload of an event eventmask has no model for; ``raw`` holds it all."""

    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True, kw_only=True)
class BookingPayload:
    """``booking``, ``booking_new/modification/cancellation``, ``non_acked_booking``,
    ``booking_unmapped_room``/``_rate``.

    Channex names the revision ``revision_id`` or ``booking_revision_id``
    depending on the event; `revision_id` is whichever was sent.
    """

    booking_id: str | None = None
    revision_id: str | None = None
    property_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True, kw_only=True)
class MessagePayload:
    """``message``: a guest message on a booking thread."""

    id: str | None = None
    booking_id: str | None = None
    message: str | None = None
    message_thread_id: str | None = None
    ota_message_id: str | None = None
    have_attachment: bool = False
    attachments: tuple[Any, ...] = ()
    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True, kw_only=True)
class SyncErrorPayload:
    """``sync_error``, ``sync_warning`` and ``rate_error``: a channel refused an update."""

    channel: str | None = None
    channel_event_id: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None
    error_type: str | None = None
    property_name: str | None = None
    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True, kw_only=True)
class ReviewPayload:
    """``review`` and ``updated_review``."""

    id: str | None = None
    booking_id: str | None = None
    channel_id: str | None = None
    ota: str | None = None
    content: str | None = None
    reply: str | None = None
    overall_score: float | None = None
    ota_overall_score: float | None = None
    is_replied: bool | None = None
    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True, kw_only=True)
class ChannelPayload:
    """Channel and listing events, and the removal warnings."""

    channel_id: str | None = None
    channel: str | None = None
    channel_name: str | None = None
    property_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(repr=False)


Payload: TypeAlias = (
    BookingPayload
    | MessagePayload
    | SyncErrorPayload
    | ReviewPayload
    | ChannelPayload
    | GenericPayload
)

_PAYLOAD_TYPES: Final[dict[str, type[Payload]]] = {
    **dict.fromkeys(
        (
            "booking",
            "booking_new",
            "booking_modification",
            "booking_cancellation",
            "booking_unmapped_room",
            "booking_unmapped_rate",
            "non_acked_booking",
            "message_thread_booking_assigned",
        ),
        BookingPayload,
    ),
    "message": MessagePayload,
    **dict.fromkeys(("sync_error", "sync_warning", "rate_error"), SyncErrorPayload),
    **dict.fromkeys(("review", "updated_review"), ReviewPayload),
    **dict.fromkeys(
        (
            "new_channel",
            "updated_channel",
            "disconnect_channel",
            "disconnected_channel",
            "disconnect_listing",
            "activate_channel",
            "deactivate_channel",
            "channel_removal_warning",
            "property_removal_warning",
        ),
        ChannelPayload,
    ),
}


def _converter() -> Any:
    import cattrs

    conv = cattrs.Converter(forbid_extra_keys=False)

    def opt_float(value: object, _: object) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {type_name(value)}")
        return float(value)

    def opt_bool(value: object, _: object) -> bool | None:
        if value is None or isinstance(value, bool):
            return value
        raise ValueError(f"expected a boolean, got {type_name(value)}")

    def opt_text(value: object, _: object) -> str | None:
        return _opt_str(value)

    conv.register_structure_hook(str | None, opt_text)
    conv.register_structure_hook(float | None, opt_float)
    conv.register_structure_hook(bool | None, opt_bool)
    conv.register_structure_hook(bool, lambda v, _: bool(opt_bool(v, _)))

    def array(value: object, _: object) -> tuple[Any, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise ValueError(f"expected an array, got {type_name(value)}")
        return tuple(value)

    conv.register_structure_hook_func(lambda t: t == tuple[Any, ...], array)
    # `raw` is the payload object itself, never a copy.
    conv.register_structure_hook_func(lambda t: t == Mapping[str, Any], lambda v, _: v)
    return conv


_CONVERTER: Any = None


def structure_payload(event: str, payload: Mapping[str, Any]) -> Payload:
    """The typed payload of a non-ARI event (raises `NotificationError` with a path)."""
    global _CONVERTER
    cls = _PAYLOAD_TYPES.get(event, GenericPayload)
    if cls is GenericPayload:
        return GenericPayload(raw=payload)
    if _CONVERTER is None:
        _CONVERTER = _converter()
    fields = {a.name for a in attrs.fields(cls)} - {"raw"}
    data: dict[str, Any] = {k: payload[k] for k in fields if k in payload}
    if cls is BookingPayload and "revision_id" not in data:
        data["revision_id"] = payload.get("booking_revision_id")
    data["raw"] = payload
    import cattrs
    from cattrs.v import format_exception

    def describe(exc: BaseException, type_: Any) -> str:
        return str(exc) if isinstance(exc, ValueError) else format_exception(exc, type_)

    try:
        return _CONVERTER.structure(data, cls)  # type: ignore[no-any-return]
    except cattrs.BaseValidationError as err:
        problems = cattrs.transform_error(err, path="$.payload", format_exception=describe)
        message, _, path = problems[0].rpartition(" @ ")
        extra = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise NotificationError(message + extra, path or "$.payload") from err


_UNSET: Final[Any] = object()


class Notification:
    """What a handler receives: the envelope, the typed payload and the selected items.

    ``raw`` is the decoded JSON object, unchanged.  For an ``ari``
    notification, `items` holds the typed ARI items the handler's routes
    selected, in payload order, and `payload` is the same tuple; for other
    events `payload` is a typed payload object.  `signal_only` is true when
    Channex sent no payload (a webhook with ``send_data: false``): pull the
    data from the API.

    >>> n = Notification.of({"event": "booking_new", "property_id": "P",
    ...                      "payload": {"booking_id": "B", "booking_revision_id": "R"}})
    >>> n.payload.revision_id
    'R'

    Read-only: the attributes are properties.  It is a plain slotted class
    rather than an attrs one because the router creates one per handler call
    and the typed views are computed lazily, on first access.
    """

    __slots__ = ("_items", "_payload", "_raw", "_selected", "_timestamp")

    def __init__(
        self, raw: Mapping[str, Any], selected: tuple[Mapping[str, Any], ...] = ()
    ) -> None:
        self._raw = raw
        self._selected = selected
        self._items: Any = _UNSET
        self._payload: Any = _UNSET
        self._timestamp: Any = _UNSET

    def __repr__(self) -> str:
        return f"Notification(event={self.event!r}, property_id={self.property_id!r})"

    @property
    def raw(self) -> Mapping[str, Any]:
        """The decoded JSON object, exactly as received."""
        return self._raw

    @property
    def selected(self) -> tuple[Mapping[str, Any], ...]:
        """The selected ARI items as the original mappings, in payload order."""
        return self._selected

    @classmethod
    def of(
        cls, notification: NotificationInput, selected: Sequence[Mapping[str, Any]] = ()
    ) -> Notification:
        """Wrap a notification (mapping, or JSON bytes/str) for a handler."""
        return cls(load(notification), tuple(selected))

    @property
    def event(self) -> str:
        """The event name as Channex sent it."""
        return str(self.raw["event"])

    @property
    def property_id(self) -> str | None:
        """The property the notification is about (top-level field)."""
        value = self.raw.get("property_id")
        return value if isinstance(value, str) else None

    @property
    def user_id(self) -> str | None:
        """The user who caused the change, or None."""
        value = self.raw.get("user_id")
        return value if isinstance(value, str) else None

    @property
    def timestamp(self) -> dt.datetime | None:
        """When Channex produced the notification (absent in older deliveries)."""
        if self._timestamp is _UNSET:
            value = self.raw.get("timestamp")
            if not isinstance(value, str):
                self._timestamp = None
            else:
                try:
                    self._timestamp = parse_timestamp(value)
                except ValueError:
                    raise NotificationError(f"not a timestamp: {value!r}", "$.timestamp") from None
        stamp: dt.datetime | None = self._timestamp
        return stamp

    @property
    def signal_only(self) -> bool:
        """True when the notification carries no payload."""
        return self.raw.get("payload") is None

    @property
    def items(self) -> tuple[AriChange, ...]:
        """The selected ARI items, typed, in payload order."""
        if self._items is _UNSET:
            self._items = self._type_items()
        items: tuple[AriChange, ...] = self._items
        return items

    def _type_items(self) -> tuple[AriChange, ...]:
        out = []
        positions = {id(item): index for index, item in enumerate(self.raw.get("payload") or ())}
        for item in self.selected:
            try:
                out.append(AriChange.from_item(item))
            except FieldError as err:
                where = positions.get(id(item))
                path = "$.payload" if where is None else f"$.payload[{where}]"
                raise NotificationError(str(err), f"{path}.{err.key}") from None
        return tuple(out)

    @property
    def payload(self) -> Payload | tuple[AriChange, ...] | None:
        """The typed payload (see the class docstring)."""
        if self._payload is _UNSET:
            self._payload = self._type_payload()
        payload: Payload | tuple[AriChange, ...] | None = self._payload
        return payload

    def _type_payload(self) -> Payload | tuple[AriChange, ...] | None:
        if self.event == "ari":
            return self.items
        payload = self.raw.get("payload")
        if payload is None:
            return None
        if not isinstance(payload, Mapping):
            raise NotificationError(f"expected an object, got {type_name(payload)}", "$.payload")
        return structure_payload(self.event, payload)
