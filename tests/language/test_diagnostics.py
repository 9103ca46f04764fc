"""Tests of `lint` and the diagnostic codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from eventmask import Diagnostic, lint, parse
from eventmask._language.diagnostics import CODES, REPAIRABLE

from ..conftest import ROOT, load_cases

CASES = load_cases("mask_cases.json")


@pytest.mark.parametrize(("text", "expected"), CASES["lint"])
def test_lint_findings(text: str, expected: list[list[object]]) -> None:
    """lint reports exactly the expected findings, in order of position."""
    assert [[d.code, d.severity, d.start, d.end] for d in lint(text)] == expected


def test_every_code_has_a_case() -> None:
    """Each documented code is produced by at least one case in the data files."""
    seen = {code for row in CASES["lint"] for code, *_ in row[1]}
    seen |= {row[1] for row in CASES["errors"]} | {row[1] for row in CASES["repairs"]}
    assert seen == set(CODES)


def test_one_mask_with_several_problems_reports_all() -> None:
    """A typo in one item does not hide the findings in the others."""
    codes = [d.code for d in lint("Booking;booking_new,message;;ari:price")]
    assert codes == ["EM007", "EM102", "EM004", "EM001", "EM003", "EM005"]


def test_lenient_warnings_are_the_lint_findings_as_warnings() -> None:
    """The repairs of a lenient parse are lint's errors with severity downgraded."""
    text = "Booking ;ari:rate;booking_created"
    found = lint(text)
    warnings = parse(text, lenient=True).warnings
    assert [(w.code, w.start, w.end, w.message) for w in warnings] == [
        (d.code, d.start, d.end, d.message) for d in found
    ]
    assert {w.severity for w in warnings} == {"warning"}
    assert {d.code for d in found if d.severity == "error"} <= REPAIRABLE


def test_diagnostic_str() -> None:
    """A diagnostic prints as position, code, severity and message."""
    assert str(Diagnostic("EM105", "warning", "duplicate item 'x'", 3, 4)) == (
        "3: EM105 warning: duplicate item 'x'"
    )


def test_every_code_is_documented_with_example_and_fix() -> None:
    """docs/diagnostics.md has a section per code with an example and a fix."""
    doc = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for code, (severity, _) in CODES.items():
        section = re.search(rf"^## {code} .*?(?=^## |\Z)", doc, re.M | re.S)
        assert section is not None, code
        body = section.group()
        assert f"Severity: {severity}" in body, code
        assert "Example:" in body, code
        assert "Fix:" in body, code


def test_documented_examples_produce_their_code() -> None:
    """The example mask of each documented code really produces that code."""
    doc = Path(ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    for code, example in re.findall(r"^## (EM\d{3}) .*?^Example: `([^`]*)`", doc, re.M | re.S):
        assert code in {d.code for d in lint(example)}, (code, example)
