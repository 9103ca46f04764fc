"""Tests of webhook body validation and the overlap report."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventmask import overlaps_with_existing, validate_webhook
from eventmask.channex import Webhook

from ..conftest import CHANNEX

PROP = "716305c4-561a-4561-a187-7f5b8aeb5920"
OTHER_PROP = "90958ec0-9713-1196-873e-4add0d834670"


def good(**changes: Any) -> dict[str, Any]:
    body = {
        "property_id": PROP,
        "callback_url": "https://pms.example.com/channex",
        "event_mask": "booking_new;booking_modification;booking_cancellation",
        "request_params": {"pms": "acme", "version": 2},
        "headers": {"X-Channex-Webhook-Secret": "s3cret"},
        "is_active": True,
        "send_data": True,
    }
    body.update(changes)
    return {key: value for key, value in body.items() if value is not ...}


def channex(name: str) -> Any:
    return json.loads((CHANNEX / name).read_text())


def test_a_careful_body_is_valid_without_warnings() -> None:
    """Every field right, a secret header set: valid, no warnings, mask parsed."""
    report = validate_webhook({"webhook": good()})
    assert report.valid
    assert report.warnings == ()
    assert str(report.mask) == "booking_cancellation;booking_modification;booking_new"


def test_documented_create_request() -> None:
    """Channex's documented create body is valid, with the missing-secret warning."""
    report = validate_webhook(channex("webhook-create-request.json"))
    assert report.valid
    assert report.warnings == (
        "headers has no secret-looking header (such as X-Channex-Webhook-Secret): "
        "Channex signs nothing, so the receiver cannot authenticate deliveries",
    )


def test_documented_422_example() -> None:
    """A body without property_id renders exactly as Channex's documented 422 response."""
    report = validate_webhook({"webhook": good(property_id=...)})
    assert report.as_channex_error() == channex("webhook-validation-error-response.json")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"property_id": "not-a-uuid"}, "property_id", "is not a valid UUID: 'not-a-uuid'"),
        ({"property_id": 5}, "property_id", "is not a valid UUID: 5"),
        ({"property_id": None}, "property_id", "can't be blank"),
        ({"callback_url": ...}, "callback_url", "can't be blank"),
        (
            {"callback_url": "ftp://x.example"},
            "callback_url",
            "must be an http or https URL, not 'ftp'",
        ),
        ({"callback_url": "https://"}, "callback_url", "must name a host"),
        ({"callback_url": ["https://x"]}, "callback_url", "must be a string, not array"),
        (
            {"callback_url": "https://x.example/" + "a" * 5000},
            "callback_url",
            "is too long (5,018 characters; at most 2,048)",
        ),
        ({"event_mask": ...}, "event_mask", "can't be blank"),
        (
            {"event_mask": "Booking"},
            "event_mask",
            "upper case in event name 'Booking': names are lower case ('booking') (at position 0)",
        ),
        ({"event_mask": {"a": 1}}, "event_mask", "must be a string, not object"),
        (
            {"event_mask": "x" * 70_000},
            "event_mask",
            "mask is 70,000 characters long; the limit is 65,536 (at position 65536)",
        ),
        ({"request_params": [1]}, "request_params", "must be an object, not array"),
        (
            {"request_params": {"a": {"b": 1}}},
            "request_params",
            "'a' must be a string, number, boolean or null, not {'b': 1}",
        ),
        ({"headers": {"X-Secret": 5}}, "headers", "'X-Secret' must be a string, not 5"),
        ({"headers": "X-Secret: 1"}, "headers", "must be an object, not string"),
        ({"is_active": "yes"}, "is_active", "must be true or false, not 'yes'"),
        ({"send_data": 1}, "send_data", "must be true or false, not 1"),
        ({"is_global": "no"}, "is_global", "must be true or false"),
    ],
)
def test_field_rules(changes: dict[str, Any], field: str, message: str) -> None:
    """Each field rule produces its own error under its own field, and nothing raises."""
    report = validate_webhook(good(**changes))
    assert not report.valid
    assert report.errors == {field: [message]}


def test_global_webhook_may_omit_property() -> None:
    """is_global true with a null property_id is valid; false with null is not."""
    assert validate_webhook(good(property_id=None, is_global=True)).valid
    assert validate_webhook(good(property_id=None, is_global=False)).errors == {
        "property_id": ["can't be blank"]
    }


