"""``eventmask webhooks`` and ``eventmask coverage`` end to end: the stand-in for Channex on
loopback, and a real eventmask receiver behind the webhooks' callback URL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventmask import Router
from eventmask.asgi import Receiver
from eventmask.inbox import SQLiteInbox

from ..channex_api import API_KEY, ChannexStandIn, serving
from ..helpers import Server, run_cli, uuid
from ..procs import free_port

OLD, NEW = "old-secret-0123456789", "new-secret-9876543210"
HEADER = "X-Channex-Webhook-Secret"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, ChannexStandIn]]:
    monkeypatch.setenv("CHANNEX_API_KEY", API_KEY)
    monkeypatch.setenv("PMS_SECRET", OLD)
    with serving() as (url, standin):
        monkeypatch.setenv("CHANNEX_API_URL", url)
        yield url, standin


def _file(tmp_path: Path, url: str, properties: int = 3, mask: str = "booking_new") -> str:
    ids = ", ".join(f'"{uuid(n)}"' for n in range(properties))
    path = tmp_path / "webhooks.toml"
    path.write_text(
        f"""[defaults]
callback_url = "{url}"
headers = {{ "{HEADER}" = {{ env = "PMS_SECRET" }} }}

[[webhook]]
property_ids = [{ids}]
event_mask = "{mask}"
""",
        encoding="utf-8",
    )
    return str(path)


def test_plan_then_apply_across_300_properties_then_nothing(
    api: tuple[str, ChannexStandIn], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """300 creations (the listing pages through them), then the same file plans nothing."""
    _, standin = api
    hooks = _file(tmp_path, "https://pms.example.com/channex", properties=300)
    status, out, _ = run_cli(capsys, "webhooks", "plan", hooks)
    assert status == 3
    assert out.splitlines()[-1].startswith("plan: 300 to create, 0 to update")
    status, out, _err = run_cli(capsys, "webhooks", "apply", hooks)
    assert (status, out.splitlines()[-1]) == (0, "applied 300 of 300 steps")
    assert len(standin.webhooks) == 300
    assert all(h["is_active"] and h["send_data"] for h in standin.webhooks.values())
    standin.requests.clear()
    status, out, _ = run_cli(capsys, "webhooks", "apply", hooks)
    assert (status, out.splitlines()[-1]) == (0, "applied 0 of 0 steps")
    assert {m for m, _ in standin.requests} == {"GET"}
    assert len(standin.requests) == 3  # pages of 100
    status, out, _ = run_cli(capsys, "webhooks", "plan", hooks, "--json")
    plan = json.loads(out)
    assert (status, plan["summary"]["unchanged"], plan["steps"]) == (0, 300, [])
    assert sorted(plan["unchanged"]) == sorted(standin.webhooks)


def test_prune_deletes_only_on_managed_urls(
    api: tuple[str, ChannexStandIn], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, standin = api
    ours, theirs = "https://pms.example.com/channex", "https://another-app.example.com/hook"
    stale = standin.add(property_id=uuid(7), callback_url=ours, event_mask="message")
    foreign = standin.add(property_id=uuid(7), callback_url=theirs, event_mask="*")
    hooks = _file(tmp_path, ours, properties=1)
    status, out, _ = run_cli(capsys, "webhooks", "apply", hooks)
    assert status == 0
    assert "1 deletion(s) held for --prune" in out
    assert stale in standin.webhooks
    status, out, _ = run_cli(capsys, "webhooks", "apply", hooks, "--prune")
    assert status == 0
    assert stale not in standin.webhooks
    assert foreign in standin.webhooks


def test_a_partial_failure_is_reported_and_a_rerun_resumes(
    api: tuple[str, ChannexStandIn], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 422 on one creation: named with Channex's details, exit 1; 429/5xx retried; resume."""
    _, standin = api
    hooks = _file(tmp_path, "https://pms.example.com/channex", properties=3)
    standin.faults = [429, 503, (422, {"callback_url": ["is not reachable"]})]
    standin.fault_on = "POST"
    status, out, err = run_cli(capsys, "webhooks", "apply", hooks, "--attempts", "3")
    assert status == 1
    assert "FAILED create" in out
    assert "callback_url: is not reachable" in out
    assert "run apply again to resume" in err
    assert len(standin.webhooks) == 2
    status, out, _ = run_cli(capsys, "webhooks", "apply", hooks)
    assert (status, out.splitlines()[-1]) == (0, "applied 1 of 1 steps")
    assert len(standin.webhooks) == 3


