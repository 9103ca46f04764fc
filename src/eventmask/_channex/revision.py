"""`BookingRevision`: one booking message from Channex, typed (docs/bookings.md).

A booking lives in its revisions: each OTA message (new, modified,
cancelled) is one, with its own ``id``, and the PMS acknowledges revisions,
never bookings.  The feed, ``GET /booking_revisions/:id`` and ``GET
/bookings/:id`` answer in JSON:API form (``{"type", "id", "attributes"}``);
`BookingRevision.from_api` reads all three.  In the booking's form ``id`` is
the booking and ``revision_id`` the revision.

Reading is strict where a PMS would go wrong: dates are `datetime.date`,
money is `Decimal` (Channex sends it as strings), the status is an enum, and
a field of the wrong type is a `RevisionError` naming the revision and the
field.  What eventmask does not know stays in ``raw``.  A card number is
kept masked (``411111******1111``) even when it arrives in full.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, Final, TypeVar

import attrs

from .._envelope import read_date, type_name
from .._errors import RevisionError

__all__ = ["BookingRevision", "Guarantee", "Occupancy", "RevisionRoom", "RevisionStatus"]

T = TypeVar("T")


class RevisionStatus(enum.Enum):
    """What a revision says of its booking.

    >>> RevisionStatus("cancelled") is RevisionStatus.CANCELLED
    True
    """

    NEW = "new"
    MODIFIED = "modified"
    CANCELLED = "cancelled"


class _Reader:
    """Reads the fields of one revision, naming the revision and the path of each error."""

    def __init__(self, revision_id: str) -> None:
        self.revision_id = revision_id

    def fail(self, path: str, message: str) -> RevisionError:
        return RevisionError(self.revision_id, message, path)

    def take(self, doc: Mapping[str, Any], key: str, path: str, read: Callable[[Any], T]) -> T:
        try:
            return read(doc.get(key))
        except (TypeError, ValueError, InvalidOperation) as exc:
            raise self.fail(f"{path}.{key}", str(exc) or type(exc).__name__) from None


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"expected a string, got {type_name(value)}")
    return value


def _opt_text(value: Any) -> str | None:
    return None if value is None else _text(value)


def _money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TypeError(f"expected an amount as a string, got {type_name(value)}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"expected an amount, got {str(value)[:40]!r}") from None
    if not amount.is_finite():
        raise ValueError(f"expected an amount, got {value!r}")
    return amount


def _opt_money(value: Any) -> Decimal | None:
    return None if value is None else _money(value)


def _count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"expected a count, got {type_name(value)}")
    return value


def _timestamp(value: Any) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected a timestamp, got {type_name(value)}")
    stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    # Channex's inserted_at has no offset: it is UTC.
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _objects(value: Any) -> tuple[Mapping[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
        raise TypeError(f"expected a list of objects, got {type_name(value)}")
    return tuple(MappingProxyType(dict(v)) for v in value)


def _object(value: Any) -> Mapping[str, Any]:
    if value is None:
        return MappingProxyType({})
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object, got {type_name(value)}")
    return MappingProxyType(dict(value))


@attrs.frozen(slots=True)
class Occupancy:
    """Adults, children (with their ages when Channex gives them) and infants.

    >>> Occupancy(2, 1, 0, (5,)).children
    1
    """

    adults: int
    children: int
    infants: int
    ages: tuple[int, ...] = ()

    @classmethod
    def read(cls, doc: Any, reader: _Reader, path: str) -> Occupancy:
        """From Channex's ``occupancy`` object (absent counts are 0)."""
        fields = reader.take({"o": doc}, "o", path, _object)
        ages = fields.get("ages") or []
        if not isinstance(ages, list) or not all(isinstance(a, int) for a in ages):
            raise reader.fail(f"{path}.ages", f"expected a list of ages, got {type_name(ages)}")
        return cls(
            reader.take(fields, "adults", path, _count),
            reader.take(fields, "children", path, _count),
            reader.take(fields, "infants", path, _count),
            tuple(ages),
        )


# A card number: the first 6 and the last 4 digits are all a PMS may show.
_CARD: Final = re.compile(r"\d")


def mask_card(number: str) -> str:
    """A card number as Channex masks it: ``411111******1111``.

    >>> mask_card("4111111111111111"), mask_card("411111******1111")
    ('411111******1111', '411111******1111')
    """
    digits = number.replace(" ", "")
    if len(digits) < 12:
        return "*" * len(digits)
    return digits[:6] + _CARD.sub("*", digits[6:-4]) + digits[-4:]


