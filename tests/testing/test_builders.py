"""The notification builders: Channex's documented shapes, and notifications a mask receives."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings

from eventmask import Mask, Notification, Router
from eventmask._catalogue import DEFAULT_EVENTS, Catalogue
from eventmask.inbox import Envelope
from eventmask.testing import (
    ari,
    ari_item,
    booking,
    booking_revision,
    matching,
    notification,
)

from ..helpers import dumps
from ..strategies import masks

TYPED = {"booking", "message", "sync_error", "reservation", "review", "channel"}

# Documented example file -> the event it shows.
DOCUMENTED = {
    "notification-booking": "booking",
    "notification-booking_unmapped_room": "booking_unmapped_room",
    "notification-booking_unmapped_rate": "booking_unmapped_rate",
    "notification-message": "message",
    "notification-sync_error": "sync_error",
    "notification-review": "review",
}


@pytest.mark.parametrize("event", DEFAULT_EVENTS)
def test_every_documented_event_builds_a_notification_eventmask_reads(event: str) -> None:
    """Each event of the catalogue builds an envelope the receiver stores and a typed payload."""
    doc = notification(event, property_id="P")
    envelope = Envelope.read(dumps(doc))
    assert (envelope.event, doc["property_id"]) == (event, "P")
    n = Notification.of(doc, doc["payload"] if event == "ari" else ())
    family = Catalogue.default().family(event)
    if family in TYPED:
        typed = getattr(n, family)
        assert type(typed).__name__.endswith("Payload")
        assert typed.raw == doc["payload"]
    else:
        assert event == "ari"
        assert len(n.items) == 1


@pytest.mark.parametrize(("stem", "event"), sorted(DOCUMENTED.items()))
def test_payload_keys_are_the_documented_ones(
    channex_examples: dict[str, dict[str, Any]], stem: str, event: str
) -> None:
    """The builder's payload carries the documented example's keys (review: a subset)."""
    documented = set(channex_examples[stem]["payload"])
    built = set(notification(event)["payload"])
    if event == "review":
        assert built <= documented
    else:
        assert built == documented
    assert set(notification(event)) == set(channex_examples[stem])


def test_booking_revision_key_follows_the_event() -> None:
    """`booking` names it revision_id, the unmapped events booking_revision_id; both read as R."""
    for event in ("booking", "booking_new", "booking_unmapped_rate", "non_acked_booking"):
        n = Notification.of(booking(event, revision_id="R", booking_id="B"))
        assert (n.booking.revision_id, n.booking.booking_id) == ("R", "B")
    assert "booking_revision_id" in booking("booking_unmapped_room")["payload"]
    assert "revision_id" in booking("booking_modification")["payload"]


def test_booking_revision_is_delivered_as_booking_and_as_its_event() -> None:
    """One revision, two notifications: `booking` and the specific event, same ids."""
    first, second = booking_revision("booking_new", property_id="P")
    assert (first["event"], second["event"]) == ("booking", "booking_new")
    assert first["payload"] == second["payload"]
    assert first["property_id"] == second["property_id"] == "P"
    with pytest.raises(ValueError, match="booking_new, booking_modification"):
        booking_revision("message")


def test_signal_only_leaves_the_payload_out() -> None:
    """``send_data: false`` notifications carry no payload, for every family."""
    for event in ("ari", "booking_new", "message"):
        n = Notification.of(notification(event, signal_only=True))
        assert n.signal_only
        assert "payload" not in n.raw
    assert Notification.of(ari(signal_only=True)).signal_only


@pytest.mark.parametrize("rate", [Decimal("111"), 111, "111.00", 111.0])
def test_both_rate_forms_read_as_the_same_decimal(rate: Any) -> None:
    """The decimal string and the 2022 minor-units integer are the same rate to a handler."""
    decimal = ari_item(rate=rate)
    minor = ari_item(rate=rate, rate_form="minor")
    assert (decimal["rate"], minor["rate"]) == ("111.00", 11100)
    doc = ari(decimal, minor)
    rates = {c.rate for c in Notification.of(doc, doc["payload"]).items}
    assert rates == {Decimal("111.00")}
    with pytest.raises(ValueError, match="rate_form"):
        ari_item(rate=1, rate_form="cents")  # type: ignore[arg-type]


def test_fields_override_the_payload_and_ari_refuses_them() -> None:
    """Keyword fields replace payload keys; an ari notification takes items instead."""
    assert notification("message", message="Hi")["payload"]["message"] == "Hi"
    with pytest.raises(TypeError, match="ari_item"):
        notification("ari", rate=1)


def test_unknown_events_get_an_empty_payload() -> None:
    """An event of a catalogue extension with no family: an empty payload object."""
    catalogue = Catalogue.default().with_events("booking_note")
    assert notification("booking_note", catalogue=catalogue)["payload"] == {}


@settings(max_examples=200, deadline=None)
@given(masks)
def test_matching_notifications_are_received_by_the_mask(mask: Mask) -> None:
    """Oracle: the reference matcher matches every built notification, and so does a router."""
    built = matching(mask, seed=1)
    assert len(built) >= len(mask.items)
    router = Router()
    router.add(mask, lambda n: None)
    for doc in built:
        assert mask.matches(doc), doc
        if doc["event"] == "ari":
            assert mask.select(doc), doc
        assert router.match(doc), doc


def test_matching_the_wildcard_gives_every_family() -> None:
    """``*`` gives one notification per family, each of a different family."""
    families = {Catalogue.default().family(n["event"]) for n in matching("*")}
    assert families == set(Catalogue.default().family_map.values())
