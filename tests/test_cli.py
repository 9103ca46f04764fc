"""Tests of the `eventmask` command line (check and lint)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from eventmask._cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


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
    assert (status, json.loads(out)) == (0, {"event_mask": ["booking;message"]})


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