@attrs.frozen(slots=True)
class Guarantee:
    """The card given with a booking, masked: never a full number, never a CVV.

    >>> Guarantee("411111******1111", "VI", "A GUEST", "12/2030", False).card_number
    '411111******1111'
    """

    card_number: str | None
    card_type: str | None
    cardholder_name: str | None
    expiration_date: str | None
    is_virtual: bool
    meta: Mapping[str, Any] = attrs.field(factory=lambda: MappingProxyType({}))

    @classmethod
    def read(cls, doc: Any, reader: _Reader) -> Guarantee | None:
        """From Channex's ``guarantee`` object (None when there is none)."""
        if doc is None:
            return None
        fields = reader.take({"g": doc}, "g", "$.guarantee", _object)
        number = reader.take(fields, "card_number", "$.guarantee", _opt_text)
        return cls(
            None if number is None else mask_card(number),
            reader.take(fields, "card_type", "$.guarantee", _opt_text),
            reader.take(fields, "cardholder_name", "$.guarantee", _opt_text),
            reader.take(fields, "expiration_date", "$.guarantee", _opt_text),
            bool(fields.get("is_virtual")),
            reader.take(fields, "meta", "$.guarantee", _object),
        )


@attrs.frozen(slots=True)
class RevisionRoom:
    """One room of a revision.  The ids are None when the room or rate is not mapped.

    >>> RevisionRoom(dt.date(2026, 5, 1), dt.date(2026, 5, 3), None, None,
    ...              Occupancy(2, 0, 0), Decimal("200.00")).nights
    2
    """

    checkin_date: dt.date
    checkout_date: dt.date
    rate_plan_id: str | None
    room_type_id: str | None
    occupancy: Occupancy
    amount: Decimal | None
    days: Mapping[dt.date, Decimal] = attrs.field(factory=lambda: MappingProxyType({}))
    taxes: tuple[Mapping[str, Any], ...] = ()
    services: tuple[Mapping[str, Any], ...] = ()
    guests: tuple[Mapping[str, Any], ...] = ()
    meta: Mapping[str, Any] = attrs.field(factory=lambda: MappingProxyType({}))
    ota_unique_id: str | None = None

    @property
    def nights(self) -> int:
        """Nights from check-in to check-out."""
        return (self.checkout_date - self.checkin_date).days

    @classmethod
    def read(cls, doc: Mapping[str, Any], reader: _Reader, path: str) -> RevisionRoom:
        """From one of Channex's ``rooms``."""
        days = reader.take(doc, "days", path, _object)
        prices = {}
        for day, price in days.items():
            try:
                prices[read_date(day)] = _money(price)
            except (TypeError, ValueError, InvalidOperation) as exc:
                raise reader.fail(f"{path}.days[{day!r}]", str(exc)) from None
        unique = doc.get("ota_unique_id")
        return cls(
            reader.take(doc, "checkin_date", path, read_date),
            reader.take(doc, "checkout_date", path, read_date),
            reader.take(doc, "rate_plan_id", path, _opt_text),
            reader.take(doc, "room_type_id", path, _opt_text),
            Occupancy.read(doc.get("occupancy"), reader, f"{path}.occupancy"),
            reader.take(doc, "amount", path, _opt_money),
            MappingProxyType(prices),
            reader.take(doc, "taxes", path, _objects),
            reader.take(doc, "services", path, _objects),
            reader.take(doc, "guests", path, _objects),
            reader.take(doc, "meta", path, _object),
            None if unique is None else str(unique),
        )