def test_warnings_for_silent_or_dataless_webhooks() -> None:
    """Missing is_active/send_data default to false and warn; lint findings warn too."""
    report = validate_webhook(
        good(is_active=..., send_data=False, event_mask="booking;booking_new")
    )
    assert report.valid
    assert report.webhook["is_active"] is False
    assert report.warnings == (
        "event_mask: EM102 'booking' together with 'booking_new': one booking revision is "
        "delivered twice",
        "is_active is false: the webhook exists but Channex sends nothing to it",
        "send_data is false: notifications carry no payload; pull the data from the API",
    )


def test_plain_http_and_unknown_fields_warn() -> None:
    """An http callback and an unknown field are warnings, not errors."""
    report = validate_webhook(good(callback_url="http://pms.example.com/x", colour="blue"))
    assert report.valid
    assert report.warnings == (
        "callback_url uses plain http: the shared secret travels unencrypted",
        "unknown field 'colour' is not part of a Channex webhook",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "is not valid JSON: unexpected end of data (line 1, column 2)"),
        ([1, 2], "must be an object, not array"),
        ({"webhook": "x"}, "must be an object, not string"),
        (None, "must be an object, not null"),
    ],
)
def test_malformed_bodies(body: Any, message: str) -> None:
    """Bodies that are not objects get an error under 'webhook'."""
    assert validate_webhook(body).errors == {"webhook": [message]}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(
        st.sampled_from(
            [
                "property_id",
                "callback_url",
                "event_mask",
                "request_params",
                "headers",
                "is_active",
                "send_data",
                "is_global",
                "x",
            ]
        ),
        json_values,
    )
)
def test_validation_never_raises(body: dict[str, Any]) -> None:
    """Any JSON-shaped garbage gets a report, never an exception."""
    report = validate_webhook({"webhook": body})
    assert isinstance(report.valid, bool)
    for messages in report.errors.values():
        assert messages


# -- overlaps with existing webhooks -------------------------------------------------------


def listing(*hooks: dict[str, Any]) -> dict[str, Any]:
    data = []
    for n, hook in enumerate(hooks):
        prop = hook.pop("property", PROP)
        data.append(
            {
                "id": f"w{n}",
                "type": "webhook",
                "attributes": {
                    "is_active": True,
                    "callback_url": f"https://h{n}.example/x",
                    **hook,
                },
                "relationships": {"property": {"data": {"type": "property", "id": prop}}}
                if prop
                else {},
            }
        )
    return {"data": data, "meta": {"page": 1, "total": len(data), "limit": 10}}


def test_documented_list_response_redundant_and_same_url() -> None:
    """Against the documented list ('*' at the same URL), the new '*' is redundant and doubled."""
    findings = overlaps_with_existing(
        channex("webhook-create-request.json"), channex("webhook-list-response.json")
    )
    assert [f.kind for f in findings] == ["same_url", "redundant"]
    assert all(f.webhook_id == "a9a88747-767e-458c-99e0-9212fcfb0b39" for f in findings)


def test_overlap_with_witness_and_scope_rules() -> None:
    """Overlaps are reported with a witness; inactive and other-property webhooks are skipped."""
    existing = listing(
        {"event_mask": "booking_new;message"},
        {"event_mask": "booking_new", "is_active": False},
        {"event_mask": "booking_new", "property": OTHER_PROP},
        {"event_mask": "review"},
    )
    findings = overlaps_with_existing(good(), existing)
    assert [(f.kind, f.webhook_id) for f in findings] == [("overlap", "w0")]
    example = findings[0].example
    assert example is not None
    assert example["event"] == "booking_new"


def test_global_next_to_property_webhook() -> None:
    """A property webhook next to a global one is reported: Channex delivers only one."""
    findings = overlaps_with_existing(good(), listing({"event_mask": "ari", "property": None}))
    assert [f.kind for f in findings] == ["global_shadowed"]


def test_unreadable_existing_mask_is_reported() -> None:
    """An existing webhook whose mask cannot be parsed is reported, not fatal."""
    findings = overlaps_with_existing(good(), listing({"event_mask": "booking;;"}))
    assert [f.kind for f in findings] == ["invalid_existing"]


def test_typed_webhooks_are_compared_as_the_listing_is() -> None:
    """The `Webhook`s a client lists give the same findings as the JSON they were read from."""
    raw = channex("webhook-list-response.json")
    typed = [Webhook.from_api(entry) for entry in raw["data"]]
    body = channex("webhook-create-request.json")
    assert overlaps_with_existing(body, typed) == overlaps_with_existing(body, raw)
    assert [f.kind for f in overlaps_with_existing(body, typed)] == ["same_url", "redundant"]
