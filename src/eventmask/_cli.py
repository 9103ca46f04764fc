"""The ``eventmask`` command line.

Exit status: 0 success, 1 a mask or input was found invalid (or a yes/no
question answered no), 2 usage errors and unreadable input.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, NoReturn, TextIO

import orjson

from ._ast import Mask
from ._errors import MaskSyntaxError, NotificationError
from ._filter import (
    FilterStats,
    InputError,
    decode_line,
    filter_lines,
    open_input,
    read_notifications,
)
from ._parser import lint, parse
from ._router import Router
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
    a = _mask_argument(args.a, args.lenient, err)
    b = _mask_argument(args.b, args.lenient, err) if a is not None else None
    return None if a is None or b is None else (a, b)


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


def _binary(stream: TextIO) -> IO[bytes]:
    stream.flush()
    return stream.buffer if hasattr(stream, "buffer") else stream  # type: ignore[return-value]


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

    def tick(self) -> None:
        position = self.raw.tell()
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


def _open(path: str, err: TextIO) -> IO[bytes] | None:
    if path == "-":
        return sys.stdin.buffer
    try:
        return open(path, "rb")
    except OSError as exc:
        err.write(f"eventmask: cannot read {path}: {exc.strerror or exc}\n")
        return None


def _mask_argument(text: str, lenient: bool, err: TextIO) -> Mask | None:
    """A MASK argument parsed, or None after a caret error on stderr."""
    try:
        return parse(text, lenient=lenient)
    except MaskSyntaxError as exc:
        err.write(f"eventmask: invalid mask {text!r}: {exc}\n")
        return None


def _cmd_filter(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    mask = _mask_argument(args.mask, args.lenient, err)
    if mask is None:
        return EXIT_USAGE
    sink = _binary(out)
    stats = FilterStats()
    pending: list[bytes] = []
    count = 0
    reported = 0

    def flush() -> None:
        if pending:
            sink.write(b"\n".join(pending) + b"\n")
            pending.clear()
        sink.flush()

    def invalid(exc: InputError) -> None:
        nonlocal reported
        reported += 1
        if reported <= 20:
            err.write(f"eventmask: skipped {exc}\n")

    status = EXIT_OK
    for path in args.files or ["-"]:
        raw = _open(path, err)
        if raw is None:
            flush()
            return EXIT_USAGE
        show = args.progress if args.progress is not None else (path != "-" and err.isatty())
        progress = _Progress(raw, path, err, stats) if show and path != "-" else None
        try:
            lines = read_notifications(open_input(raw), path)
            selected = filter_lines(
                mask,
                lines,
                property_id=args.property,
                items=args.items,
                source=path,
                on_invalid=invalid if args.skip_invalid else None,
                stats=stats,
            )
            for number, line in enumerate(selected):
                if args.count:
                    count += 1
                else:
                    pending.append(line)
                    if len(pending) >= 512:
                        flush()
                if progress is not None and not number % 256:
                    progress.tick()
        except InputError as exc:
            flush()
            err.write(f"eventmask: {exc}\n")
            status = EXIT_INVALID
        except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
            flush()
            err.write(f"eventmask: {path}: corrupt or truncated gzip stream: {exc}\n")
            status = EXIT_INVALID
        except OSError as exc:
            flush()
            err.write(f"eventmask: cannot read {path}: {exc.strerror or exc}\n")
            status = EXIT_USAGE
        finally:
            if progress is not None:
                progress.close()
            if raw is not sys.stdin.buffer:
                raw.close()
        if status != EXIT_OK:
            break
    flush()
    if args.count:
        sink.write(f"{count}\n".encode())
        sink.flush()
    if reported > 20:
        err.write(f"eventmask: skipped {reported - 20} more invalid lines\n")
    if args.stats:
        err.write(f"eventmask: {stats.summary()}\n")
    return status


def _cmd_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    mask = _mask_argument(args.mask, args.lenient, err)
    if mask is None:
        return EXIT_USAGE
    raw = _open(args.file, err)
    if raw is None:
        return EXIT_USAGE
    router = Router()
    router.add(mask, _ignore, property_id=args.property)
    try:
        for number, line in enumerate(read_notifications(open_input(raw), args.file), 1):
            if not line.strip():
                continue
            doc = decode_line(line, args.file, number)
            try:
                (verdict,) = router.explain(doc)
            except NotificationError as exc:
                raise InputError(f"{exc.message} (at {exc.path})", args.file, number) from None
            state = "matched" if verdict.matched else "not matched"
            out.write(f"{args.file}:{number}: {doc['event']}: {state}: {verdict.reason}\n")
            for item in verdict.detail.items if verdict.detail else ():
                if item.selected_by:
                    out.write(f"  item {item.index}: selected by {item.selected_by}\n")
                else:
                    out.write(f"  item {item.index}: rejected: {'; '.join(item.reasons)}\n")
    except InputError as exc:
        out.flush()
        err.write(f"eventmask: {exc}\n")
        return EXIT_INVALID
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        out.flush()
        err.write(f"eventmask: {args.file}: corrupt or truncated gzip stream: {exc}\n")
        return EXIT_INVALID
    finally:
        if raw is not sys.stdin.buffer:
            raw.close()
    return EXIT_OK


def _ignore(_: object) -> None:
    return None


def _secrets(err: TextIO) -> list[str] | None:
    raw = os.environ.get("EVENTMASK_SECRET", "")
    secrets = [s.strip() for s in raw.split(",") if s.strip()]
    if not secrets:
        err.write(
            "eventmask: set EVENTMASK_SECRET to the shared secret Channex sends "
            "(several, comma-separated, while rotating); it is never taken from the command line\n"
        )
        return None
    return secrets


def _cmd_serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    secrets = _secrets(err)
    if secrets is None:
        return EXIT_USAGE
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        err.write("eventmask: serve needs uvicorn: pip install 'eventmask[server]'\n")
        return EXIT_USAGE
    from ._inbox import InboxError
    from ._serve import load_router, serve

    try:
        load_router(args.app)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        err.write(f"eventmask: cannot load {args.app}: {exc}\n")
        return EXIT_USAGE
    try:
        serve(
            args.app,
            db=None if args.inline else args.db,
            secrets=secrets,
            host=args.host,
            port=args.port,
            workers=args.workers,
            header=args.header,
            max_body=args.max_body,
            dedup_revisions=args.dedup_revisions,
            lease=args.lease,
            max_attempts=args.max_attempts,
            log_level=args.log_level,
        )
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    return EXIT_OK


def _cmd_worker(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import signal
    import threading

    from ._inbox import InboxError, open_inbox
    from ._serve import load_router, setup_logging
    from ._worker import Worker

    setup_logging(args.log_level)
    try:
        router = load_router(args.app)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        err.write(f"eventmask: cannot load {args.app}: {exc}\n")
        return EXIT_USAGE
    try:
        inbox = open_inbox(args.db, lease=args.lease, max_attempts=args.max_attempts)
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.parent_pid is not None:
        from ._serve import exit_with_parent

        exit_with_parent(args.parent_pid, stop.set)
    workers = [Worker(inbox, router).start() for _ in range(args.workers)]
    stop.wait()
    for worker in workers:
        worker.stop()
    inbox.close()
    return EXIT_OK


def _cmd_inbox(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from ._inbox import InboxError, open_inbox

    if args.action == "migrate":
        return _migrate(args.db, out, err)
    if "://" not in args.db and not os.path.exists(args.db):
        err.write(f"eventmask: no inbox at {args.db}\n")
        return EXIT_USAGE
    try:
        inbox = open_inbox(args.db)
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    try:
        if args.action == "stats":
            _write_json(inbox.stats(), out)
        elif args.action == "list":
            for entry in inbox.entries(args.state, args.limit):
                error = f"  {entry.last_error}" if entry.last_error else ""
                out.write(
                    f"{entry.id}\t{entry.state}\t{entry.event}\tattempts={entry.attempts}{error}\n"
                )
        elif args.action == "rejections":
            for row in inbox.rejections(args.limit):
                out.write(f"{row['id']}\t{row['status']}\t{row['remote']}\t{row['reason']}\n")
        elif args.action in ("show", "retry"):
            if args.id is None:
                err.write(f"eventmask: inbox {args.action} needs an entry ID\n")
                return EXIT_USAGE
            if args.action == "show":
                _write_json(inbox.get(args.id).as_dict(), out)
            else:
                inbox.retry(args.id)
                out.write(f"entry {args.id} is pending again\n")
        elif args.action == "purge":
            removed = inbox.purge(args.older_than * 86_400)
            out.write(f"purged {removed} done entries older than {args.older_than:g} days\n")
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_INVALID
    finally:
        inbox.close()
    return EXIT_OK


_DB = os.environ.get("EVENTMASK_DB") or None
_DB_HELP = (
    "the inbox: a file path, sqlite:///PATH or postgresql://... "
    "(default: $EVENTMASK_DB; libpq also reads PGPASSWORD and ~/.pgpass)"
)


def _migrate(db: str, out: TextIO, err: TextIO) -> int:
    from ._inbox import InboxError, open_inbox

    try:
        inbox = open_inbox(db, migrate=True)
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    inbox.close()
    assert inbox.migrated is not None
    before, after = inbox.migrated
    if before == after:
        out.write(f"the inbox schema is up to date (version {after})\n")
    else:
        out.write(f"migrated the inbox schema from version {before} to {after}\n")
    return EXIT_OK


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

    filt = sub.add_parser(
        "filter",
        help="print the notifications (JSON Lines) a mask matches, ARI payloads narrowed",
    )
    filt.add_argument("mask", metavar="MASK")
    filt.add_argument("files", nargs="*", metavar="FILE", help="JSON Lines, .gz, or '-' (stdin)")
    filt.add_argument("--items", action="store_true", help="one selected ARI item per line")
    filt.add_argument("--property", metavar="ID", help="only notifications of this property")
    filt.add_argument("--lenient", action="store_true", help="parse the mask leniently")
    filt.add_argument("--count", action="store_true", help="print only the number of matches")
    filt.add_argument("--stats", action="store_true", help="print counts and throughput to stderr")
    filt.add_argument("--skip-invalid", action="store_true", help="report and skip malformed lines")
    filt.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: on when stderr is a terminal and input a file)",
    )
    filt.set_defaults(run=_cmd_filter)

    expl = sub.add_parser("explain", help="say why each notification (and ARI item) matched")
    expl.add_argument("mask", metavar="MASK")
    expl.add_argument("file", metavar="FILE", help="JSON Lines, .gz, or '-' (stdin)")
    expl.add_argument("--property", metavar="ID", help="scope the mask to one property")
    expl.add_argument("--lenient", action="store_true", help="parse the mask leniently")
    expl.set_defaults(run=_cmd_explain)

    srv = sub.add_parser("serve", help="run the webhook receiver (and inbox workers)")
    srv.add_argument("app", metavar="APP", help="module:router")
    srv.add_argument("--db", default=_DB, help=_DB_HELP)
    srv.add_argument("--inline", action="store_true", help="no inbox: dispatch before answering")
    srv.add_argument("--host", default="127.0.0.1")
    srv.add_argument("--port", type=int, default=8000)
    srv.add_argument("--workers", type=int, default=1, help="inbox worker processes")
    srv.add_argument("--header", default="X-Channex-Webhook-Secret", help="the secret's header")
    srv.add_argument("--max-body", type=int, default=1_048_576, help="bytes (413 above)")
    srv.add_argument(
        "--dedup-revisions",
        action="store_true",
        help="one entry per booking revision, whether it came as booking or booking_*",
    )
    srv.add_argument("--lease", type=float, default=60.0, help="seconds a claim is held")
    srv.add_argument("--max-attempts", type=int, default=10, help="then a dead letter")
    srv.add_argument("--log-level", default="info")
    srv.set_defaults(run=_cmd_serve)

    wrk = sub.add_parser("worker", help="run inbox workers without the HTTP server")
    wrk.add_argument("app", metavar="APP", help="module:router")
    wrk.add_argument("--db", default=_DB, required=_DB is None, help=_DB_HELP)
    wrk.add_argument("--workers", type=int, default=1)
    wrk.add_argument("--lease", type=float, default=60.0, help="seconds a claim is held")
    wrk.add_argument("--max-attempts", type=int, default=10, help="then a dead letter")
    wrk.add_argument("--log-level", default="info")
    wrk.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    wrk.set_defaults(run=_cmd_worker)

    box = sub.add_parser(
        "inbox", help="create the inbox (migrate); read and replay it: stats, list, show, retry"
    )
    box.add_argument(
        "action", choices=["migrate", "stats", "list", "show", "retry", "purge", "rejections"]
    )
    box.add_argument("id", nargs="?", type=int, metavar="ID")
    box.add_argument("--db", default=_DB, required=_DB is None, help=_DB_HELP)
    box.add_argument("--state", choices=["pending", "claimed", "done", "dead"])
    box.add_argument("--limit", type=int, default=50)
    box.add_argument("--older-than", type=float, default=7.0, metavar="DAYS")
    box.set_defaults(run=_cmd_inbox)

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
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # FILE arguments after options (`filter MASK --stats a.jsonl b.jsonl`).
        if args.command == "filter" and all(e == "-" or not e.startswith("-") for e in extra):
            args.files = [*args.files, *extra]
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "serve" and not args.db and not args.inline:
        parser.error("serve needs --db PATH (durable inbox) or --inline")
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
