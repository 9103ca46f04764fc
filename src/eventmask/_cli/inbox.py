"""``eventmask inbox migrate|stats|list|show|retry|purge|rejections`` (docs/receiver.md)."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from .common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    add_db_argument,
    database,
    number,
    write_json,
)

__all__ = ["register"]

ACTIONS = ("migrate", "stats", "list", "show", "retry", "purge", "rejections")


def _migrate(db: str, out: TextIO, err: TextIO) -> int:
    from .._errors import InboxError
    from .._inbox.factory import open_inbox

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


def _inbox(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._errors import InboxError
    from .._inbox.factory import open_inbox

    db = database(args)
    if db is None:
        err.write("eventmask: error: inbox needs --db URL (or EVENTMASK_DB)\n")
        return EXIT_USAGE
    if args.action == "migrate":
        return _migrate(db, out, err)
    if args.action == "purge" and not _purge_allowed(args, err):
        return EXIT_USAGE
    try:
        # Reading, retrying and purging never create or migrate an inbox.
        inbox = open_inbox(db, create=False)
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    try:
        return _act(inbox, args, out, err)
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_INVALID
    finally:
        inbox.close()


def _purge_allowed(args: argparse.Namespace, err: TextIO) -> bool:
    """Purging inside the deduplication window would let a retry in twice: only with --force."""
    from .._inbox.settings import InboxSettings

    window_days = InboxSettings().dedup_window / 86_400
    if args.older_than < window_days and not args.force:
        err.write(
            f"eventmask: error: --older-than {args.older_than:g} is inside the deduplication "
            f"window ({window_days:g} days): a Channex retry of a purged delivery would be "
            "stored and handled again; give --force to purge anyway\n"
        )
        return False
    return True


def _act(inbox: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.action == "stats":
        write_json(inbox.stats(), out)
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
            write_json(inbox.get(args.id).as_dict(), out)
        else:
            inbox.retry(args.id)
            out.write(f"entry {args.id} is pending again\n")
    elif args.action == "purge":
        removed = inbox.purge(args.older_than * 86_400)
        out.write(f"purged {removed} done entries older than {args.older_than:g} days\n")
    return EXIT_OK


def register(sub: Any) -> None:
    """Add the inbox command to the subcommands `sub`."""
    box = sub.add_parser(
        "inbox", help="create the inbox (migrate); read and replay it: stats, list, show, retry"
    )
    box.add_argument("action", choices=ACTIONS)
    box.add_argument("id", nargs="?", type=number(int, low=1, high=2**63 - 1), metavar="ID")
    add_db_argument(box)
    box.add_argument("--state", choices=["pending", "claimed", "done", "dead"])
    box.add_argument("--limit", type=number(int, low=1, high=1_000_000), default=50)
    box.add_argument(
        "--older-than",
        type=number(float, low=0),
        default=7.0,
        metavar="DAYS",
        help="purge: done entries and refusals older than this (default 7)",
    )
    box.add_argument(
        "--force", action="store_true", help="purge: even inside the deduplication window"
    )
    box.set_defaults(run=_inbox)
