"""The ``eventmask`` command line: one module per command family.

`masks` (check, lint, covers, overlaps), `streams` (filter, explain),
`serve` (serve, worker), `inbox`, `send`, `revisions` and `webhooks`
(webhooks, coverage); `commands` lists them.  Only the family of the
command being run is imported, and none for ``--help`` or an unknown
command, so ``eventmask filter`` never loads the inbox, the receiver or the
algebra: its process starts in a fraction of the time.

Exit status: 0 success, 1 a mask or input was found invalid (or a yes/no
question answered no), 2 usage errors and unreadable input.
"""

from __future__ import annotations

import os
import sys

from .commands import COMMANDS
from .common import EXIT_OK, TYPE_CHECKING, ArgumentParser

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

__all__ = ["build_parser", "main", "run"]


def _register(family: str) -> Callable[[Any], None]:
    if family == "masks":
        from . import masks

        return masks.register
    if family == "streams":
        from . import streams

        return streams.register
    if family == "serve":
        from . import serve

        return serve.register
    if family == "webhooks":
        from . import webhooks

        return webhooks.register
    if family == "send":
        from . import send

        return send.register
    if family == "revisions":
        from . import revisions

        return revisions.register
    if family == "dashboard":
        from . import dashboard

        return dashboard.register
    from . import inbox

    return inbox.register


def build_parser(command: str | None = None) -> ArgumentParser:
    """The argument parser of the ``eventmask`` command: `command`'s family, or, without
    one, the list of commands (what ``--help`` and a usage error show).

    >>> "filter" in build_parser().format_help()
    True
    >>> build_parser("filter").parse_args(["filter", "*"]).mask
    '*'
    """
    top = ArgumentParser(
        prog="eventmask",
        description="Validate, compare and apply Channex webhook event masks.",
    )
    from .._version import __version__

    top.add_argument("--version", action="version", version=f"eventmask {__version__}")
    sub = top.add_subparsers(dest="command", required=True, parser_class=ArgumentParser)
    if command is None:
        # The list of commands only (`eventmask --help`, an unknown command):
        # from the table, so that no family is imported for it.
        for name, (_, summary) in COMMANDS.items():
            sub.add_parser(name, help=summary, add_help=False)
        return top
    _register(COMMANDS[command][0])(sub)
    return top


def _command(argv: Sequence[str]) -> str | None:
    """The command `argv` runs: its first argument, when that names one."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status.

    >>> main(["check", "booking_new;booking"])
    booking;booking_new
    0
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_command(arguments))
    args, extra = parser.parse_known_args(arguments)
    if extra:
        # FILE arguments after options (`filter MASK --stats a.jsonl b.jsonl`).
        if args.command == "filter" and all(e == "-" or not e.startswith("-") for e in extra):
            args.files = [*args.files, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.argv = arguments  # what `serve --receivers` starts its children with
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
    # Only a command that logged can have a stalled stderr; the others do not
    # pay for importing the logging (about 8 ms of a 100 ms start).
    logs = sys.modules.get(f"{__name__}.logs")
    if logs is not None and logs.stderr_stalled():  # stdout was flushed above
        os._exit(status)
    sys.exit(status)
