"""``eventmask revisions pull|status``, and the revision flow of ``eventmask worker --revisions``.

docs/bookings.md has the flow; this is where it meets the command line.
Polling runs in the worker processes: each worker started with
``--revisions`` acks what its handlers committed and polls the feed.
"""

from __future__ import annotations

import argparse
import threading
from typing import Any, TextIO

from .channex_args import api_options, channex_client, guarded
from .commands import about
from .common import EXIT_OK, EXIT_USAGE, add_db_argument, database, number, write_json

__all__ = ["register", "revision_arguments", "revision_options", "start_ari_pull", "start_flow"]


def revision_options(parser: argparse.ArgumentParser) -> None:
    """The options of a worker that pulls and acks booking revisions."""
    parser.add_argument(
        "--revisions",
        action="store_true",
        help="pull booking revisions from Channex's feed for the router's on_revision "
        "handlers, and ack each after its handler committed ($CHANNEX_API_KEY)",
    )
    parser.add_argument(
        "--property",
        action="append",
        default=[],
        metavar="ID",
        help="with --revisions: poll this property's feed (repeat; default: the account's)",
    )
    parser.add_argument(
        "--poll-every",
        type=number(float, low=1),
        default=60.0,
        help="with --revisions: seconds between two polls of the feed (default 60)",
    )
    parser.add_argument(
        "--pull-ari",
        action="store_true",
        help="answer signal-only ari notifications (send_data: false) by reading the "
        "property's restrictions and availability back, within Channex's budget "
        "(docs/ari.md; $CHANNEX_API_KEY)",
    )
    parser.add_argument(
        "--ari-days",
        type=number(int, low=0, high=1_000),
        default=365,
        metavar="N",
        help="with --pull-ari: read today and the N days after it",
    )
    api_options(parser)


def revision_arguments(args: argparse.Namespace) -> list[str]:
    """The Channex options of `args` again (revisions, the ARI pull), for a worker that
    `serve` starts."""
    out = []
    if getattr(args, "revisions", False):
        out += ["--revisions", "--poll-every", str(args.poll_every)]
        for prop in args.property:
            out += ["--property", prop]
    if getattr(args, "pull_ari", False):
        out += ["--pull-ari", "--ari-days", str(args.ari_days)]
    if out:
        out += ["--attempts", str(args.attempts)]
        if args.api_url:
            out += ["--api-url", args.api_url]
    return out


def start_flow(args: argparse.Namespace, inbox: Any, stop: threading.Event) -> Any:
    """With ``--revisions``: the `RevisionFlow`, its thread started (else None)."""
    if not getattr(args, "revisions", False):
        return None
    from .._service.revisions import RevisionFlow

    flow = RevisionFlow(
        inbox, channex_client(args), properties=args.property, poll_every=args.poll_every
    )
    threading.Thread(target=flow.run, args=(stop,), name="eventmask-revisions", daemon=True).start()
    return flow


def start_ari_pull(args: argparse.Namespace) -> Any:
    """With ``--pull-ari``: the `AriPull` the workers share (else None).

    One per process, shared by its worker threads: the budget is per property,
    and two pullers in one process would each spend all of it.
    """
    if not getattr(args, "pull_ari", False):
        return None
    from .._service.ari_pull import AriPull

    return AriPull(channex_client(args), days=args.ari_days)


def _open(args: argparse.Namespace, err: TextIO) -> Any:
    from .._errors import InboxError
    from .._inbox.factory import open_inbox

    db = database(args)
    if db is None:
        err.write("eventmask: error: revisions needs --db URL (or EVENTMASK_DB)\n")
        return None
    try:
        return open_inbox(db, create=False)
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return None


@guarded
def _pull(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._service.revisions import RevisionFlow

    inbox = _open(args, err)
    if inbox is None:
        return EXIT_USAGE
    try:
        with channex_client(args) as client:
            flow = RevisionFlow(inbox, client)
            for prop in args.property or [None]:
                new = flow.pull(prop)
                out.write(f"{prop or 'every property'}: {new} new revisions stored\n")
    finally:
        inbox.close()
    return EXIT_OK


def _status(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    inbox = _open(args, err)
    if inbox is None:
        return EXIT_USAGE
    try:
        status = inbox.revision_status()
    finally:
        inbox.close()
    if args.json:
        write_json(status, out)
        return EXIT_OK
    columns = ("pending", "dead", "handled_not_acked", "acked", "gone", "unacked")
    out.write("PROPERTY\t" + "\t".join(c.upper() for c in columns)
              + "\tOLDEST UNACKED (s)\tLAST POLL (s ago)\n")  # fmt: skip
    for prop, row in sorted(status.items()):
        cells = "\t".join(str(row[c]) for c in columns)
        out.write(f"{prop or '(account feed)'}\t{cells}\t{_age(row['oldest_unacked_age_s'])}"
                  f"\t{_poll(row)}\n")  # fmt: skip
    return EXIT_OK


def _age(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.0f}"


def _poll(row: dict[str, Any]) -> str:
    """The last poll's age; a failed one says so, and when the feed was last read."""
    if row["last_poll_error"] is None:
        return _age(row["last_poll_age_s"])
    good = row["last_good_poll_age_s"]
    since = "never read" if good is None else f"last read {_age(good)} s ago"
    return f"{_age(row['last_poll_age_s'])} FAILED ({since}): {row['last_poll_error']}"


def register(sub: Any) -> None:
    """Add ``revisions pull`` and ``revisions status`` to the subcommands `sub`."""
    revisions = sub.add_parser("revisions", help=about("revisions"))
    actions = revisions.add_subparsers(dest="action", required=True)
    pull = actions.add_parser("pull", help="pull Channex's feed into the inbox once")
    add_db_argument(pull)
    pull.add_argument("--property", action="append", default=[], metavar="ID",
                      help="this property's feed (repeat; default: the account's)")  # fmt: skip
    api_options(pull)
    pull.set_defaults(run=_pull)
    status = actions.add_parser("status", help="per property: unacked, dead, acked, oldest age")
    add_db_argument(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(run=_status)
