"""Channex notifications for tests, in the shapes Channex documents (docs/testing.md).

Each builder returns the decoded JSON object Channex would POST, so a test
can hand it to a router, post it to a receiver, or change a field first.
Ids are fresh random UUIDs unless given.  The payloads follow the documented
examples of each event family; for the events Channex shows no example of
(the reservation family, channel events), they carry the fields eventmask's
typed payload models read.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Final, Literal

from .._catalogue import (
    ARI,
    BOOKING,
    BOOKING_REVISION_EVENTS,
    COUNT_RESTRICTIONS,
    FLAG_RESTRICTIONS,
    PRICE_RESTRICTIONS,
    Catalogue,
)
from .._language.items import AriFilter, EventItem, Item
from .._language.mask import Mask
from .._language.parser import parse

__all__ = [
    "RateForm",
    "ari",
    "ari_item",
    "booking",
    "booking_revision",
    "matching",
    "new_id",
    "notification",
]

# Channex sends `rate` as a decimal string, or (the 2022 subscription
# format) as an integer in minor units (docs/routing.md, "Notifications").
RateForm = Literal["decimal", "minor"]

# The booking events whose documented payload names the revision
# `revision_id`; the others (unmapped room/rate) name it `booking_revision_id`.
_REVISION_ID_EVENTS: Final = frozenset({BOOKING, *BOOKING_REVISION_EVENTS})


def new_id() -> str:
    """A fresh Channex id (a random UUID).

    >>> len(new_id())
    36
    """
    return str(uuid.uuid4())


def _timestamp() -> str:
    # The documented form: "2021-12-24T00:00:00.0000Z".
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-2] + "Z"


def _envelope(
    event: str,
    payload: Any,
    property_id: str | None,
    user_id: str | None,
    timestamp: str | None,
    signal_only: bool,
) -> dict[str, Any]:
    doc: dict[str, Any] = {"event": event}
    if not signal_only:
        doc["payload"] = payload
    doc["property_id"] = property_id or new_id()
    doc["user_id"] = user_id
    doc["timestamp"] = timestamp or _timestamp()
    return doc


def _booking_payload(event: str, booking_id: str, revision_id: str, prop: str) -> dict[str, Any]:
    # As documented: `booking` carries the property and `revision_id`; the
    # unmapped room/rate events carry `booking_revision_id` and no property.
    if event in _REVISION_ID_EVENTS:
        return {"booking_id": booking_id, "property_id": prop, "revision_id": revision_id}
    return {"booking_id": booking_id, "booking_revision_id": revision_id}


def _family_payload(event: str, family: str | None, property_id: str) -> dict[str, Any]:
    """The documented payload shape of `event`'s family, with fresh ids."""
    if family == "booking":
        return _booking_payload(event, new_id(), new_id(), property_id)
    if family == "message":
        return {
            "booking_id": new_id(),
            "have_attachment": False,
            "attachments": [],
            "id": new_id(),
            "message": "Message content",
            "message_thread_id": new_id(),
            "ota_message_id": new_id(),
        }
    if family == "sync_error":
        return {
            "channel": "BookingCom",
            "channel_event_id": new_id(),
            "channel_id": new_id(),
            "channel_name": "Booking.com",
            "error_type": "general_error",
            "property_name": "Hotel Name",
        }
    if family == "review":
        return {
            "id": new_id(),
            "booking_id": new_id(),
            "channel_id": new_id(),
            "ota": "BookingCom",
            "property_id": property_id,
            "content": "Lovely stay",
            "reply": None,
            "overall_score": 9.5,
            "ota_overall_score": 9.5,
            "is_replied": False,
            "is_hidden": False,
            "scores": [{"category": "clean", "score": 10.0}],
        }
    if family == "reservation":
        return {
            "id": new_id(),
            "booking_id": new_id(),
            "channel_id": new_id(),
            "ota": "AirBNB",
            "ota_reservation_code": "HMABCDEF12",
            "message_thread_id": new_id(),
            "expires_at": "2026-05-02T12:00:00.000000",
        }
    if family == "channel":
        return {
            "channel_id": new_id(),
            "channel": "BookingCom",
            "channel_name": "Booking.com",
            "property_id": property_id,
        }
    return {}


