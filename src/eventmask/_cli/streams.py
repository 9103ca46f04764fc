"""The stream commands: ``filter`` and ``explain`` (docs/filter.md).

Both read their inputs the same way and report a bad input the same way
(`_reading`); ``filter`` imports only what filtering needs, so that its
process starts quickly.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Literal, TextIO

import attrs

from .._envelope import decode_line, input_error
from .._errors import InputError, NotificationError
from .._routing.filter import FilterStats
from .._routing.inputs import open_input, read_notifications
from .commands import about
from .common import EXIT_INVALID, EXIT_OK, EXIT_USAGE, mask_argument, moment, open_binary
from .parallel import Job, plan, run
from .selection import LineOutput, selected
from .tables import FORMATS

if TYPE_CHECKING:
    from .._language.mask import Mask
    from .._routing.predicates import Predicates
    from .summaries import ChangeRows, ItemRows, Summary

__all__ = ["register"]


class _ReadFailed(Exception):
    """Reading an input failed; the message is written, the status is `status`."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@contextmanager
def _reading(path: str, err: TextIO, before_message: Callable[[], None]) -> Iterator[None]:
    """Turn the ways reading `path` can fail into one stderr line and an exit status.

    Malformed input (a bad line, a corrupt gzip stream) is status 1; an input
    that cannot be read is status 2.  `before_message` runs first, so that
    what was already selected reaches the output as whole lines.
    """
    try:
        yield
    except InputError as exc:
        before_message()
        err.write(f"eventmask: {exc}\n")
        raise _ReadFailed(EXIT_INVALID) from None
    except BrokenPipeError:
        raise  # the reader of stdout went away (`| head`): not a read error; `run` stops quietly
    except (EOFError, OSError, zlib.error) as exc:
        import gzip  # only a failed read pays for it

        before_message()
        if isinstance(exc, OSError) and not isinstance(exc, gzip.BadGzipFile):
            err.write(f"eventmask: cannot read {path}: {exc.strerror or exc}\n")
            raise _ReadFailed(EXIT_USAGE) from None
        err.write(f"eventmask: {path}: corrupt or truncated gzip stream: {exc}\n")
        raise _ReadFailed(EXIT_INVALID) from None


class _Progress:
    """A tqdm bar over the bytes of one input file, with items per second."""

    def __init__(self, raw: IO[bytes], path: str, err: TextIO, stats: FilterStats) -> None:
        from tqdm import tqdm

        self.raw = raw
        self.stats = stats
        self.seen = 0
        self.bar = tqdm(
            total=os.fstat(raw.fileno()).st_size,
            unit="B",
            unit_scale=True,
            desc=os.path.basename(path),
            file=err,
            leave=False,
            mininterval=0.25,
        )
        self.items = stats.items_read
        self.started = time.perf_counter()

    def tick(self, position: int | None = None) -> None:
        """Show the figures so far: of the bytes read, or up to `position` (``--jobs``)."""
        position = self.raw.tell() if position is None else position
        if position > self.seen:
            self.bar.update(position - self.seen)
            self.seen = position
            elapsed = max(time.perf_counter() - self.started, 1e-9)
            rate = (self.stats.items_read - self.items) / elapsed
            self.bar.set_postfix_str(f"{rate:,.0f} items/s", refresh=False)

    def close(self) -> None:
        self.tick()
        self.bar.refresh()  # show the final figures once, however short the run
        self.bar.close()


def _predicates(args: argparse.Namespace, err: TextIO) -> Predicates | Literal[False] | None:
    """The filter's predicates (None: none asked), or False after a caret error."""
    if args.dates is None and args.since is None and args.until is None and not args.where:
        return None  # nothing to import: a plain filter starts as quickly as before
    from .._errors import PredicateError
    from .._routing.predicates import Predicates

    try:
        return Predicates.of(dates=args.dates, since=args.since, until=args.until,
                             where=args.where)  # fmt: skip
    except PredicateError as exc:
        err.write(f"eventmask: error: invalid predicate: {exc}\n")
        return False


def _summary(
    args: argparse.Namespace, mask: Mask, out: TextIO, err: TextIO
) -> Summary | ItemRows | ChangeRows | Literal[False] | None:
    """The table `--count-by`, `--latest` or `--items --format` asks for; None for none (the
    lines as they came), False after an error."""
    from .._errors import PredicateError

    if args.fields is not None and not args.items:
        err.write("eventmask: error: --fields names the columns of --items --format; "
                  "--count-by names its own\n")  # fmt: skip
        return False
    if args.ignore_user and not args.changes:
        err.write("eventmask: error: --ignore-user goes with --changes\n")
        return False
    if args.changes:
        return _change_rows(args, mask, out, err)
    if args.count_by is None and not args.latest:
        return _item_rows(args, mask, out, err)
    from .summaries import Summary

    if args.count or args.items:
        err.write("eventmask: error: --count-by and --latest print a table: not with "
                  "--count or --items\n")  # fmt: skip
        return False
    try:
        return Summary(mask, args.count_by, args.latest, args.format or "tsv")
    except PredicateError as exc:
        err.write(f"eventmask: error: invalid --count-by: {exc}\n")
        return False


