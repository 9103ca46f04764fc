"""What every command shares: exit codes, the argument parser, reading files and masks.

Exit status: 0 success, 1 a mask or input was found invalid (or a yes/no
question answered no), 2 usage errors and unreadable input.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time

# The JSON library, the mask parser, `datetime` and even `typing` are imported
# where they are used, or only for the type checker: building the parser for
# `--help` should cost what argparse costs.  typing alone is a tenth of
# `eventmask --help`.
from .._errors import InvalidJSON, MaskSyntaxError

# Not `typing.TYPE_CHECKING`, for the reason above; type checkers treat any
# name `TYPE_CHECKING` as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import IO, Any, Final, NoReturn, TextIO

    from .._language.mask import Mask

__all__ = [
    "DB_HELP",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "UNREADABLE",
    "ArgumentParser",
    "HelpFormatter",
    "add_db_argument",
    "database",
    "iso",
    "mask_argument",
    "moment",
    "number",
    "open_binary",
    "progress",
    "read_json",
    "write_json",
]

EXIT_OK: Final = 0
EXIT_INVALID: Final = 1
EXIT_USAGE: Final = 2

DB_HELP: Final = (
    "the inbox: a file path, sqlite:///PATH or postgresql://... "
    "(default: $EVENTMASK_DB; libpq also reads PGPASSWORD and ~/.pgpass)"
)


class HelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default, unless its own text already names one.

    A flag's default is part of what it means (``--lease`` is 60 s unless
    given), so ``--help`` shows it without every help string repeating it.

    >>> parser = ArgumentParser(prog="demo")
    >>> _ = parser.add_argument("--port", type=int, default=8000, help="the TCP port")
    >>> "the TCP port (default: 8000)" in parser.format_help()
    True
    """

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:  # fmt: skip
        # argparse would import shutil (and with it zlib, bz2 and lzma) to learn
        # the width; `_columns` asks the same questions without it.
        super().__init__(prog, indent_increment, max_help_position,
                         _columns() - 2 if width is None else width)  # fmt: skip

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        # By identity: 1 == True, and ``--workers 1`` has a default to show.
        flag = any(action.default is value for value in (None, False, True, argparse.SUPPRESS))
        quiet = flag or not action.option_strings
        if quiet or "default" in text or "%(default)" in text:
            return action.help
        return f"{text} (default: %(default)s)".lstrip()


def _columns() -> int:
    """The terminal's width as `shutil.get_terminal_size` finds it: ``$COLUMNS``, else
    stdout's terminal, else 80.  tests/cli/test_common.py holds it to shutil's answer.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class ArgumentParser(argparse.ArgumentParser):
    """argparse that exits 2 with ``eventmask: error: ...`` on a usage error.

    Its help shows each option's default (`HelpFormatter`).

    >>> ArgumentParser(prog="demo").formatter_class is HelpFormatter
    True
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """Print the usage and the problem; exit 2."""
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"eventmask: error: {message}\n")


def number(kind: type[int] | type[float], *, low: float, high: float | None = None,
           above: bool = False) -> Callable[[str], Any]:  # fmt: skip
    """An argparse type: a finite `kind` of at least `low` (above it, with `above`).

    >>> number(int, low=0, high=65535)("8000")
    8000
    >>> number(float, low=0, above=True)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be greater than 0, not 0
    """

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, not {text!r}"
            ) from None
        if value != value or value in (float("inf"), float("-inf")):
            raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
        if (value <= low) if above else (value < low):
            word = "greater than" if above else "at least"
            raise argparse.ArgumentTypeError(f"must be {word} {low:g}, not {text}")
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"must be at most {high:g}, not {text}")
        return value

    convert.__name__ = kind.__name__  # argparse names the type in its messages
    return convert


def iso(epoch: float | None) -> str | None:
    """An epoch time as ISO 8601 UTC, to the second (None stays None).

    >>> iso(0.0), iso(None)
    ('1970-01-01T00:00:00Z', None)
    """
    if epoch is None:
        return None
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")[:-6] + "Z"


