"""Planning: matching by property, URL and canonical mask; updates field by field; findings."""

from __future__ import annotations

from typing import Any

from eventmask._channex.webhook import Webhook
from eventmask._webhooks.desired import read_desired
from eventmask._webhooks.plan import make_plan, plan_summary

from ..helpers import uuid

URL = "https://pms.example.com/channex"
SECRET = "X-Channex-Webhook-Secret"
FILE = f"""
[defaults]
callback_url = "{URL}"
headers = {{ "{SECRET}" = {{ env = "S" }} }}

[[webhook]]
property_id = "{uuid(1)}"
event_mask = "booking_new;booking_cancellation"

[[webhook]]
property_id = "{uuid(2)}"
event_mask = "ari:rate:*:*"
"""


def _state(secret: str = "new-secret-0123456789") -> Any:
    return read_desired(FILE, "w.toml", {"S": secret})


def _existing(n: int, mask: str, **fields: Any) -> Webhook:
    base: dict[str, Any] = {"id": f"w{n}", "property_id": uuid(n), "callback_url": URL,
                            "event_mask": mask, "is_active": True, "send_data": True,
                            "headers": {SECRET: "new-secret-0123456789"}}  # fmt: skip
    return Webhook(**{**base, **fields})


def test_an_account_in_sync_has_nothing_to_do() -> None:
    """Masks are compared in canonical form: another spelling is the same webhook."""
    account = [_existing(1, "booking_cancellation;booking_new"), _existing(2, "ari:rate:*:*")]
    plan = make_plan(_state(), account)
    assert (plan.steps, len(plan.unchanged)) == ((), 2)


def test_field_changes_are_updates_and_secrets_are_masked() -> None:
    account = [
        _existing(1, "booking_cancellation;booking_new", is_active=False,
                  headers={SECRET: "old-secret-9876543210"}),
        _existing(2, "ari:rate:*:*"),
    ]  # fmt: skip
    (step,) = make_plan(_state(), account).steps
    assert (step.action, step.existing and step.existing.id) == ("update", "w1")
    lines = [c.describe() for c in step.changes]
    assert lines == [f"headers.{SECRET}: ****3210 -> ****6789", "is_active: False -> True"]
    assert "old-secret" not in str(step.as_json())


CREDENTIALS = {
    "Authorization": "Bearer sk_live_51HxQ2bC3dE4fG5hI6",
    "X-Api-Key": "plain-literal-key-value",
    "X-Note": "Basic dXNlcjpwYXNzd29yZA==",
}


def test_credentials_in_existing_headers_and_params_are_masked() -> None:
    """Headers and request_params that look like credentials, not only `{ env = ... }` ones."""
    headers = {SECRET: "new-secret-0123456789", **CREDENTIALS, "X-Source": "channex"}
    params = {"token": "a1b2c3d4e5f6a7b8c9d0e1f2", "api_key": 123456789012, "source": "channex"}
    account = [
        _existing(1, "booking_cancellation;booking_new", headers=headers, request_params=params),
        _existing(2, "ari:rate:*:*"),
    ]
    (step,) = make_plan(_state(), account).steps
    shown = "\n".join(c.describe() for c in step.changes) + str(step.as_json())
    for value in [*CREDENTIALS.values(), params["token"], str(params["api_key"])]:
        assert str(value) not in shown
        assert str(value)[:6] not in shown
    assert f"headers.Authorization: ****{CREDENTIALS['Authorization'][-4:]} -> None" in shown
    assert "request_params.token: ****e1f2 -> None" in shown
    assert "request_params.api_key: ****9012 -> None" in shown
    # What is no credential stays readable, so that a plan still says what changes.
    assert "headers.X-Source: 'channex' -> None" in shown
    assert "request_params.source: 'channex' -> None" in shown


def test_one_leftover_per_property_and_url_is_a_mask_change() -> None:
    """w1 posts there with another mask: updated in place, not deleted and recreated."""
    account = [_existing(1, "booking"), _existing(2, "ari:rate:*:*")]
    (step,) = make_plan(_state(), account).steps
    assert step.action == "update"
    assert [c.field for c in step.changes] == ["event_mask"]


def test_deletions_wait_for_prune_and_touch_only_managed_urls() -> None:
    """A webhook on another URL is never planned; one on ours is deleted only with prune."""
    account = [
        _existing(1, "booking_cancellation;booking_new"),
        _existing(2, "ari:rate:*:*"),
        _existing(3, "message"),
        _existing(4, "*", callback_url="https://someone-else.example.com/hook"),
    ]
    plan = make_plan(_state(), account)
    assert [(s.action, s.existing and s.existing.id) for s in plan.steps] == [("delete", "w3")]
    assert (plan.pending, [s.existing and s.existing.id for s in plan.held]) == ((), ["w3"])
    pruned = make_plan(_state(), account, prune=True)
    assert plan_summary(pruned) == {
        "create": 0,
        "update": 0,
        "delete": 1,
        "held": 0,
        "unchanged": 2,
    }


def test_missing_webhooks_are_created() -> None:
    plan = make_plan(_state(), [])
    assert [(s.action, s.webhook.property_id) for s in plan.steps] == [
        ("create", uuid(1)),
        ("create", uuid(2)),
    ]
    assert all(s.webhook.is_active and s.webhook.send_data for s in plan.steps)


def test_findings_across_the_account() -> None:
    """Duplicate delivery with a witness, inactive, no data, and a missing secret."""
    account = [
        _existing(1, "booking;booking_new"),
        _existing(1, "booking_new;message", id="w1b"),
        _existing(2, "ari:rate:*:*", is_active=False, send_data=False, headers={}),
    ]
    findings = make_plan(_state(), account).findings
    kinds = sorted(f.kind for f in findings)
    assert kinds == ["duplicate", "inactive", "mask_warning", "no_data", "no_secret"]
    duplicate = next(f for f in findings if f.kind == "duplicate")
    assert duplicate.webhook_ids == ("w1", "w1b")
    assert duplicate.example is not None
    assert duplicate.example["event"] == "booking_new"
