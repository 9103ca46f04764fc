"""The ``eventmask`` command line.

Exit status: 0 success, 1 a mask or input was found invalid (or a yes/no
question answered no), 2 usage errors and unreadable input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn, TextIO

import orjson

from ._ast import Mask
from ._errors import MaskSyntaxError
from ._parser import lint, parse
from ._webhook import overlaps_with_existing, validate_webhook

__all__ = ["main"]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"eventmask: error: {message}\n")


def _validation_error(details: dict[str, list[str]]) -> dict[str, Any]:
    """Channex's 422 body shape."""
    return {"errors": {"code": "validation_error", "title": "Validation Error", "details": details}}


def _write_json(doc: object, out: TextIO) -> None:
    out.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")


def _read_json(path: str, err: TextIO) -> Any:
    """The JSON document in `path` ('-' for stdin), or None after an error message."""
    try:
        data = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        err.write(f"eventmask: cannot read {path}: {exc.strerror or exc}\n")
        return _UNREADABLE
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        err.write(f"eventmask: {path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}\n")
        return _UNREADABLE


_UNREADABLE: Any = object()


def _cmd_check_webhook(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    body = _read_json(args.webhook, err)
    if body is _UNREADABLE:
        return EXIT_USAGE
    existing = None
    if args.existing:
        existing = _read_json(args.existing, err)
        if existing is _UNREADABLE:
            return EXIT_USAGE
    report = validate_webhook(body)
    if not report.valid:
        _write_json(report.as_channex_error(), out)
        return EXIT_INVALID
    findings = overlaps_with_existing(body, existing) if existing is not None else []
    if args.json:
        _write_json(
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
        out.write(f"warning: {warning}\n")
    for finding in findings:
        out.write(f"{finding.kind}: {finding.message}\n")
        if finding.example is not None:
            out.write(f"  for example: {orjson.dumps(finding.example).decode()}\n")
    return EXIT_OK


def _two_masks(args: argparse.Namespace, err: TextIO) -> tuple[Mask, Mask] | None:
    masks = []
    for text in (args.a, args.b):
        try:
            masks.append(parse(text, lenient=args.lenient))
        except MaskSyntaxError as exc:
            err.write(f"eventmask: invalid mask {text!r}: {exc}\n")
            return None
    return masks[0], masks[1]


def _cmd_covers(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    pair = _two_masks(args, err)
    if pair is None:
        return EXIT_USAGE
    a, b = pair
    if a.covers(b):
        out.write(f"yes: {a} delivers everything {b} does\n")
        return EXIT_OK
    out.write(f"no: {a} does not deliver everything {b} does\n")
    from ._algebra import uncovered_example

    witness = uncovered_example(a, b)
    if witness is not None:
        out.write(f"  for example: {orjson.dumps(witness).decode()}\n")
    return EXIT_INVALID


def _cmd_overlaps(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    pair = _two_masks(args, err)
    if pair is None:
        return EXIT_USAGE
    a, b = pair
    from ._algebra import overlap_example

    witness = overlap_example(a, b)
    if witness is None:
        out.write(f"no: {a} and {b} never deliver the same notification\n")
        return EXIT_INVALID
    out.write(f"yes: {a} and {b} both deliver, for example:\n")
    out.write(f"  {orjson.dumps(witness).decode()}\n")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.webhook:
        if args.masks:
            err.write("eventmask: error: give MASK arguments or --webhook, not both\n")
            return EXIT_USAGE
        return _cmd_check_webhook(args, out, err)
    if args.existing:
        err.write("eventmask: error: --existing goes with --webhook\n")
        return EXIT_USAGE
    if not args.masks:
        err.write("eventmask: error: check needs MASK arguments or --webhook BODY.json\n")
        return EXIT_USAGE
    canonical: list[str] = []
    messages: list[str] = []
    for text in args.masks:
        try:
            mask = parse(text, lenient=args.lenient)
        except MaskSyntaxError as exc:
            messages.append(f"{exc.message} at position {exc.position} in {text!r}")
            if not args.json:
                err.write(f"eventmask: invalid mask {text!r}: {exc}\n")
            continue
        canonical.append(str(mask))
        if not args.json:
            out.write(f"{mask}\n")
            for warning in mask.warnings:
                err.write(f"{text}:{warning.start}: {warning.code} {warning.message}\n")
    if args.json:
        if messages:
            _write_json(_validation_error({"event_mask": messages}), out)
        else:
            _write_json({"event_mask": canonical}, out)
    return EXIT_INVALID if messages else EXIT_OK


def _cmd_lint(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    status = EXIT_OK
    for text in args.masks:
        for finding in lint(text):
            out.write(f"{text}:{finding.start}: {finding.code} {finding.message}\n")
            if finding.severity == "error":
                status = EXIT_INVALID
    return status


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``eventmask`` command."""
    top = _Parser(
        prog="eventmask",
        description="Validate, compare and apply Channex webhook event masks.",
    )
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = sub.add_parser(
        "check", help="print the canonical form of each mask, or validate a webhook body"
    )
    check.add_argument("masks", nargs="*", metavar="MASK")
    check.add_argument("--lenient", action="store_true", help="repair what lenient mode repairs")
    check.add_argument("--json", action="store_true", help="print JSON (Channex's 422 body)")
    check.add_argument(
        "--webhook", metavar="BODY.json", help="validate a webhook create/update body"
    )
    check.add_argument(
        "--existing",
        metavar="LIST.json",
        help="with --webhook: the GET /api/v1/webhooks response to check for overlaps",
    )
    check.set_defaults(run=_cmd_check)

    for name, run, question in (
        ("covers", _cmd_covers, "does A deliver everything B does?"),
        ("overlaps", _cmd_overlaps, "do A and B ever deliver the same notification?"),
    ):
        cmd = sub.add_parser(name, help=f"{question} (exit 0 yes, 1 no)")
        cmd.add_argument("a", metavar="A")
        cmd.add_argument("b", metavar="B")
        cmd.add_argument("--lenient", action="store_true", help="parse both masks leniently")
        cmd.set_defaults(run=run)

    lint_cmd = sub.add_parser("lint", help="print every finding about each mask")
    lint_cmd.add_argument("masks", nargs="+", metavar="MASK")
    lint_cmd.set_defaults(run=_cmd_lint)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    >>> main(["check", "booking_new;booking"])
    booking;booking_new
    0
    """
    args = build_parser().parse_args(argv)
    status: int = args.run(args, sys.stdout, sys.stderr)
    return status


def run() -> NoReturn:
    """Entry point of the console script and of ``python -m eventmask``."""
    sys.exit(main())
