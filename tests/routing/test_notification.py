"""Tests of the typed notification models."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventmask import (
    AriChange,
    BookingPayload,
    ChannelPayload,
    GenericPayload,
    MessagePayload,
    Notification,
    NotificationError,
    ReviewPayload,
    SyncErrorPayload,
)
from eventmask._routing.values import parse_rate, parse_timestamp

from ..helpers import envelope


@pytest.mark.parametrize(
    ("stem", "payload_type"),
    [
        ("notification-booking", BookingPayload),
        ("notification-booking_unmapped_rate", BookingPayload),
        ("notification-booking_unmapped_room", BookingPayload),
        ("notification-message", MessagePayload),
        ("notification-review", ReviewPayload),
        ("notification-sync_error", SyncErrorPayload),
    ],
)
def test_documented_payloads_structure(
    channex_examples: dict[str, dict[str, Any]], stem: str, payload_type: type
) -> None:
    """Each documented payload becomes its typed model and keeps the raw mapping."""
    doc = channex_examples[stem]
    payload = Notification.of(doc).payload
    assert isinstance(payload, payload_type)
    assert payload.raw is doc["payload"]  # type: ignore[union-attr]


def test_revision_id_from_either_key(channex_examples: dict[str, dict[str, Any]]) -> None:
    """revision_id and booking_revision_id both land in BookingPayload.revision_id."""
    booking = Notification.of(channex_examples["notification-booking"]).payload
    unmapped = Notification.of(channex_examples["notification-booking_unmapped_rate"]).payload
    assert isinstance(booking, BookingPayload)
    assert isinstance(unmapped, BookingPayload)
    assert booking.revision_id == "80b3b60c-5e24-35c5-ad1b-da67cd704093"
    assert unmapped.revision_id == "8a5c7299-611e-4b57-a703-7e146b538750"


def test_one_revision_rule_for_handlers_and_the_inbox(tmp_path: Path) -> None:
    """A null revision_id beside booking_revision_id: both readers take the second (defect fix).

    Before the fix the handler saw `revision_id is None` while the inbox
    deduplicated on revision R.
    """
    from eventmask.inbox import InboxSettings, SQLiteInbox

    doc = {
        "event": "booking_new",
        "property_id": "p",
        "payload": {"booking_id": "B", "revision_id": None, "booking_revision_id": "R"},
    }
    payload = Notification.of(doc).payload
    assert isinstance(payload, BookingPayload)
    assert payload.revision_id == "R"
    inbox = SQLiteInbox(tmp_path / "inbox.db", InboxSettings(dedup_revisions=True))
    try:
        assert inbox.put(envelope(doc)).idempotency_key == "revision:r"
    finally:
        inbox.close()


def test_a_revision_id_of_another_type_is_a_notification_error() -> None:
    """`revision_id: 123` is a NotificationError at its path, not a silent None."""
    doc = {"event": "booking", "payload": {"revision_id": 123}}
    with pytest.raises(NotificationError) as info:
        _ = Notification.of(doc).payload
    assert str(info.value) == "@ $.payload.revision_id: expected a string, got integer"


def test_review_scores_and_message_fields(channex_examples: dict[str, dict[str, Any]]) -> None:
    """Review and message fields come through with their types."""
    review = Notification.of(channex_examples["notification-review"]).payload
    assert isinstance(review, ReviewPayload)
    assert (review.ota, review.overall_score, review.is_replied) == ("BookingCom", 10.0, False)
    message = Notification.of(channex_examples["notification-message"]).payload
    assert isinstance(message, MessagePayload)
    assert (message.message, message.attachments) == ("Message content", ())


def test_signal_only(channex_examples: dict[str, dict[str, Any]]) -> None:
    """No payload: signal_only is true and payload is None."""
    n = Notification.of(channex_examples["notification-booking_new-signal-only"])
    assert n.signal_only
    assert n.payload is None
    assert n.timestamp == dt.datetime(2021, 12, 24, tzinfo=dt.UTC)


def test_ari_items_both_rate_forms(channex_examples: dict[str, dict[str, Any]]) -> None:
    """rate as minor-unit integer and as decimal string are both Decimals; raw is kept."""
    doc = channex_examples["notification-ari-2022-rates"]
    (item,) = Notification.of(doc, doc["payload"]).items
    assert (item.rate, item.rate_raw, item.date) == (
        Decimal("111.00"),
        11100,
        dt.date(2020, 12, 19),
    )
    assert "rate" in item
    assert AriChange.from_item({"date": "2026-05-01", "rate": "120.50"}).rate == Decimal("120.50")


def test_channel_and_unknown_events() -> None:
    """Channel events get ChannelPayload; unknown events a GenericPayload; nothing raises."""
    channel = Notification.of({"event": "disconnect_channel", "payload": {"channel_id": "c"}})
    assert isinstance(channel.payload, ChannelPayload)
    unknown = Notification.of({"event": "brand_new", "payload": {"x": [1]}, "new_field": 1})
    assert isinstance(unknown.payload, GenericPayload)
    assert unknown.payload.raw == {"x": [1]}


def test_unknown_fields_are_kept_in_raw() -> None:
    """Fields eventmask does not model stay available through raw."""
    n = Notification.of({"event": "booking", "payload": {"booking_id": "b", "new": 5}})
    assert isinstance(n.payload, BookingPayload)
    assert n.payload.raw["new"] == 5


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"event": "message", "payload": {"message": 5}},
            "@ $.payload.message: expected a string or null, got integer",
        ),
        (
            {"event": "review", "payload": {"overall_score": "ten"}},
            "@ $.payload.overall_score: expected a number, got string",
        ),
        (
            {"event": "booking", "payload": ["not", "an", "object"]},
            "@ $.payload: expected an object, got array",
        ),
    ],
)
def test_bad_known_fields_have_paths(doc: dict[str, Any], message: str) -> None:
    """A wrong type in a modelled field raises NotificationError with its JSON path."""
    with pytest.raises(NotificationError) as info:
        _ = Notification.of(doc).payload
    assert str(info.value) == message


def test_bad_item_field_has_path() -> None:
    """A bad value inside an ARI item names the item and the key."""
    items = [{"date": "2026-05-01", "rate": 1}, {"date": "2026-13-45"}]
    n = Notification.of({"event": "ari", "payload": items}, items)
    with pytest.raises(NotificationError) as info:
        _ = n.items
    assert str(info.value) == "@ $.payload[1].date: not a date (YYYY-MM-DD): '2026-13-45'"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-12-24T00:00:00Z", dt.datetime(2021, 12, 24, tzinfo=dt.UTC)),
        ("2021-12-24T00:00:00.1Z", dt.datetime(2021, 12, 24, 0, 0, 0, 100000, dt.UTC)),
        ("2024-08-05T07:35:21.000000", dt.datetime(2024, 8, 5, 7, 35, 21, tzinfo=dt.UTC)),
        (
            "2021-12-24T01:00:00.123456+01:00",
            dt.datetime(2021, 12, 24, 0, 0, 0, 123456, dt.UTC),
        ),
    ],
)
def test_timestamps_with_0_to_6_fraction_digits(text: str, expected: dt.datetime) -> None:
    """Timestamps parse with any fraction length, Z, offset or none."""
    assert parse_timestamp(text) == expected


def test_bad_timestamp_and_absent_timestamp() -> None:
    """An absent timestamp is None; a malformed one is a NotificationError at $.timestamp."""
    assert Notification.of({"event": "x"}).timestamp is None
    with pytest.raises(NotificationError, match=r"\$\.timestamp"):
        _ = Notification.of({"event": "x", "timestamp": "yesterday"}).timestamp


@given(st.integers(-(10**12), 10**12))
def test_integer_rates_are_minor_units(value: int) -> None:
    """An integer rate is that many hundredths."""
    assert parse_rate(value) * 100 == value


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", True, [1]])
def test_bad_rates(value: object) -> None:
    """Non-numeric, non-finite and non-scalar rates are refused."""
    with pytest.raises(ValueError, match="rate"):
        parse_rate(value)
