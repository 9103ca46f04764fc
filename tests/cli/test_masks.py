"""Tests of the `eventmask` command line (check and lint)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import CHANNEX
from ..helpers import run_cli as run


def test_check_prints_canonical_forms(capsys: pytest.CaptureFixture[str]) -> None:
    """check prints one canonical form per mask and exits 0."""
    status, out, err = run(capsys, "check", "message;booking_new", "ari:*:*:*")
    assert (status, out, err) == (0, "booking_new;message\nari\n", "")


def test_check_invalid_mask_exits_1_with_caret(capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid mask goes to stderr with a caret; valid ones still print."""
    status, out, err = run(capsys, "check", "booking", "booking;;x")
    assert status == 1
    assert out == "booking\n"
    assert err == (
        "eventmask: invalid mask 'booking;;x': expected an event name after ';' (at position 8)\n"
        "  booking;;x\n"
        "          ^\n"
    )


def test_check_lenient_repairs_and_warns(capsys: pytest.CaptureFixture[str]) -> None:
    """--lenient prints the repaired mask and its warnings on stderr."""
    status, out, err = run(capsys, "check", "--lenient", "Booking")
    assert status == 0
    assert out == "booking\n"
    assert "Booking:0: EM007" in err


def test_check_json_has_channex_422_shape(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints errors exactly as Channex's validation error body."""
    status, out, _ = run(capsys, "check", "--json", "booking;;x", "ari:rate")
    assert status == 1
    assert json.loads(out) == {
        "errors": {
            "code": "validation_error",
            "title": "Validation Error",
            "details": {
                "event_mask": [
                    "expected an event name after ';' at position 8 in 'booking;;x'",
                    "partial ari filter 'ari:rate': expected ':' and the room type ids and "
                    "rate plan ids (add ':*:*' for any) at position 8 in 'ari:rate'",
                ]
            },
        }
    }


def test_check_json_valid(capsys: pytest.CaptureFixture[str]) -> None:
    """--json on valid masks prints their canonical forms."""
    status, out, _ = run(capsys, "check", "--json", "message;booking")
    assert (status, json.loads(out)) == (0, {"event_mask": ["booking;message"], "warnings": []})


def test_check_json_keeps_the_warnings(capsys: pytest.CaptureFixture[str]) -> None:
    """A valid mask's warnings are in the JSON, with code, severity and position."""
    status, out, err = run(capsys, "check", "--json", "booking;booking_new", "message")
    doc = json.loads(out)
    assert (status, err, doc["event_mask"]) == (0, "", ["booking;booking_new", "message"])
    (warning,) = doc["warnings"]
    assert (warning["mask"], warning["code"], warning["severity"]) == (
        "booking;booking_new",
        "EM102",
        "warning",
    )
    assert (warning["start"], warning["end"]) == (0, 7)


def test_lint_json_lists_every_finding(capsys: pytest.CaptureFixture[str]) -> None:
    """lint --json: one record per finding; the exit status still follows the errors."""
    status, out, _ = run(capsys, "lint", "--json", "booking;booking", "Message")
    findings = json.loads(out)
    assert status == 1
    assert [(f["mask"], f["code"]) for f in findings] == [
        ("booking;booking", "EM105"),
        ("Message", "EM007"),
    ]
    assert run(capsys, "lint", "--json", "message")[:2] == (0, "[]\n")


@pytest.mark.parametrize(
    ("argv", "status", "expected"),
    [
        (["covers", "ari", "ari:rate:*:*"], 0, {"covers": True, "missed": None}),
        (["covers", "message", "review"], 1, {"covers": False}),
        (["overlaps", "message", "booking"], 1, {"overlaps": False, "example": None}),
        (["overlaps", "*", "review"], 0, {"overlaps": True}),
    ],
)
def test_covers_and_overlaps_json(
    capsys: pytest.CaptureFixture[str], argv: list[str], status: int, expected: dict[str, object]
) -> None:
    """--json answers with the canonical masks, the verdict and the witness notification."""
    code, out, _ = run(capsys, *argv, "--json")
    doc = json.loads(out)
    assert code == status
    assert (doc["a"], doc["b"]) == (argv[1], argv[2])
    assert expected.items() <= doc.items()
    witness = doc.get("missed") or doc.get("example")
    if witness is not None:
        assert witness["event"] == "review"


def test_lint_prints_findings_and_exits_1_on_errors(capsys: pytest.CaptureFixture[str]) -> None:
    """lint prints mask:start: CODE message per finding; an error makes the status 1."""
    status, out, _ = run(capsys, "lint", "Booking;booking_new")
    assert status == 1
    assert out.splitlines() == [
        "Booking;booking_new:0: EM007 upper case in event name 'Booking': names are lower case "
        "('booking')",
        "Booking;booking_new:0: EM102 'booking' together with 'booking_new': one booking "
        "revision is delivered twice",
    ]


def test_lint_warnings_only_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    """Only warnings: the status stays 0."""
    status, out, _ = run(capsys, "lint", "booking;booking_new", "message")
    assert status == 0
    assert out.count("EM102") == 1


@pytest.mark.parametrize(
    "argv", [[], ["check"], ["frobnicate"], ["check", "--nope", "x"], ["lint"]]
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    """Missing or unknown arguments are usage errors: status 2 and a message."""
    status, _, err = run(capsys, *argv)
    assert status == 2
    assert "eventmask: error:" in err


def test_python_dash_m_and_console_script() -> None:
    """`python -m eventmask` runs the same command line as a real process."""
    done = subprocess.run(
        [sys.executable, "-m", "eventmask", "check", "booking;;"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "expected an event name after ';'" in done.stderr


# -- webhook bodies and the algebra ------------------------------------------------------


def test_check_webhook_valid_with_existing(capsys: pytest.CaptureFixture[str]) -> None:
    """check --webhook prints 'valid' and the overlap report; the warnings go to stderr."""
    status, out, err = run(
        capsys,
        "check",
        "--webhook",
        str(CHANNEX / "webhook-create-request.json"),
        "--existing",
        str(CHANNEX / "webhook-list-response.json"),
    )
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "valid: *"
    assert lines[1].startswith("same_url: webhook a9a88747-767e-458c-99e0-9212fcfb0b39")
    assert lines[2].startswith("redundant: webhook a9a88747-767e-458c-99e0-9212fcfb0b39")
    assert "warning" not in out
    assert err.startswith("warning: headers has no secret-looking header")


def test_check_webhook_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json output is one JSON document with the findings."""
    status, out, _ = run(
        capsys,
        "check",
        "--json",
        "--webhook",
        str(CHANNEX / "webhook-create-request.json"),
        "--existing",
        str(CHANNEX / "webhook-list-response.json"),
    )
    doc = json.loads(out)
    assert status == 0
    assert doc["valid"] is True
    assert [f["kind"] for f in doc["existing"]] == ["same_url", "redundant"]


def test_check_webhook_invalid_prints_422(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """An invalid body prints Channex's 422 shape and exits 1."""
    body = tmp_path / "body.json"
    body.write_text('{"webhook": {"callback_url": "https://x.example", "event_mask": "*"}}')
    status, out, _ = run(capsys, "check", "--webhook", str(body))
    assert status == 1
    assert json.loads(out) == json.loads(
        (CHANNEX / "webhook-validation-error-response.json").read_text()
    )


def test_check_webhook_unreadable_input(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A missing file or invalid JSON is unreadable input: exit 2, file:line:column."""
    status, _, err = run(capsys, "check", "--webhook", str(tmp_path / "nope.json"))
    assert status == 2
    assert "cannot read" in err
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "webhook": ,\n}')
    status, _, err = run(capsys, "check", "--webhook", str(bad))
    assert status == 2
    assert f"{bad}:2:14: invalid JSON" in err


def test_check_needs_masks_or_webhook(capsys: pytest.CaptureFixture[str]) -> None:
    """check with neither masks nor --webhook, or both, is a usage error."""
    assert run(capsys, "check")[0] == 2
    assert run(capsys, "check", "booking", "--webhook", "x.json")[0] == 2


def test_covers_yes_and_no(capsys: pytest.CaptureFixture[str]) -> None:
    """covers exits 0 for yes; for no it exits 1 and shows what is missed."""
    status, out, _ = run(
        capsys, "covers", "ari:rate:*:*;ari:availability:*:*", "ari:rate,availability:*:*"
    )
    assert (status, out) == (
        0,
        "yes: ari:availability:*:*;ari:rate:*:* delivers everything "
        "ari:availability,rate:*:* does\n",
    )
    status, out, _ = run(capsys, "covers", "ari:rate:*:*", "ari:booked,rate:*:*")
    assert status == 1
    assert out.startswith("no: ari:rate:*:* does not deliver everything ari:booked,rate:*:* does\n")
    example = json.loads(out.splitlines()[1].removeprefix("  for example: "))
    assert "booked" in example["payload"][0]


def test_overlaps_yes_and_no(capsys: pytest.CaptureFixture[str]) -> None:
    """overlaps exits 0 with a witness, or 1."""
    status, out, _ = run(capsys, "overlaps", "booking;message", "message")
    assert status == 0
    assert json.loads(out.splitlines()[1])["event"] == "message"
    status, out, _ = run(capsys, "overlaps", "booking", "message")
    assert (status, out) == (1, "no: booking and message never deliver the same notification\n")


def test_covers_invalid_mask_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid mask is neither yes nor no: exit 2 with the caret error."""
    status, _, err = run(capsys, "covers", "booking;;", "booking")
    assert status == 2
    assert "expected an event name after ';'" in err
