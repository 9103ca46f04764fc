"""Typed access by family: each accessor returns one payload class or names why not."""

from __future__ import annotations

from typing import Any

import pytest

from eventmask import (
    BookingPayload,
    ChannelPayload,
    MessagePayload,
    Notification,
    NotificationError,
    ReservationPayload,
    ReviewPayload,
    SyncErrorPayload,
)
from eventmask._catalogue import Catalogue

ACCESSORS: dict[str, type[Any]] = {
    "booking": BookingPayload,
    "message": MessagePayload,
    "sync_error": SyncErrorPayload,
    "reservation": ReservationPayload,
    "review": ReviewPayload,
    "channel": ChannelPayload,
}


def _family_events() -> list[tuple[str, str]]:
    catalogue = Catalogue.default()
    return [
        (event, catalogue.family(event))
        for event in sorted(catalogue.events)
        if catalogue.family(event) in ACCESSORS
    ]


@pytest.mark.parametrize(("event", "family"), _family_events())
def test_each_event_is_reached_through_its_family_accessor_only(event: str, family: str) -> None:
    n = Notification({"event": event, "payload": {}})
    assert isinstance(getattr(n, family), ACCESSORS[family])
    for other in ACCESSORS.keys() - {family}:
        with pytest.raises(NotificationError, match=f"not of the {other} family"):
            getattr(n, other)


def test_every_accessor_family_has_events() -> None:
    assert {family for _, family in _family_events()} == set(ACCESSORS)


def test_a_signal_only_notification_says_to_pull_from_the_api(
    channex_examples: dict[str, dict[str, Any]],
) -> None:
    n = Notification(channex_examples["notification-booking_new-signal-only"])
    assert n.signal_only
    with pytest.raises(NotificationError, match="send_data is false") as caught:
        _ = n.booking
    assert caught.value.path == "$.payload"


def test_the_documented_booking_is_read_through_booking(
    channex_examples: dict[str, dict[str, Any]],
) -> None:
    booking = Notification(channex_examples["notification-booking"]).booking
    assert booking.booking_id == "e10de9d1-3e2c-431c-b88c-ffca9ed5db5d"
    assert booking.revision_id == "80b3b60c-5e24-35c5-ad1b-da67cd704093"
