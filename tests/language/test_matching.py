"""Tests of the matching semantics (docs/routing.md) on `Mask.matches` and `Mask.select`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eventmask import NotificationError, parse

RT1 = "27e24739-239c-4619-9c30-0dc390f5d7ac"
RP1 = "04c607e4-644d-45ea-ab1a-da920ee36e50"
RT2 = "98509ae6-2c1f-4c2b-9d6e-5b3f0a7c1d22"


def ari(*items: dict[str, Any]) -> dict[str, Any]:
    return {"event": "ari", "property_id": "p", "payload": list(items)}


def test_star_matches_everything_and_selects_all_items() -> None:
    """'*' matches any event and selects every ARI item."""
    items = [{"rate": 1}, {"booked": 2}]
    assert parse("*").matches({"event": "anything_new"})
    assert parse("*").select(ari(*items)) == items


def test_event_names_are_exact() -> None:
    """booking does not match booking_new, and vice versa."""
    assert not parse("booking").matches({"event": "booking_new"})
    assert not parse("booking_new").matches({"event": "booking"})
    assert parse("booking;booking_new").matches({"event": "booking_new"})


def test_alias_matches_both_spellings() -> None:
    """The deprecated alias and the current name match each other's notifications."""
    assert parse("disconnected_channel").matches({"event": "disconnect_channel"})
    assert parse("disconnect_channel").matches({"event": "disconnected_channel"})


def test_plain_ari_matches_empty_and_signal_only() -> None:
    """'ari' matches every ari notification, an empty payload and no payload included."""
    assert parse("ari").matches(ari())
    assert parse("ari").matches({"event": "ari"})
    assert parse("ari").select(ari({"rate": 1})) == [{"rate": 1}]


def test_filter_on_empty_payload_does_not_match() -> None:
    """A filter selects nothing from an empty payload, so it does not match."""
    assert not parse("ari:rate:*:*").matches(ari())


def test_signal_only_ari_matches_every_filter_and_selects_nothing() -> None:
    """Without a payload every ari filter matches (the receiver pulls) and selects nothing."""
    mask = parse(f"ari:rate:{RT1}:*")
    assert mask.matches({"event": "ari", "property_id": "p"})
    assert mask.select({"event": "ari", "property_id": "p"}) == []
    assert mask.matches({"event": "ari", "payload": None})


def test_restriction_key_present_whatever_its_value() -> None:
    """A key counts when present, even with a false or null value."""
    assert parse("ari:stop_sell:*:*").select(ari({"stop_sell": False})) == [{"stop_sell": False}]
    assert parse("ari:rate:*:*").select(ari({"rate": None})) == [{"rate": None}]
    assert parse("ari:rate:*:*").select(ari({"booked": 1})) == []


def test_ids_compare_case_insensitively() -> None:
    """Upper-case ids in the mask or the item still match."""
    mask = parse(f"ari:*:{RT1.upper()}:*")
    assert mask.select(ari({"room_type_id": RT1, "rate": 1})) == [{"room_type_id": RT1, "rate": 1}]
    assert parse(f"ari:*:{RT1}:*").matches(ari({"room_type_id": RT1.upper()}))


def test_null_and_absent_ids_match_only_star() -> None:
    """A null or missing id matches '*' but no id list."""
    items = [{"rate": 1, "room_type_id": None}, {"rate": 2}]
    assert parse("ari:rate:*:*").select(ari(*items)) == items
    assert parse(f"ari:rate:{RT1}:*").select(ari(*items)) == []
    assert parse(f"ari:rate:*:{RP1}").select(ari(*items)) == []


def test_selection_is_union_in_payload_order_each_item_once() -> None:
    """Items selected by several mask items appear once, in payload order."""
    items = [
        {"room_type_id": RT2, "rate": 1},
        {"room_type_id": RT1, "availability": 1},
        {"room_type_id": RT1, "rate": 3, "availability": 2},
        {"booked": 9},
    ]
    mask = parse(f"ari:availability:*:*;ari:rate:{RT1}:*")
    assert mask.select(ari(*items)) == [items[1], items[2]]


def test_select_returns_the_original_mappings() -> None:
    """Selected items are the very objects of the payload, not copies or projections."""
    item = {"rate": 5, "extra": {"nested": True}}
    (chosen,) = parse("ari:rate:*:*").select(ari(item))
    assert chosen is item


def test_select_on_non_ari_is_empty() -> None:
    """Non-ARI events select no items, even when matched."""
    assert parse("*").select({"event": "booking", "payload": {"x": 1}}) == []


def test_json_bytes_and_str_are_accepted() -> None:
    """A notification may be a mapping or its JSON text."""
    doc = ari({"rate": 1})
    assert parse("ari:rate:*:*").matches(json.dumps(doc))
    assert parse("ari:rate:*:*").matches(json.dumps(doc).encode())


@pytest.mark.parametrize(
    ("notification", "message"),
    [
        (b"{", "@ $: invalid JSON: unexpected end of data (line 1, column 2)"),
        (b"[1, 2]", "@ $: expected a JSON object, got array"),
        ({"payload": {}}, "@ $: missing required field 'event'"),
        ({"event": 5}, "@ $.event: expected a string, got integer"),
        ({"event": None}, "@ $.event: expected a string, got null"),
        (42, "@ $: expected a mapping or JSON bytes/str, got int"),
        (
            {"event": "ari", "payload": {"rate": 1}},
            "@ $.payload: expected an array of ARI items, got object",
        ),
        (
            {"event": "ari", "payload": [{"rate": 1}, 3]},
            "@ $.payload[1]: expected an ARI item object, got integer",
        ),
    ],
)
def test_bad_notifications_raise_notification_error(notification: Any, message: str) -> None:
    """Unusable input raises NotificationError with a JSON path, never anything else."""
    with pytest.raises(NotificationError) as info:
        parse("ari:rate:*:*").select(notification)
    assert str(info.value) == message


def test_unknown_events_and_fields_are_fine() -> None:
    """An event eventmask has never heard of matches '*' and nothing else, quietly."""
    doc = {"event": "brand_new_event", "payload": {"whatever": [1, 2]}, "new_field": True}
    assert parse("*").matches(doc)
    assert not parse("booking;ari").matches(doc)


def test_documented_examples(channex_examples: dict[str, dict[str, Any]]) -> None:
    """Each documented Channex notification matches the masks it should."""
    ex = channex_examples
    assert (
        parse("ari:availability:*:*").select(ex["notification-ari"])
        == ex["notification-ari"]["payload"]
    )
    assert parse("ari:rate:*:*").select(ex["notification-ari"]) == []
    assert (
        parse("ari:rate:*:*").select(ex["notification-ari-2022-rates"])
        == ex["notification-ari-2022-rates"]["payload"]
    )
    assert parse("booking").matches(ex["notification-booking"])
    assert parse("booking_new").matches(ex["notification-booking_new-signal-only"])
    assert parse("booking_unmapped_rate").matches(ex["notification-booking_unmapped_rate"])
    assert not parse("booking_unmapped_rate").matches(ex["notification-booking_unmapped_room"])
    assert parse("message;review").matches(ex["notification-review"])
    assert parse("sync_error").matches(ex["notification-sync_error"])
    for doc in ex.values():
        assert parse("*").matches(doc)