def test_an_invalid_file_and_a_wrong_key_are_one_clear_error(
    api: tuple[str, ChannexStandIn], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    bad = _file(tmp_path, "https://pms.example.com/channex", mask="booking;;x")
    status, out, err = run_cli(capsys, "webhooks", "plan", bad)
    assert (status, out) == (1, "")
    assert "webhooks.toml:5: event_mask: expected an event name after ';'" in err
    monkeypatch.setenv("CHANNEX_API_KEY", "wrong")
    status, _, err = run_cli(capsys, "webhooks", "plan", _file(tmp_path, "https://x.example/"))
    assert status == 1
    assert "HTTP 401" in err
    assert "Traceback" not in err
    monkeypatch.delenv("CHANNEX_API_KEY")  # no key: nothing is sent, a usage error
    status, _, err = run_cli(capsys, "webhooks", "plan", _file(tmp_path, "https://x.example/"))
    assert (status, err) == (
        2,
        "eventmask: error: no Channex API key: set CHANNEX_API_KEY or pass api_key\n",
    )


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, SQLiteInbox]]:
    """A real receiver accepting both the old and the new secret, over a SQLite inbox."""
    inbox = SQLiteInbox(tmp_path / "inbox.db")
    app = Receiver(Router(), secrets=[OLD, NEW], inbox=inbox, path="/channex")
    with Server(app) as url:
        yield f"{url}/channex", inbox
    inbox.close()


