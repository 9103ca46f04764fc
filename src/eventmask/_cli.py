"""The ``eventmask`` command line.

Exit status: 0 success, 1 a mask or input was found invalid (or a yes/no
question answered no), 2 usage errors and unreadable input.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

import orjson

from ._errors import MaskSyntaxError
from ._parser import lint, parse

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


def _cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
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

    check = sub.add_parser("check", help="print the canonical form of each mask")
    check.add_argument("masks", nargs="+", metavar="MASK")
    check.add_argument("--lenient", action="store_true", help="repair what lenient mode repairs")
    check.add_argument("--json", action="store_true", help="print Channex's 422 error body")
    check.set_defaults(run=_cmd_check)

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