def _attributes(entry: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The attributes of a JSON:API entry (or the entry itself), and whether it is a booking."""
    attributes = entry.get("attributes")
    booking = entry.get("type") == "booking"
    return (dict(attributes) if isinstance(attributes, Mapping) else dict(entry)), booking


@attrs.frozen(slots=True, kw_only=True)
class BookingRevision:
    """One booking revision: the booking as one OTA message left it.

    ``id`` is what the PMS acknowledges; ``booking_id`` is the same for every
    revision of a booking, and so is ``unique_id`` (OTA code and reservation
    code); ``system_id`` is the OTA message's own id.  `raw` holds the
    attributes as Channex sent them (the card masked).

    >>> doc = {"type": "booking_revision", "id": "r1", "attributes": {
    ...     "id": "r1", "booking_id": "b1", "property_id": "p1", "status": "new",
    ...     "arrival_date": "2026-05-01", "departure_date": "2026-05-03",
    ...     "amount": "220.00", "currency": "GBP", "inserted_at": "2026-04-23T10:03:29.335485",
    ...     "rooms": [], "unique_id": "BDC-1", "ota_name": "Booking.com"}}
    >>> rev = BookingRevision.from_api(doc)
    >>> rev.status, rev.amount, rev.arrival_date.isoformat()
    (<RevisionStatus.NEW: 'new'>, Decimal('220.00'), '2026-05-01')
    """

    id: str
    booking_id: str
    property_id: str
    status: RevisionStatus
    arrival_date: dt.date
    departure_date: dt.date
    amount: Decimal
    currency: str
    inserted_at: dt.datetime
    rooms: tuple[RevisionRoom, ...] = ()
    unique_id: str | None = None
    system_id: str | None = None
    ota_reservation_code: str | None = None
    ota_name: str | None = None
    arrival_hour: str | None = None
    occupancy: Occupancy | None = None
    guarantee: Guarantee | None = None
    customer: Mapping[str, Any] = attrs.field(factory=lambda: MappingProxyType({}))
    services: tuple[Mapping[str, Any], ...] = ()
    ota_commission: Decimal | None = None
    payment_collect: str | None = None
    payment_type: str | None = None
    notes: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=lambda: MappingProxyType({}), repr=False)

    @classmethod
    def from_api(cls, entry: Mapping[str, Any]) -> BookingRevision:
        """Read a feed or revision entry, or a booking (its latest revision).

        Raises `RevisionError` naming the revision and the field.
        """
        if not isinstance(entry, Mapping):
            raise RevisionError(None, f"expected an object, got {type_name(entry)}", "$")
        fields, booking = _attributes(entry)
        ident = fields.get("revision_id") if booking else fields.get("id", entry.get("id"))
        reader = _Reader(ident if isinstance(ident, str) else None)  # type: ignore[arg-type]
        revision_id = reader.take({"id": ident}, "id", "$", _text)
        booking_id = fields.get("id") if booking else fields.get("booking_id")
        status = reader.take(fields, "status", "$", _text)
        try:
            kind = RevisionStatus(status)
        except ValueError:
            choices = ", ".join(s.value for s in RevisionStatus)
            raise reader.fail("$.status", f"expected one of {choices}, got {status!r}") from None
        rooms = reader.take(fields, "rooms", "$", _objects)
        return cls(
            id=revision_id,
            booking_id=reader.take({"booking_id": booking_id}, "booking_id", "$", _text),
            property_id=reader.take(fields, "property_id", "$", _text),
            status=kind,
            arrival_date=reader.take(fields, "arrival_date", "$", read_date),
            departure_date=reader.take(fields, "departure_date", "$", read_date),
            amount=reader.take(fields, "amount", "$", _money),
            currency=reader.take(fields, "currency", "$", _text),
            inserted_at=reader.take(fields, "inserted_at", "$", _timestamp),
            rooms=tuple(RevisionRoom.read(r, reader, f"$.rooms[{n}]") for n, r in enumerate(rooms)),
            unique_id=reader.take(fields, "unique_id", "$", _opt_text),
            system_id=_opt_str(fields.get("system_id")),
            ota_reservation_code=_opt_str(fields.get("ota_reservation_code")),
            ota_name=reader.take(fields, "ota_name", "$", _opt_text),
            arrival_hour=reader.take(fields, "arrival_hour", "$", _opt_text),
            occupancy=None
            if fields.get("occupancy") is None
            else Occupancy.read(fields["occupancy"], reader, "$.occupancy"),
            guarantee=Guarantee.read(fields.get("guarantee"), reader),
            customer=reader.take(fields, "customer", "$", _object),
            services=reader.take(fields, "services", "$", _objects),
            ota_commission=reader.take(fields, "ota_commission", "$", _opt_money),
            payment_collect=reader.take(fields, "payment_collect", "$", _opt_text),
            payment_type=reader.take(fields, "payment_type", "$", _opt_text),
            notes=reader.take(fields, "notes", "$", _opt_text),
            raw=MappingProxyType(_masked_raw(fields)),
        )


def _opt_str(value: Any) -> str | None:
    """An id Channex may send as a number (``system_id``, a reservation code)."""
    return None if value is None or isinstance(value, (dict, list)) else str(value)


def _masked_raw(fields: dict[str, Any]) -> dict[str, Any]:
    guarantee = fields.get("guarantee")
    if isinstance(guarantee, Mapping) and isinstance(guarantee.get("card_number"), str):
        masked = {
            **guarantee,
            "card_number": mask_card(guarantee["card_number"]),
            "cvv": "***" if guarantee.get("cvv") else None,
        }
        fields = {**fields, "guarantee": masked}
    return fields


def revisions_of(entries: Sequence[Any]) -> list[BookingRevision | RevisionError]:
    """Each entry read, or the error that says why it cannot be (a feed page, say).

    >>> [type(r).__name__ for r in revisions_of([{"id": "r1"}])]
    ['RevisionError']
    """
    out: list[BookingRevision | RevisionError] = []
    for entry in entries:
        try:
            out.append(BookingRevision.from_api(entry))
        except RevisionError as exc:
            out.append(exc)
    return out
