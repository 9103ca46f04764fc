"""Typed payloads of the event families: bookings, messages, errors, reservations, reviews.

Built by cattrs only when a handler is about to read them, and lazily even
then, so routing never pays for objects nobody reads.  Unknown events get a
`GenericPayload`, unknown fields are kept in ``raw``, and neither raises; a
modelled field of the wrong type raises `NotificationError` with its JSON
path (docs/routing.md, "What a handler receives").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import attrs

from .._catalogue import Catalogue
from .._envelope import revision_id, type_name
from .._errors import NotificationError
from .values import opt_str

__all__ = [
    "PAYLOAD_TYPES",
    "BookingPayload",
    "ChannelPayload",
    "GenericPayload",
    "MessagePayload",
    "Payload",
    "ReservationPayload",
    "ReviewPayload",
    "SyncErrorPayload",
    "structure_payload",
]


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


@attrs.frozen(slots=True, kw_only=True)
class ReservationPayload:
    """``reservation_request``, ``alteration_request``, ``accepted_reservation``,
    ``declined_reservation`` and ``inquiry``: a guest asks, the property answers.

    Channex's documentation shows no example payload for these events; the
    model reads the fields its integrations use when they are present, and
    ``raw`` keeps everything.

    >>> ReservationPayload(booking_id="B", raw={}).booking_id
    'B'
    """

    id: str | None = None
    booking_id: str | None = None
    channel_id: str | None = None
    ota: str | None = None
    ota_reservation_code: str | None = None
    message_thread_id: str | None = None
    expires_at: str | None = None
    raw: Mapping[str, Any] = attrs.field(repr=False)


Payload: TypeAlias = (
    BookingPayload
    | MessagePayload
    | SyncErrorPayload
    | ReservationPayload
    | ReviewPayload
    | ChannelPayload
    | GenericPayload
)

# The model of each event family (the families are Channex facts, kept in the catalogue).
PAYLOAD_TYPES: Final[dict[str, type[Payload]]] = {
    "booking": BookingPayload,
    "message": MessagePayload,
    "sync_error": SyncErrorPayload,
    "reservation": ReservationPayload,
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
        return opt_str(value)

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
