"""``eventmask send``: JSON Lines and mask-made notifications to a real receiver on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventmask import Router
from eventmask.asgi import Receiver
from eventmask.inbox import SQLiteInbox

from ..helpers import Server, dumps, run_cli

SECRET = "a-long-shared-secret"


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, SQLiteInbox]]:
    inbox = SQLiteInbox(tmp_path / "inbox.db")
    app = Receiver(Router(), secrets=[SECRET], inbox=inbox, path="/channex")
    with Server(app) as url:
        yield f"{url}/channex", inbox
    inbox.close()


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTMASK_SECRET", SECRET)


def test_a_log_is_redelivered_byte_for_byte(
    receiver: tuple[str, SQLiteInbox], secret: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Each line is posted as it is; a repeated line is acknowledged as a duplicate."""
    url, inbox = receiver
    lines = [b'{"event":"message", "payload": {"id": 1}}', b'{"event": "review"}']
    log = tmp_path / "log.jsonl"
    log.write_bytes(b"\n".join([lines[0], lines[1], b"", lines[0]]) + b"\n")
    status, out, err = run_cli(capsys, "send", url, str(log), "--no-progress")
    assert (status, err) == (0, "")
    assert out == "sent 3: 3 acknowledged (1 duplicates), refused none, 0 failed, 0 retries\n"
    stored = sorted(e.body for e in inbox.entries())
    assert stored == sorted(lines)


def test_mask_made_notifications_and_a_json_summary(
    receiver: tuple[str, SQLiteInbox], secret: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """--mask makes what the webhook would receive, --count rounds of it."""
    url, inbox = receiver
    status, out, _ = run_cli(
        capsys, "send", url, "--mask", "booking_new;ari:rate:*:*", "--count", "3", "--json",
        "--concurrency", "2", "--property-id", "716305c4-561a-4561-a187-7f5b8aeb5920",
    )  # fmt: skip
    summary = json.loads(out)
    assert status == 0
    assert (summary["sent"], summary["acknowledged"], summary["not_acknowledged"]) == (6, 6, [])
    events = sorted(e.event for e in inbox.entries())
    assert events == ["ari"] * 3 + ["booking_new"] * 3
    assert all("rate" in json.loads(e.body)["payload"][0] for e in inbox.entries("pending")
               if e.event == "ari")  # fmt: skip


def test_a_wrong_secret_is_refused_and_exits_1(
    receiver: tuple[str, SQLiteInbox], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """401s are refusals: not retried, named on stderr, counted in the summary, exit 1."""
    url, inbox = receiver
    monkeypatch.setenv("EVENTMASK_SECRET", "not-the-secret-at-all")
    status, out, err = run_cli(capsys, "send", url, "--mask", "message", "--no-progress")
    assert status == 1
    assert "refused 401 x1" in out
    assert "0 retries" in out
    assert "#0 message: refused with HTTP 401" in err
    assert inbox.entries() == []


def test_no_secret_is_said_and_refused(
    receiver: tuple[str, SQLiteInbox], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.delenv("EVENTMASK_SECRET", raising=False)
    status, out, err = run_cli(capsys, "send", receiver[0], "--mask", "message")
    assert status == 1
    assert "EVENTMASK_SECRET is not set" in err
    assert "refused 401 x1" in out


def test_invalid_lines_stop_everything_unless_skipped(
    receiver: tuple[str, SQLiteInbox], secret: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """A line that is not a notification is named with file:line; nothing is sent."""
    url, inbox = receiver
    log = tmp_path / "log.jsonl"
    log.write_bytes(dumps({"event": "message"}) + b"\n[1]\n{oops\n")
    status, out, err = run_cli(capsys, "send", url, str(log))
    assert (status, out) == (2, "")
    assert f"{log}:2: not a notification: @ $: expected a JSON object, got array" in err
    assert f"{log}:3: not a notification" in err
    assert "2 lines not a notification; nothing was sent" in err
    assert inbox.entries() == []
    status, out, _ = run_cli(capsys, "send", url, str(log), "--skip-invalid", "--no-progress")
    assert status == 0
    assert out.startswith("sent 1: 1 acknowledged")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["send", "ftp://x/", "--mask", "message"], "URL must start with http://"),
        (["send", "http://127.0.0.1:9/"], "send needs FILE arguments"),
        (["send", "http://127.0.0.1:9/", "--mask", "ari:bogus:*:*"], "unknown restriction"),
        (["send", "http://127.0.0.1:9/", "/nonexistent/log.jsonl"], "cannot read"),
        (["send", "http://127.0.0.1:9/", "--mask", "message", "--rate", "0"], "greater than 0"),
        (["send", "http://127.0.0.1:9/", "--mask", "message", "--duplicates", "2"], "at most 1"),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run_cli(capsys, *argv)
    assert (status, out) == (2, "")
    assert message in err
    assert "Traceback" not in err


def test_the_newest_of_several_secrets_is_sent(
    receiver: tuple[str, SQLiteInbox], monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """EVENTMASK_SECRET=old,new while a secret rotates: the last one goes in the header."""
    monkeypatch.setenv("EVENTMASK_SECRET", f"an-old-secret-retired,{SECRET}")
    status, out, _ = run_cli(capsys, "send", receiver[0], "--mask", "message", "--no-progress")
    assert (status, out.split(":")[0]) == (0, "sent 1")


@pytest.mark.parametrize(
    ("secret_value", "extra", "message"),
    [
        ("a-long-shared-secret-\udcff", [], "a secret must be valid UTF-8 text"),
        ("a-long-shared-secret-é", [], "a secret to send must be ASCII text"),
        (SECRET, ["--header", "x-\udce9"], "header must be an HTTP header name"),
        (SECRET, ["--header", ""], "header must be an HTTP header name"),
    ],
)
def test_a_secret_or_header_no_request_can_carry_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    secret_value: str, extra: list[str], message: str,
) -> None:  # fmt: skip
    """What os.environ holds for bytes that are not UTF-8, and such a header: exit 2, no send."""
    monkeypatch.setenv("EVENTMASK_SECRET", secret_value)
    log = tmp_path / "one.jsonl"
    log.write_bytes(b'{"event":"message"}\n')
    status, _, err = run_cli(capsys, "send", "http://127.0.0.1:9/x", str(log), *extra)
    assert status == 2
    assert message in err
    assert "Traceback" not in err