def _change_rows(
    args: argparse.Namespace, mask: Mask, out: TextIO, err: TextIO
) -> ChangeRows | Literal[False]:
    from .summaries import ChangeRows

    if args.count or args.items or args.count_by is not None or args.latest:
        err.write("eventmask: error: --changes prints a table of its own: not with --count, "
                  "--items, --count-by or --latest\n")  # fmt: skip
        return False
    return ChangeRows(mask, tuple(args.ignore_user), args.format or "tsv", out)


def _item_rows(
    args: argparse.Namespace, mask: Mask, out: TextIO, err: TextIO
) -> ItemRows | Literal[False] | None:
    if args.format is None and args.fields is None:
        return None
    from .._errors import PredicateError
    from .summaries import ItemRows, item_columns

    if not args.items or args.count:
        err.write("eventmask: error: --format and --fields shape a table: with --count-by, "
                  "--latest or --items (and not --count)\n")  # fmt: skip
        return False
    try:
        columns = item_columns(mask, args.fields)
    except PredicateError as exc:
        err.write(f"eventmask: error: invalid --fields: {exc}\n")
        return False
    return ItemRows(mask, columns, args.format or "jsonl", out)


def _asked(
    args: argparse.Namespace, out: TextIO, err: TextIO
) -> tuple[Mask, Predicates | None, Summary | ItemRows | ChangeRows | None] | None:
    """The mask, the predicates and the summary a filter asks for; None after an error."""
    mask = mask_argument(args.mask, args.lenient, err)
    if mask is None:
        return None
    predicates = _predicates(args, err)
    if predicates is False:
        return None
    summary = _summary(args, mask, out, err)
    return None if summary is False else (mask, predicates, summary)


def _filter(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _collector_paused():
        return _filtered(args, out, err)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused for a filter run, as it was before afterwards.

    Filtering makes no cycles as it reads (`tests/cli/test_streams.py` holds the
    garbage of a run to a few hundred objects, whatever its number of lines), so
    the collector only walks what the run keeps: under ``ari --latest`` on the
    157 MB stream (685,548 cells) it took 8.5-9.0 s with the collector and
    5.4 s without, the same peak memory.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _filtered(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    asked = _asked(args, out, err)
    if asked is None:
        return EXIT_USAGE
    mask, predicates, summary = asked
    output = (
        LineOutput(out, args.count, mask if args.items else None) if summary is None else summary
    )
    stats = FilterStats()
    reported = 0

    def invalid(exc: InputError) -> None:
        nonlocal reported
        reported += 1
        if reported <= 20:
            err.write(f"eventmask: skipped {exc}\n")

    status = EXIT_OK
    for path in args.files or ["-"]:
        raw = open_binary(path, err)
        if raw is None:
            output.flush()
            return EXIT_USAGE
        reading = _Reading(args, path, raw, mask, predicates, summary, output, stats, err)
        try:
            reading.run(invalid)
        except _ReadFailed as failed:
            status = failed.status
        finally:
            if raw is not sys.stdin.buffer:
                raw.close()
        if status != EXIT_OK:
            break
    output.finish()
    if summary is not None:
        summary.write(out)
    if reported > 20:
        err.write(f"eventmask: skipped {reported - 20} more invalid lines\n")
    if args.stats:
        err.write(f"eventmask: {stats.summary()}\n")
    return status


@attrs.define
class _Reading:
    """One input of ``filter``, read by one process or cut into pieces for ``--jobs``."""

    args: argparse.Namespace
    path: str
    raw: IO[bytes]
    mask: Mask
    predicates: Predicates | None
    summary: Summary | ItemRows | ChangeRows | None
    output: LineOutput | Summary | ItemRows | ChangeRows
    stats: FilterStats
    err: TextIO
    progress: _Progress | None = None

    def run(self, invalid: Callable[[InputError], None]) -> None:
        """Filter the input into the output; raise `_ReadFailed` after reporting a bad read."""
        args, path = self.args, self.path
        try:
            with _reading(path, self.err, self.output.flush):
                cuts = plan(self.raw, args.jobs, self.summary) if path != "-" else []
                if cuts:
                    job = Job(args, self.mask, self.predicates, self.summary, path,
                              self.raw.fileno())  # fmt: skip
                    run(job, cuts, args.jobs, self.output, self.stats, invalid, self.start)
                    return
                self.start()
                progress = self.progress
                lines = read_notifications(open_input(self.raw), path)
                chosen = selected(args, self.mask, lines, self.output, self.predicates, path,
                                  self.stats, invalid if args.skip_invalid else None)  # fmt: skip
                for number, line in enumerate(chosen):
                    self.output.add(line)
                    if progress is not None and not number % 256:
                        progress.tick()
        finally:
            if self.progress is not None:
                self.progress.close()

    def start(self) -> Callable[[int | None], None] | None:
        """Show the progress bar, if asked (once any processes have started)."""
        show = self.args.progress
        if show is None:
            show = self.path != "-" and self.err.isatty()
        if show and self.path != "-":
            self.progress = _Progress(self.raw, self.path, self.err, self.stats)
            return self.progress.tick
        return None


def _explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._routing.router import Router

    mask = mask_argument(args.mask, args.lenient, err)
    if mask is None:
        return EXIT_USAGE
    raw = open_binary(args.file, err)
    if raw is None:
        return EXIT_USAGE
    router = Router()
    router.add(mask, _ignore, property_id=args.property)
    try:
        with _reading(args.file, err, out.flush):
            for number, line in enumerate(read_notifications(open_input(raw), args.file), 1):
                if line.strip():
                    _explain_line(router, line, args.file, number, out)
    except _ReadFailed as failed:
        return failed.status
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()
    return EXIT_OK


def _explain_line(router: Any, line: bytes, source: str, number: int, out: TextIO) -> None:
    doc = decode_line(line, source, number)
    try:
        (verdict,) = router.explain(doc)
    except NotificationError as exc:
        raise input_error(exc, source, number) from None
    state = "matched" if verdict.matched else "not matched"
    out.write(f"{source}:{number}: {doc['event']}: {state}: {verdict.reason}\n")
    for item in verdict.detail.items if verdict.detail else ():
        if item.selected_by:
            out.write(f"  item {item.index}: selected by {item.selected_by}\n")
        else:
            out.write(f"  item {item.index}: rejected: {'; '.join(item.reasons)}\n")


def _jobs(text: str) -> int:
    """``--jobs N``: a number of processes, 0 for one per core."""
    try:
        jobs = int(text)
    except ValueError:
        jobs = -1
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"expected a number of processes, got {text!r}")
    if jobs:
        return jobs
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))  # the cores this process may run on
    return os.cpu_count() or 1