def notification(
    event: str,
    *,
    property_id: str | None = None,
    user_id: str | None = None,
    timestamp: str | None = None,
    signal_only: bool = False,
    catalogue: Catalogue | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A notification of `event` with its family's documented payload; `fields` override keys.

    ``signal_only`` leaves the payload out, as a webhook with ``send_data:
    false`` does.  An event of no known family gets an empty payload; an
    ``ari`` notification gets one item (use `ari` to choose them).

    >>> n = notification("message", message="Hi", property_id="P")
    >>> n["event"], n["payload"]["message"], n["property_id"]
    ('message', 'Hi', 'P')
    >>> "payload" in notification("booking_new", signal_only=True)
    False
    """
    cat = catalogue or Catalogue.default()
    prop = property_id or new_id()
    if cat.resolve(event) == ARI:
        if fields:
            raise TypeError("ari notifications take items: use ari(ari_item(...), ...)")
        payload: Any = [ari_item()]
    else:
        payload = {**_family_payload(cat.resolve(event), cat.family(event), prop), **fields}
    return _envelope(event, payload, prop, user_id, timestamp, signal_only)


def booking(
    event: str = BOOKING,
    *,
    booking_id: str | None = None,
    revision_id: str | None = None,
    property_id: str | None = None,
    signal_only: bool = False,
) -> dict[str, Any]:
    """A booking-family notification for one revision, with the revision key Channex uses.

    >>> n = booking("booking_unmapped_room", booking_id="B", revision_id="R")
    >>> n["payload"]["booking_revision_id"], booking(revision_id="R")["payload"]["revision_id"]
    ('R', 'R')
    """
    prop = property_id or new_id()
    payload = _booking_payload(event, booking_id or new_id(), revision_id or new_id(), prop)
    return _envelope(event, payload, prop, None, None, signal_only)


def booking_revision(
    event: str = "booking_new",
    *,
    booking_id: str | None = None,
    revision_id: str | None = None,
    property_id: str | None = None,
) -> list[dict[str, Any]]:
    """One booking revision as Channex delivers it: as ``booking`` and as `event`.

    A webhook whose mask names both receives the same revision twice
    (lint EM102); a handler must be idempotent per revision.

    >>> first, second = booking_revision("booking_cancellation", revision_id="R")
    >>> first["event"], second["event"], second["payload"]["revision_id"]
    ('booking', 'booking_cancellation', 'R')
    """
    if event not in BOOKING_REVISION_EVENTS:
        known = ", ".join(BOOKING_REVISION_EVENTS)
        raise ValueError(f"event must be one of {known}, not {event!r}")
    booking_id, revision_id = booking_id or new_id(), revision_id or new_id()
    prop = property_id or new_id()
    return [
        booking(e, booking_id=booking_id, revision_id=revision_id, property_id=prop)
        for e in (BOOKING, event)
    ]


def _rate_value(rate: Decimal | int | float | str, form: RateForm) -> Any:
    value = Decimal(str(rate)).quantize(Decimal("0.01"))
    if form == "minor":
        return int(value * 100)
    if form == "decimal":
        return str(value)
    raise ValueError(f"rate_form must be 'decimal' or 'minor', not {form!r}")


def ari_item(
    date: str | dt.date = "2026-05-01",
    *,
    room_type_id: str | None = None,
    rate_plan_id: str | None = None,
    rate: Decimal | int | float | str | None = None,
    rate_form: RateForm = "decimal",
    **restrictions: Any,
) -> dict[str, Any]:
    """One ARI item: a date, the two ids (fresh unless given) and the restrictions that changed.

    `rate` is written in `rate_form`: ``"decimal"`` (``"111.00"``) or
    ``"minor"`` (``11100``, Channex's 2022 format).  With no restriction at
    all, the item carries ``availability``.

    >>> ari_item(rate="111", rate_form="minor", room_type_id="RT", rate_plan_id="RP")
    {'date': '2026-05-01', 'room_type_id': 'RT', 'rate_plan_id': 'RP', 'rate': 11100}
    >>> ari_item(stop_sell=True, room_type_id="RT", rate_plan_id="RP")["stop_sell"]
    True
    """
    item: dict[str, Any] = {
        "date": date.isoformat() if isinstance(date, dt.date) else date,
        "room_type_id": room_type_id or new_id(),
        "rate_plan_id": rate_plan_id or new_id(),
    }
    if rate is not None:
        item["rate"] = _rate_value(rate, rate_form)
    item.update(restrictions)
    if rate is None and not restrictions:
        item["availability"] = 1
    return item


def ari(
    *items: Mapping[str, Any],
    property_id: str | None = None,
    signal_only: bool = False,
) -> dict[str, Any]:
    """An ``ari`` notification carrying `items` (one fresh item when none are given).

    >>> n = ari(ari_item(rate=120), ari_item(booked=3), property_id="P")
    >>> [sorted(set(i) - {"date", "room_type_id", "rate_plan_id"}) for i in n["payload"]]
    [['rate'], ['booked']]
    """
    payload = [dict(i) for i in items] if items else [ari_item()]
    return _envelope(ARI, payload, property_id, None, None, signal_only)


def _restriction_value(name: str, rng: random.Random) -> Any:
    if name in FLAG_RESTRICTIONS:
        return rng.choice([True, False])
    if name in PRICE_RESTRICTIONS:
        return str(Decimal(rng.randrange(5_000, 50_000)) / 100)
    if name in COUNT_RESTRICTIONS:
        return rng.randrange(0, 10)
    return 1  # a legacy or user-added restriction


def _pick(values: frozenset[str] | None, rng: random.Random) -> str:
    return rng.choice(sorted(values)) if values else new_id()


def _for_item(item: Item, property_id: str | None, cat: Catalogue, rng: random.Random) -> Any:
    if isinstance(item, EventItem):
        return notification(item.name, property_id=property_id, catalogue=cat)
    if isinstance(item, AriFilter):
        keys = sorted(item.restrictions or cat.restrictions)
        key = rng.choice(keys)
        change = ari_item(
            room_type_id=_pick(item.room_type_ids, rng),
            rate_plan_id=_pick(item.rate_plan_ids, rng),
            **{key: _restriction_value(key, rng)},
        )
        return ari(change, property_id=property_id)
    # The wildcard: one notification of every documented family's first event.
    firsts = {cat.family(e): e for e in sorted(cat.events, reverse=True)}
    events = sorted(firsts.values())
    return [notification(e, property_id=property_id, catalogue=cat) for e in events]


def matching(
    mask: Mask | str,
    *,
    property_id: str | None = None,
    seed: int | None = None,
    catalogue: Catalogue | None = None,
) -> list[dict[str, Any]]:
    """Notifications the webhook with `mask` receives: one per item of the mask.

    Each ARI filter gives an ``ari`` notification with one item it selects
    (one of its restrictions, room types and rate plans, chosen with
    `seed`); each event gives that event; ``*`` gives one notification of
    every event family.

    >>> [n["event"] for n in matching("booking_new;message")]
    ['booking_new', 'message']
    >>> rp = "96a44e07-2158-43e4-8baa-8f6f56922ba8"
    >>> item = matching(f"ari:rate:*:{rp}")[0]["payload"][0]
    >>> item["rate_plan_id"] == rp and "rate" in item
    True
    """
    if isinstance(mask, str):
        mask = parse(mask, catalogue=catalogue)
    cat = catalogue or mask.catalogue or Catalogue.default()
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for item in mask.items:
        made = _for_item(item, property_id, cat, rng)
        out.extend(made if isinstance(made, list) else [made])
    return out