def test_verify_proves_the_round_trip_into_the_inbox(
    api: tuple[str, ChannexStandIn], receiver: tuple[str, SQLiteInbox], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url, inbox = receiver
    hooks = _file(tmp_path, url, properties=2)
    assert run_cli(capsys, "webhooks", "apply", hooks)[0] == 0
    status, out, _ = run_cli(capsys, "webhooks", "verify", hooks, "--inbox", str(inbox.path))
    assert status == 0
    assert out.count("arrived as inbox entry") == 2
    assert out.splitlines()[-1] == "verified 2 of 2 webhooks"
    assert {e.property_id for e in inbox.entries()} == {uuid(0), uuid(1)}
    # A webhook whose secret the receiver does not know: refused, and the inbox says why.
    _, standin = api
    for hook in standin.webhooks.values():
        hook["headers"] = {HEADER: "a-secret-nobody-accepts"}
    status, out, _ = run_cli(capsys, "webhooks", "verify", hooks, "--inbox", str(inbox.path))
    assert status == 1
    assert out.count("HTTP 401, refused by the receiver: missing or wrong secret header") == 2
    # A receiver nobody listens on: Channex's own answer, not "HTTP 0".
    (tmp_path / "gone").mkdir()
    gone = _file(tmp_path / "gone", f"http://127.0.0.1:{free_port()}/channex", properties=2)
    assert run_cli(capsys, "webhooks", "apply", gone)[0] == 0
    status, out, _ = run_cli(capsys, "webhooks", "verify", gone)
    assert status == 1
    assert "HTTP 0" not in out
    assert out.count(": no answer (econnrefused)") == 2


def test_rotate_secret_while_the_receiver_accepts_both(
    api: tuple[str, ChannexStandIn], receiver: tuple[str, SQLiteInbox], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    url, _ = receiver
    _, standin = api
    hooks = _file(tmp_path, url, properties=3)
    assert run_cli(capsys, "webhooks", "apply", hooks)[0] == 0
    monkeypatch.setenv("PMS_SECRET", f"{OLD},{NEW}")
    status, out, _ = run_cli(capsys, "webhooks", "rotate-secret", hooks)
    assert status == 0, out
    assert "1/4 the receiver accepts the new secret" in out
    assert "2/4 the new secret is on 3 of 3 webhooks" in out
    assert "3/4 verified 3 of 3 webhooks posting to the file's URLs" in out
    assert out.splitlines()[-1].startswith("4/4 every webhook posting to the file's URLs sends")
    assert {h["headers"][HEADER] for h in standin.webhooks.values()} == {NEW}
    # Step 1 probed the receiver with the new secret, step 3 tested each of the 3 webhooks:
    # four test deliveries, and the receiver took each.
    assert [t["status_code"] for t in standin.tests] == [200, 200, 200, 200]
    assert NEW not in out
    assert OLD not in out


def test_rotate_secret_reaches_drifted_and_held_webhooks(
    api: tuple[str, ChannexStandIn], receiver: tuple[str, SQLiteInbox], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A mask changed in Channex, and a webhook held for --prune: both get the new secret."""
    url, _ = receiver
    _, standin = api
    hooks = _file(tmp_path, url, properties=2)
    assert run_cli(capsys, "webhooks", "apply", hooks)[0] == 0
    drifted = next(iter(standin.webhooks.values()))
    drifted["event_mask"] = "booking_new;review"  # changed by hand in Channex
    standin.add(property_id=uuid(7), callback_url=url, event_mask="message", is_active=True,
                send_data=True, headers={HEADER: OLD})  # fmt: skip
    monkeypatch.setenv("PMS_SECRET", f"{OLD},{NEW}")
    status, out, _ = run_cli(capsys, "webhooks", "rotate-secret", hooks)
    assert status == 0, out
    assert "2 of them the file does not ask for as they are" in out
    assert "3/4 verified 3 of 3 webhooks posting to the file's URLs" in out
    assert {h["headers"][HEADER] for h in standin.webhooks.values()} == {NEW}
    assert drifted["event_mask"] == "booking_new;review"  # only the secret changed


def test_rotate_secret_stops_when_the_receiver_refuses_the_new_one(
    api: tuple[str, ChannexStandIn], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    inbox = SQLiteInbox(tmp_path / "inbox.db")
    app = Receiver(Router(), secrets=[OLD], inbox=inbox, path="/channex")
    _, standin = api
    with Server(app) as url:
        hooks = _file(tmp_path, f"{url}/channex", properties=2)
        assert run_cli(capsys, "webhooks", "apply", hooks)[0] == 0
        monkeypatch.setenv("PMS_SECRET", f"{OLD},{NEW}")
        status, out, _ = run_cli(capsys, "webhooks", "rotate-secret", hooks)
    inbox.close()
    assert status == 1
    assert "1/4 the receiver refused the new secret (HTTP 401)" in out
    assert {h["headers"][HEADER] for h in standin.webhooks.values()} == {OLD}


def test_coverage_from_a_file_and_from_a_listing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """tests.apps:flaky takes everything; a router taking only messages leaves a gap.

    Coverage sends nothing, so the file's secret variable need not be set.
    """
    monkeypatch.delenv("PMS_SECRET", raising=False)
    hooks = _file(tmp_path, "https://pms.example.com/channex", properties=1, mask="booking_new")
    status, out, _ = run_cli(capsys, "coverage", "tests.apps:flaky", "--webhooks", hooks)
    assert (status, out.splitlines()[-1]) == (0, "coverage: 0 gap(s), 0 idle handler(s)")
    status, _, err = run_cli(capsys, "webhooks", "plan", hooks)  # what sends still needs it
    assert status == 1
    assert "environment variable PMS_SECRET is not set" in err
    listing = tmp_path / "list.json"
    listing.write_text(json.dumps({"data": [{"id": "w1", "attributes": {
        "event_mask": "booking_new;message", "callback_url": "u", "is_active": True},
        "relationships": {"property": {"data": {"id": uuid(1)}}}}]}))  # fmt: skip
    status, out, _ = run_cli(capsys, "coverage", "tests.cli.test_webhooks:MESSAGES",
                             "--existing", str(listing), "--json")  # fmt: skip
    report = json.loads(out)
    assert status == 1
    assert [g["example"]["event"] for g in report["gaps"]] == ["booking_new"]
    assert run_cli(capsys, "coverage", "tests.apps:flaky")[0] == 2


MESSAGES = Router()
MESSAGES.add("message", print)


def test_without_httpx_the_commands_name_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx is the client extra: its absence is one line naming it, never a traceback."""
    import sys

    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.setenv("CHANNEX_API_KEY", API_KEY)
    monkeypatch.setenv("PMS_SECRET", OLD)
    hooks = _file(tmp_path, "https://pms.example.com/channex")
    status, _, err = run_cli(capsys, "webhooks", "plan", hooks)
    assert (status, err.splitlines()[-1]) == (
        2,
        "eventmask: the Channex API needs httpx: pip install 'eventmask[client]'",
    )
    status, _, err = run_cli(capsys, "send", "http://127.0.0.1:9/", "--mask", "message")
    assert status == 2
    assert "needs httpx: pip install 'eventmask[client]'" in err
