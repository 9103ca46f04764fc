"""The mask commands: ``check`` (masks or a webhook body), ``lint``, ``covers``, ``overlaps``."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from .._errors import MaskSyntaxError
from .._json import dumps_text
from .._language.diagnostics import Diagnostic
from .._language.mask import Mask, overlap_example, uncovered_example
from .._language.parser import lint, parse
from .commands import about
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    UNREADABLE,
    mask_argument,
    read_json,
    write_json,
)

__all__ = ["register"]


def _validation_error(details: dict[str, list[str]]) -> dict[str, Any]:
    """Channex's 422 body shape."""
    return {"errors": {"code": "validation_error", "title": "Validation Error", "details": details}}


def _check_webhook(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._webhooks.existing import overlaps_with_existing
    from .._webhooks.validation import validate_webhook

    body = read_json(args.webhook, err)
    if body is UNREADABLE:
        return EXIT_USAGE
    existing = None
    if args.existing:
        existing = read_json(args.existing, err)
        if existing is UNREADABLE:
            return EXIT_USAGE
    report = validate_webhook(body)
    if not report.valid:
        write_json(report.as_channex_error(), out)
        return EXIT_INVALID
    findings = overlaps_with_existing(body, existing) if existing is not None else []
    if args.json:
        write_json(
            {
                "valid": True,
                "event_mask": str(report.mask),
                "warnings": list(report.warnings),
                "existing": [
                    {
                        "kind": f.kind,
                        "webhook_id": f.webhook_id,
                        "message": f.message,
                        "example": f.example,
                    }
                    for f in findings
                ],
            },
            out,
        )
        return EXIT_OK
    out.write(f"valid: {report.mask}\n")
    for warning in report.warnings:
        err.write(f"warning: {warning}\n")
    for finding in findings:
        out.write(f"{finding.kind}: {finding.message}\n")
        if finding.example is not None:
            out.write(f"  for example: {dumps_text(finding.example)}\n")
    return EXIT_OK


def _check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.webhook:
        if args.masks:
            err.write("eventmask: error: give MASK arguments or --webhook, not both\n")
            return EXIT_USAGE
        return _check_webhook(args, out, err)
    if args.existing:
        err.write("eventmask: error: --existing goes with --webhook\n")
        return EXIT_USAGE
    if not args.masks:
        err.write("eventmask: error: check needs MASK arguments or --webhook BODY.json\n")
        return EXIT_USAGE
    canonical: list[str] = []
    messages: list[str] = []
    warnings: list[dict[str, Any]] = []
    for text in args.masks:
        try:
            mask = parse(text, lenient=args.lenient)
        except MaskSyntaxError as exc:
            messages.append(f"{exc.message} at position {exc.position} in {text!r}")
            if not args.json:
                err.write(f"eventmask: invalid mask {text!r}: {exc}\n")
            continue
        canonical.append(str(mask))
        warnings += [{"mask": text, **_finding(w)} for w in mask.warnings]
        if not args.json:
            out.write(f"{mask}\n")
            for warning in mask.warnings:
                err.write(f"{text}:{warning.start}: {warning.code} {warning.message}\n")
    if args.json:
        if messages:
            write_json(_validation_error({"event_mask": messages}), out)
        else:
            write_json({"event_mask": canonical, "warnings": warnings}, out)
    return EXIT_INVALID if messages else EXIT_OK


def _finding(d: Diagnostic) -> dict[str, Any]:
    return {"code": d.code, "severity": d.severity, "message": d.message,
            "start": d.start, "end": d.end}  # fmt: skip


def _lint(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    findings = [(text, finding) for text in args.masks for finding in lint(text)]
    if args.json:
        write_json([{"mask": text, **_finding(f)} for text, f in findings], out)
    else:
        for text, finding in findings:
            out.write(f"{text}:{finding.start}: {finding.code} {finding.message}\n")
    return EXIT_INVALID if any(f.severity == "error" for _, f in findings) else EXIT_OK


def _two_masks(args: argparse.Namespace, err: TextIO) -> tuple[Mask, Mask] | None:
    a = mask_argument(args.a, args.lenient, err)
    b = mask_argument(args.b, args.lenient, err) if a is not None else None
    return None if a is None or b is None else (a, b)


def _covers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    pair = _two_masks(args, err)
    if pair is None:
        return EXIT_USAGE
    a, b = pair
    covered = a.covers(b)
    witness = None if covered else uncovered_example(a, b)
    if args.json:
        write_json({"a": str(a), "b": str(b), "covers": covered, "missed": witness}, out)
    elif covered:
        out.write(f"yes: {a} delivers everything {b} does\n")
    else:
        out.write(f"no: {a} does not deliver everything {b} does\n")
        if witness is not None:
            out.write(f"  for example: {dumps_text(witness)}\n")
    return EXIT_OK if covered else EXIT_INVALID


def _overlaps(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    pair = _two_masks(args, err)
    if pair is None:
        return EXIT_USAGE
    a, b = pair
    witness = overlap_example(a, b)
    if args.json:
        doc = {"a": str(a), "b": str(b), "overlaps": witness is not None, "example": witness}
        write_json(doc, out)
    elif witness is None:
        out.write(f"no: {a} and {b} never deliver the same notification\n")
    else:
        out.write(f"yes: {a} and {b} both deliver, for example:\n")
        out.write(f"  {dumps_text(witness)}\n")
    return EXIT_INVALID if witness is None else EXIT_OK


def register(sub: Any) -> None:
    """Add check, covers, overlaps and lint to the subcommands `sub`."""
    check = sub.add_parser("check", help=about("check"))
    check.add_argument("masks", nargs="*", metavar="MASK")
    check.add_argument("--lenient", action="store_true", help="repair what lenient mode repairs")
    check.add_argument(
        "--json", action="store_true", help="print JSON, warnings included (422 body if invalid)"
    )
    check.add_argument(
        "--webhook", metavar="BODY.json", help="validate a webhook create/update body"
    )
    check.add_argument(
        "--existing",
        metavar="LIST.json",
        help="with --webhook: the GET /api/v1/webhooks response to check for overlaps",
    )
    check.set_defaults(run=_check)

    for name, run in (("covers", _covers), ("overlaps", _overlaps)):
        cmd = sub.add_parser(name, help=about(name))
        cmd.add_argument("a", metavar="A")
        cmd.add_argument("b", metavar="B")
        cmd.add_argument("--lenient", action="store_true", help="parse both masks leniently")
        cmd.add_argument("--json", action="store_true", help="print the answer as JSON")
        cmd.set_defaults(run=run)

    lint_cmd = sub.add_parser("lint", help=about("lint"))
    lint_cmd.add_argument("masks", nargs="+", metavar="MASK")
    lint_cmd.add_argument("--json", action="store_true", help="print the findings as JSON")
    lint_cmd.set_defaults(run=_lint)