def _ignore(_: object) -> None:
    return None


def register(sub: Any) -> None:
    """Add filter and explain to the subcommands `sub`."""
    filt = sub.add_parser(
        "filter",
        help=about("filter"),
    )
    filt.add_argument("mask", metavar="MASK")
    filt.add_argument("files", nargs="*", metavar="FILE", help="JSON Lines, .gz, or '-' (stdin)")
    filt.add_argument("--items", action="store_true", help="one selected ARI item per line")
    filt.add_argument("--property", metavar="ID", help="only notifications of this property")
    filt.add_argument("--lenient", action="store_true", help="parse the mask leniently")
    filt.add_argument("--count", action="store_true", help="print only the number of matches")
    filt.add_argument("--stats", action="store_true", help="print counts and throughput to stderr")
    filt.add_argument("--skip-invalid", action="store_true", help="report and skip malformed lines")
    filt.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                      help="filter a large JSON Lines file in N processes (same output, "
                      "in order; 0: one per core)")  # fmt: skip
    _value_options(filt)
    filt.set_defaults(run=_filter)

    expl = sub.add_parser("explain", help=about("explain"))
    expl.add_argument("mask", metavar="MASK")
    expl.add_argument("file", metavar="FILE", help="JSON Lines, .gz, or '-' (stdin)")
    expl.add_argument("--property", metavar="ID", help="scope the mask to one property")
    expl.add_argument("--lenient", action="store_true", help="parse the mask leniently")
    expl.set_defaults(run=_explain)


def _value_options(parser: argparse.ArgumentParser) -> None:
    """The predicates and the aggregates of ``filter`` (docs/filter.md)."""
    parser.add_argument(
        "--dates",
        metavar="FROM..TO",
        help="only ARI items dated FROM to TO, both included (or one date)",
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="EXPR",
        help="only ARI items whose value compares true: rate>=100.00, availability<=0, "
        "stop_sell!=false (repeat: all must hold)",
    )
    parser.add_argument(
        "--since",
        type=moment,
        metavar="WHEN",
        help="only notifications timestamped at or after WHEN (ISO 8601, or an age: 2h)",
    )
    parser.add_argument(
        "--until",
        "--as-of",
        type=moment,
        metavar="WHEN",
        help="only notifications timestamped before WHEN (with --latest: the state as of WHEN)",
    )
    parser.add_argument("--count-by", metavar="FIELDS",
                      help="count the selected ARI values per group of FIELDS "
                      "(property_id, room_type_id, rate_plan_id, date, restriction, user_id), "
                      "with min, max and last value")  # fmt: skip
    parser.add_argument("--latest", action="store_true",
                      help="the last value of each cell (property, room type, rate plan, date, "
                      "restriction): the state the log implies")  # fmt: skip
    parser.add_argument("--changes", action="store_true",
                        help="each change of a cell's value, old -> new, with its timestamp "
                        "and user_id, in the log's order")  # fmt: skip
    parser.add_argument("--ignore-user", action="append", default=[], metavar="USER_ID",
                        help="with --changes: skip this user's changes (your own)")  # fmt: skip
    parser.add_argument("--format", choices=FORMATS, default=None,
                      help="print a table: of --count-by and --latest (default tsv), or of "
                      "--items (default: each item as sent, JSON Lines)")  # fmt: skip
    parser.add_argument("--fields", metavar="FIELDS",
                        help="the columns of --items --format (default: the ids, then the "
                        "mask's restrictions)")  # fmt: skip
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: on when stderr is a terminal and input a file)",
    )