_AGO: Final = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd])")
_UNIT: Final = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}


def moment(text: str) -> float:
    """An argparse type: an ISO 8601 date or time (UTC unless it says), or an age (``90m``).

    Returns epoch seconds.  Ages count back from now: ``30s``, ``15m``, ``2h``, ``7d``.

    >>> moment("1970-01-02")
    86400.0
    >>> moment("yesterday")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an ISO 8601 time ... or an age such as 90m, 2h or 7d, ...
    """
    ago = _AGO.fullmatch(text.strip())
    if ago:
        return time.time() - float(ago.group(1)) * _UNIT[ago.group(2)]
    import datetime as dt

    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected an ISO 8601 time (2026-05-01T12:00:00Z) or an age such as 90m, 2h or 7d, "
            f"not {text!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def progress(total: int, err: TextIO, unit: str, *, off: bool = False) -> Any:
    """A tqdm bar on `err`, shown only when it is a terminal (and not turned `off`)."""
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, file=err, leave=False, disable=True if off else None)


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """``--db``, defaulting to ``$EVENTMASK_DB`` as it is when the command runs."""
    parser.add_argument("--db", default=None, metavar="URL", help=DB_HELP)


def database(args: argparse.Namespace) -> str | None:
    """The inbox URL of a command: ``--db``, else ``$EVENTMASK_DB``, else None.

    >>> database(argparse.Namespace(db="inbox.db"))
    'inbox.db'
    """
    given: str | None = args.db
    return given or os.environ.get("EVENTMASK_DB") or None


def open_existing(db: str, err: TextIO) -> Any:
    """The inbox at `db`, never created or migrated; None, the reason on `err`, if it
    cannot be opened (reading, repairing and showing an inbox never make one)."""
    from .._errors import InboxError
    from .._inbox.factory import open_inbox

    try:
        return open_inbox(db, create=False)
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return None


def write_json(doc: object, out: TextIO) -> None:
    """`doc` as indented JSON, one document per call."""
    from .._json import dumps_pretty

    out.write(dumps_pretty(doc) + "\n")


# What `read_json` returns after it reported a problem.
UNREADABLE: Final[Any] = object()


def read_json(path: str, err: TextIO) -> Any:
    """The JSON document in `path` ('-' for stdin), or `UNREADABLE` after an error message."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except OSError as exc:
        err.write(f"eventmask: cannot read {path}: {exc.strerror or exc}\n")
        return UNREADABLE
    from .._json import loads

    try:
        return loads(data)
    except InvalidJSON as exc:
        err.write(f"eventmask: {path}:{exc.line}:{exc.column}: invalid JSON: {exc.reason}\n")
        return UNREADABLE


def mask_argument(text: str, lenient: bool, err: TextIO) -> Mask | None:
    """A MASK argument parsed, or None after a caret error on stderr."""
    from .._language.parser import parse

    try:
        return parse(text, lenient=lenient)
    except MaskSyntaxError as exc:
        err.write(f"eventmask: invalid mask {text!r}: {exc}\n")
        return None


# Read in large blocks: a JSON Lines log has lines of several kilobytes, and
# with the default 8 KiB buffer nearly every line cost a read system call.
_BUFFER: Final = 1 << 20


def open_binary(path: str, err: TextIO) -> IO[bytes] | None:
    """`path` opened for reading ('-' is stdin), or None after an error message.

    Closing what this returns never closes standard input itself.
    """
    if path == "-":
        try:
            return open(sys.stdin.fileno(), "rb", buffering=_BUFFER, closefd=False)
        except (AttributeError, OSError, ValueError):  # a stdin with no file (tests, embedding)
            return sys.stdin.buffer
    try:
        return open(path, "rb", buffering=_BUFFER)
    except OSError as exc:
        err.write(f"eventmask: cannot read {path}: {exc.strerror or exc}\n")
        return None
