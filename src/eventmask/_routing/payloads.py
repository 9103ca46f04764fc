"""Typed views of what Channex sends: ARI items and the payload of each event family.

Built by cattrs only when a handler is about to read them, and lazily even
then, so routing never pays for objects nobody reads.  Unknown events get a
`GenericPayload`, unknown fields are kept in ``raw``, and neither raises; a
modelled field of the wrong type raises `NotificationError` with its JSON
path (docs/routing.md, "What a handler receives").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeAlias, TypeVar

import attrs

from .._catalogue import ARI_ID_KEYS, Catalogue
from .._envelope import revision_id, type_name
from .._errors import NotificationError

__all__ = [
    "AriChange",
    "BookingPayload",
    "ChannelPayload",
    "FieldError",
    "GenericPayload",
    "MessagePayload",
    "Payload",
    "ReviewPayload",
    "SyncErrorPayload",
    "parse_rate",
    "parse_timestamp",
    "structure_payload",
]


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


class FieldError(NotificationError):
    """A bad value under `key` of an ARI item; re-raised with the item's full path.

    >>> FieldError("rate", "not a decimal rate").key
    'rate'
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message, f"$.{key}")
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

    >>> change = AriChange.from_item({"date": "2026-05-01", "rate": 11100, "stop_sell": False})
    >>> change.rate, "stop_sell" in change
    (Decimal('111.00'), True)
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
    """The payload of an event eventmask has no model for; ``raw`` holds it all.

    >>> GenericPayload(raw={"a": 1}).raw["a"]
    1
    """

    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True, kw_only=True)
class BookingPayload:
    """``booking``, ``booking_new/modification/cancellation``, ``non_acked_booking``,
    ``booking_unmapped_room``/``_rate``.

    Channex names the revision ``revision_id`` or ``booking_revision_id``
    depending on the event; `revision_id` is the first of them that holds a
    non-empty string (the one rule, `eventmask._envelope.revision_id`).

    >>> BookingPayload(booking_id="B", revision_id="R", raw={}).revision_id
    'R'
    """

    booking_id: str | None = None
    revision_id: str | None = None
    property_id: str | None = None
    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True, kw_only=True)
class MessagePayload:
    """``message``: a guest message on a booking thread.

    >>> MessagePayload(message="Hi", raw={}).message
    'Hi'
    """

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
    """``sync_error``, ``sync_warning`` and ``rate_error``: a channel refused an update.

    >>> SyncErrorPayload(error_type="general", raw={}).error_type
    'general'
    """

    channel: str | None = None
    channel_event_id: str | None = None
    channel_id: str | None = None
    channel_name: str | None = None
    error_type: str | None = None
    property_name: str | None = None
    raw: Mapping[str, Any] = attrs.field(repr=False)


@attrs.frozen(slots=True, kw_only=True)
class ReviewPayload:
    """``review`` and ``updated_review``.

    >>> ReviewPayload(overall_score=9.5, raw={}).overall_score
    9.5
    """

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
    """Channel and listing events, and the removal warnings.

    >>> ChannelPayload(channel="BookingCom", raw={}).channel
    'BookingCom'
    """

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

# The model of each event family (the families are Channex facts, kept in the catalogue).
PAYLOAD_TYPES: Final[dict[str, type[Payload]]] = {
    "booking": BookingPayload,
    "message": MessagePayload,
    "sync_error": SyncErrorPayload,
    "review": ReviewPayload,
    "channel": ChannelPayload,
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


def structure_payload(event: str, payload: Mapping[str, Any], catalogue: Catalogue) -> Payload:
    """The typed payload of a non-ARI event (raises `NotificationError` with a path).

    >>> structure_payload("booking_new", {"booking_revision_id": "R"}, Catalogue.default())
    BookingPayload(booking_id=None, revision_id='R', property_id=None)
    """
    global _CONVERTER
    family = catalogue.family(event)
    cls = PAYLOAD_TYPES.get(family, GenericPayload) if family is not None else GenericPayload
    if cls is GenericPayload:
        return GenericPayload(raw=payload)
    if _CONVERTER is None:
        _CONVERTER = _converter()
    fields = {a.name for a in attrs.fields(cls)} - {"raw"}
    data: dict[str, Any] = {k: payload[k] for k in fields if k in payload}
    if cls is BookingPayload:
        data["revision_id"] = revision_id(payload)
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
