"""Tests of the one notification reader: decoding, the envelope, ARI items, the revision id."""

from __future__ import annotations

from typing import Any

import pytest

from eventmask import InputError, NotificationError, Router, filter_lines, parse
from eventmask._envelope import Envelope, check_ari_items, decode_line, load, revision_id


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "invalid JSON: unexpected end of data"),
        (b"[1, 2]", "expected a JSON object, got array"),
        (b'{"payload": {}}', "missing required field 'event'"),
        (b'{"event": 7}', "expected a string, got integer"),
    ],
)
def test_one_wording_for_the_router_and_the_filter(raw: bytes, message: str) -> None:
    """The router's NotificationError and the filter's InputError say the same thing."""
    with pytest.raises(NotificationError) as routed:
        Router().dispatch(raw)
    assert routed.value.message == message
    with pytest.raises(InputError) as filtered:
        list(filter_lines(parse("*"), [b'{"event": "x"}', raw], source="feed.jsonl"))
    assert filtered.value.message.startswith(message)
    assert (filtered.value.source, filtered.value.line) == ("feed.jsonl", 2)


def test_a_json_error_has_its_column_in_both() -> None:
    """Invalid JSON: the router says line and column, the filter gives file:line:column."""
    with pytest.raises(NotificationError) as routed:
        load(b'{"event": "ari", oops}')
    assert (routed.value.line, routed.value.column) == (1, 18)
    with pytest.raises(InputError) as filtered:
        decode_line(b'{"event": "ari", oops}', "f", 9)
    assert str(filtered.value).startswith("f:9:18: invalid JSON: ")


@pytest.mark.parametrize(
    ("payload", "path", "message"),
    [
        ("not a list", "$.payload", "expected an array of ARI items, got string"),
        ({"a": 1}, "$.payload", "expected an array of ARI items, got object"),
        ([{"rate": 1}, 2], "$.payload[1]", "expected an ARI item object, got integer"),
        ([[1]], "$.payload[0]", "expected an ARI item object, got array"),
    ],
)
def test_the_ari_item_shape_check(payload: Any, path: str, message: str) -> None:
    """The one item-shape check names the bad item; the router raises exactly it."""
    with pytest.raises(NotificationError) as direct:
        check_ari_items(payload)
    assert (direct.value.path, direct.value.message) == (path, message)
    router = Router()
    router.add("ari:rate:*:*", print)
    with pytest.raises(NotificationError) as routed:
        router.match({"event": "ari", "payload": payload})
    assert (routed.value.path, routed.value.message) == (path, message)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"revision_id": "R1"}, "R1"),
        ({"booking_revision_id": "R2"}, "R2"),
        ({"revision_id": None, "booking_revision_id": "R3"}, "R3"),
        ({"revision_id": "", "booking_revision_id": "R4"}, "R4"),
        ({"revision_id": "R5", "booking_revision_id": "other"}, "R5"),
        ({}, None),
    ],
)
def test_the_revision_id_rule(payload: dict[str, Any], expected: str | None) -> None:
    """The first non-empty string of revision_id, booking_revision_id is the revision."""
    assert revision_id(payload) == expected


def test_a_revision_id_of_another_type() -> None:
    """Strict: an error at its path.  Lenient (the receiver): skipped."""
    with pytest.raises(NotificationError, match=r"\$\.payload\.revision_id"):
        revision_id({"revision_id": 5})
    assert revision_id({"revision_id": 5, "booking_revision_id": "R"}, strict=False) == "R"


def test_envelope_of_a_delivery() -> None:
    """The envelope keeps the exact body and what the inbox needs."""
    body = b'{"event":"booking","property_id":"P","payload":{"booking_revision_id":"R"}}'
    env = Envelope.read(body)
    assert (env.body, env.event, env.property_id, env.revision) == (body, "booking", "P", "R")
    other = Envelope.read(b'{"event":"message","payload":{"revision_id":"R"}}')
    assert other.revision is None  # only the events that deliver a revision twice
    assert Envelope.read(b'{"event":"booking","property_id":5}').property_id is None
