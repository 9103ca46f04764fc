"""The webhooks file: defaults, expansion over properties, secrets from the environment, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventmask._errors import WebhookConfigError
from eventmask._webhooks.desired import load_desired, read_desired

from ..helpers import uuid

GOOD = f"""
[defaults]
callback_url = "https://pms.example.com/channex"
headers = {{ "X-Channex-Webhook-Secret" = {{ env = "PMS_SECRET" }}, "X-Source" = "channex" }}

[[webhook]]
property_ids = ["{uuid(1)}", "{uuid(2).upper()}"]
event_mask = "booking_new;booking_cancellation"

[[webhook]]
global = true
event_mask = "message"
send_data = false
"""
ENV = {"PMS_SECRET": "a-long-shared-secret"}


def test_defaults_expand_and_flags_default_to_on() -> None:
    state = read_desired(GOOD, "w.toml", ENV)
    hooks = [d.webhook for d in state.webhooks]
    assert [h.property_id for h in hooks] == [uuid(1), uuid(2), None]
    assert {d.canonical_mask for d in state.webhooks} == {
        "booking_cancellation;booking_new",
        "message",
    }
    assert [(h.is_active, h.send_data) for h in hooks] == [
        (True, True),
        (True, True),
        (True, False),
    ]
    assert hooks[0].headers == {
        "X-Channex-Webhook-Secret": "a-long-shared-secret",
        "X-Source": "channex",
    }
    assert state.managed_urls == {"https://pms.example.com/channex"}
    assert state.secret_headers == {"x-channex-webhook-secret"}
    assert [d.where for d in state.webhooks] == ["w.toml:6", "w.toml:6", "w.toml:10"]


def test_every_problem_is_reported_at_once_with_its_line() -> None:
    text = """
[defaults]
callback_url = "ftp://pms.example.com/channex"
colour = "blue"

[[webhook]]
property_id = "not-a-uuid"
event_mask = "booking;;message"

[[webhook]]
event_mask = "message"
headers = { "X-Channex-Webhook-Secret" = { env = "UNSET_VARIABLE" } }

[[webhook]]
property_id = "716305c4-561a-4561-a187-7f5b8aeb5920"
evnt_mask = "message"
"""
    with pytest.raises(WebhookConfigError) as caught:
        read_desired(text, "w.toml", {})
    problems = caught.value.problems
    assert "w.toml: defaults: unknown key 'colour'" in problems
    caret = next(p for p in problems if p.startswith("w.toml:6: event_mask:"))
    assert "expected an event name after ';'" in caret
    assert "booking;;message\n" in caret
    assert "^" in caret
    assert "w.toml:10: give one of property_id, property_ids or global = true" in problems
    unset = "environment variable UNSET_VARIABLE is not set"
    assert f"w.toml:10: headers.X-Channex-Webhook-Secret: {unset}" in problems
    assert "w.toml:14: unknown key 'evnt_mask'" in problems
    assert any(p.startswith("w.toml:14: event_mask:") for p in problems)


def test_bad_toml_and_unreadable_files_are_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(WebhookConfigError, match=r"not valid TOML: .*line 2"):
        read_desired("[[webhook]]\nevent_mask = \n", "w.toml", {})
    with pytest.raises(WebhookConfigError, match="cannot read: No such file"):
        load_desired(tmp_path / "missing.toml")
    (tmp_path / "empty.toml").write_text("")
    with pytest.raises(WebhookConfigError, match=r"no \[\[webhook\]\] tables"):
        load_desired(tmp_path / "empty.toml")


def test_the_same_webhook_twice_is_refused() -> None:
    mask = "booking_cancellation;booking_new"
    text = GOOD + f'\n[[webhook]]\nproperty_id = "{uuid(1)}"\nevent_mask = "{mask}"\n'
    with pytest.raises(WebhookConfigError, match=r"w.toml:15: the same webhook as w.toml:6"):
        read_desired(text, "w.toml", ENV)


def test_the_newest_of_several_secrets_is_sent() -> None:
    """While a secret rotates (EVENTMASK_SECRET=old,new), webhooks carry the new one."""
    state = read_desired(GOOD, "w.toml", {"PMS_SECRET": "old-secret-value, new-secret-value"})
    assert state.webhooks[0].webhook.headers["X-Channex-Webhook-Secret"] == "new-secret-value"
