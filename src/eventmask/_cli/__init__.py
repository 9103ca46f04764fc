"""The ``eventmask`` command line: one module per command family.

`masks` (check, lint, covers, overlaps), `streams` (filter, explain),
`serve` (serve, worker) and `inbox`.  A command imports what it needs when
it runs, so ``eventmask filter`` never loads the inbox or the receiver.

Exit status: 0 success, 1 a mask or input was found invalid (or a yes/no
question answered no), 2 usage errors and unreadable input.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from . import inbox, masks, serve, streams
from .common import EXIT_OK, ArgumentParser

__all__ = ["build_parser", "main", "run"]


def build_parser() -> ArgumentParser:
    """The argument parser of the ``eventmask`` command.

    >>> build_parser().prog
    'eventmask'
    """
    top = ArgumentParser(
        prog="eventmask",
        description="Validate, compare and apply Channex webhook event masks.",
    )
    sub = top.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    masks.register(sub)
    streams.register(sub)
    serve.register(sub)
    inbox.register(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    >>> main(["check", "booking_new;booking"])
    booking;booking_new
    0
    """
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # FILE arguments after options (`filter MASK --stats a.jsonl b.jsonl`).
        if args.command == "filter" and all(e == "-" or not e.startswith("-") for e in extra):
            args.files = [*args.files, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    status: int = args.run(args, sys.stdout, sys.stderr)
    return status


def run() -> NoReturn:
    """Entry point of the console script and of ``python -m eventmask``."""
    try:
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`eventmask filter ... | head`): stop quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        status = EXIT_OK
    except KeyboardInterrupt:
        status = 130
    sys.exit(status)
