"""Tests of the Channex facts: the UUID form, aliases, families, the revision events."""

from __future__ import annotations

import pytest

from eventmask import BookingPayload, Catalogue, GenericPayload, Notification, Router, lint, parse
from eventmask._catalogue import BOOKING_REVISION_EVENTS, is_uuid

from .helpers import RATE_PLAN


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (RATE_PLAN, True),
        (RATE_PLAN.upper(), True),
        (RATE_PLAN[:-1], False),
        (RATE_PLAN + "0", False),
        (RATE_PLAN + "\n", False),
        ("g" + RATE_PLAN[1:], False),
        (None, False),
        (7, False),
    ],
)
def test_one_uuid_check(value: object, expected: bool) -> None:
    """A Channex id is 8-4-4-4-12 hex digits, either case, nothing around it."""
    assert is_uuid(value) is expected


def test_the_parser_uses_the_same_uuid_check() -> None:
    """What is_uuid refuses, a mask refuses as a malformed UUID, in the same words."""
    assert str(parse(f"ari:rate:*:{RATE_PLAN.upper()}")) == f"ari:rate:*:{RATE_PLAN}"
    (finding,) = lint(f"ari:rate:*:{RATE_PLAN}0")
    assert finding.code == "EM001"
    assert finding.message.startswith("malformed UUID")


def test_resolve_and_spellings() -> None:
    """Aliases resolve to the current name; spellings lists every name that resolves."""
    catalogue = Catalogue.default().with_aliases(booking_created="booking_new")
    assert catalogue.resolve("booking_created") == "booking_new"
    assert catalogue.resolve("never_heard_of") == "never_heard_of"
    assert catalogue.spellings(["booking_new"]) == {"booking_new", "booking_created"}


def test_bad_aliases_are_refused() -> None:
    """An alias must point at a known event and must not shadow a current name."""
    with pytest.raises(ValueError, match="unknown event"):
        Catalogue.default().with_aliases(old="nowhere")
    with pytest.raises(ValueError, match="also a current event name"):
        Catalogue.default().with_aliases(booking="booking_new")


def test_families_choose_the_payload_model() -> None:
    """An event added with a family gets that family's typed payload."""
    catalogue = Catalogue.default().with_events("booking_note", family="booking")
    doc = {"event": "booking_note", "payload": {"booking_revision_id": "R"}}
    router = Router(catalogue=catalogue)
    seen: list[object] = []
    router.add("booking_note", lambda n: seen.append(n.payload))
    router.dispatch(doc).raise_for_errors()
    assert isinstance(seen[0], BookingPayload)
    assert isinstance(Notification.of(doc).payload, GenericPayload)  # the default catalogue


@pytest.mark.parametrize("event", BOOKING_REVISION_EVENTS)
def test_each_revision_event_beside_booking_is_em102(event: str) -> None:
    """The revision events are one fact: EM102 fires for each beside `booking`."""
    assert [d.code for d in lint(f"booking;{event}")] == ["EM102"]
    assert lint(f"booking;{event.replace('booking_', 'x_')}") != []  # unknown, not EM102


# The events Channex's Webhook Collection page lists, as it spells them
# (https://docs.channex.io/api-v.1-documentation/webhook-collection, "List of webhook events").
DOCUMENTED_EVENTS = [
    "ari",
    "booking",
    "booking_new",
    "booking_modification",
    "booking_cancellation",
    "booking_unmapped_room",
    "booking_unmapped_rate",
    "non_acked_booking",
    "message",
    "sync_error",
    "sync_warning",
    "rate_error",
    "reservation_request",
    "alteration_request",
    "accepted_reservation",
    "declined_reservation",
    "inquiry",
    "review",
    "updated_review",
    "new_channel",
    "updated_channel",
    "disconnected_channel",
    "disconnect_listing",
]


def test_every_documented_event_is_known_and_in_exactly_one_family() -> None:
    """Each event of Channex's list resolves (an old spelling to its current name) to one
    family; no event is claimed by two families (the family map would hide one)."""
    from eventmask._catalogue import DEFAULT_EVENTS

    catalogue = Catalogue.default()
    for event in DOCUMENTED_EVENTS:
        name = catalogue.resolve(event)
        assert name in DEFAULT_EVENTS, event
        assert catalogue.family(name) is not None, event
    assert len(catalogue.family_map) == len(DEFAULT_EVENTS)
