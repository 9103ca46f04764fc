"""``eventmask inbox migrate|stats|list|show|retry|replay|purge|refusals`` (docs/receiver.md).

Human output has headers and ISO 8601 UTC times; ``--json`` prints the same
records as JSON, times in ISO 8601 too.
"""

from __future__ import annotations

import argparse

from .._inbox.states import STATES
from .commands import about
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    TYPE_CHECKING,
    add_db_argument,
    database,
    iso,
    moment,
    number,
    open_existing,
    write_json,
)

if TYPE_CHECKING:  # the command line's TYPE_CHECKING (common.py): `typing` only for the checker
    from typing import Any, TextIO

__all__ = ["register"]


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

    db = database(args)
    if db is None:
        err.write("eventmask: error: inbox needs --db URL (or EVENTMASK_DB)\n")
        return EXIT_USAGE
    if args.action == "migrate":
        return _migrate(db, out, err)
    if args.action == "purge" and not _purge_allowed(args, err):
        return EXIT_USAGE
    if args.action == "stats":
        from .._inbox.urls import is_postgres_url

        if not is_postgres_url(db):
            return _file_stats(db, args, out, err)
    inbox = open_existing(db, err)
    if inbox is None:
        return EXIT_USAGE
    try:
        return _act(inbox, args, out, err)
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_INVALID
    finally:
        inbox.close()


def _file_stats(db: str, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """``inbox stats`` of an SQLite file, read without an `SQLiteInbox` (a health check
    often runs it: docs/architecture.md, "Start-up")."""
    import time

    from .._errors import InboxError, InboxUnavailable
    from .._inbox.sqlite_file import read_stats
    from .._inbox.urls import sqlite_path

    try:
        stats = read_stats(sqlite_path(db), time.time())
    except InboxUnavailable as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_INVALID
    except InboxError as exc:  # not an inbox, or another schema: as `open_existing` answers
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    write_json(stats, out) if args.json else _stats(stats, out)
    return EXIT_OK


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


_TIMES = ("received_at", "available_at", "lease_until", "done_at")


def _entry_doc(entry: Any, *, body: bool = True) -> dict[str, Any]:
    """An entry as JSON: times in ISO 8601 UTC, the body decoded when it is JSON."""
    doc: dict[str, Any] = entry.as_dict()
    for key in _TIMES:
        doc[key] = iso(doc[key])
    if not body:
        del doc["body"]
    return doc


def _stats(stats: dict[str, Any], out: TextIO) -> None:
    for state in ("pending", "claimed", "done", "dead"):
        count = stats[state]
        out.write(f"{state:<10}{'-' if count is None else count:>10}\n")
    age = stats["oldest_pending_age_s"]
    out.write(f"oldest pending: {'none' if age is None else f'{age:,.1f} s ago'}\n")
    out.write(f"refused in the last 24 h: {stats['refused_last_24h']}\n")
    for kind in stats["refused_by_kind_last_24h"]:
        out.write(f"  {kind['status']} {kind['kind']:<24}{kind['count']:>10}\n")


def _list(entries: list[Any], limit: int, out: TextIO, err: TextIO) -> None:
    from .._inbox.failures import one_line

    out.write("ID\tSTATE\tEVENT\tATTEMPTS\tRECEIVED\tLAST ERROR\n")
    for e in entries:
        received = iso(e.received_at)
        error = one_line(e.last_error)
        out.write(f"{e.id}\t{e.state}\t{e.event}\t{e.attempts}\t{received}\t{error}\n")
    if not entries:
        err.write("eventmask: no entries\n")
    elif len(entries) == limit:  # on stderr: stdout stays a table for scripts
        err.write(f"eventmask: more with --before {entries[-1].id}\n")


def _show(entry: Any, out: TextIO) -> None:
    doc = _entry_doc(entry)
    tries = f"{entry.attempts} attempt{'s' if entry.attempts != 1 else ''}"
    out.write(f"entry {entry.id}: {entry.event}, {entry.state} after {tries}\n")
    for label, key in (
        ("property", "property_id"),
        ("key", "idempotency_key"),
        ("received", "received_at"),
        ("available", "available_at"),
        ("lease", "lease_owner"),
        ("lease until", "lease_until"),
        ("done", "done_at"),
    ):
        out.write(f"  {label:<12}{doc[key] if doc[key] is not None else '-'}\n")
    if entry.last_error:
        out.write(
            "last error:\n" + "".join(f"  {line}\n" for line in entry.last_error.splitlines())
        )
    out.write("body:\n")
    write_json(doc["body"], out)


def _refusals(rows: list[dict[str, Any]], out: TextIO) -> None:
    out.write("ID\tAT\tSTATUS\tREMOTE\tREASON\n")
    for row in rows:
        out.write(
            f"{row['id']}\t{iso(row['at'])}\t{row['status']}\t{row['remote']}\t{row['reason']}\n"
        )


def _retry(inbox: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    filters = args.state is not None or args.since is not None or args.event is not None
    if args.id is not None:
        if filters:
            err.write("eventmask: error: inbox retry takes an entry ID or filters, not both\n")
            return EXIT_USAGE
        inbox.retry(args.id)
        out.write(f"entry {args.id} is pending again\n")
        return EXIT_OK
    if not filters:
        err.write(
            "eventmask: error: inbox retry needs an entry ID, or --state, --since or --event "
            "to retry many\n"
        )
        return EXIT_USAGE
    state = args.state or "dead"
    if state not in ("dead", "pending"):
        err.write(f"eventmask: error: only dead or pending entries are retried, not {state}\n")
        return EXIT_USAGE
    changed = inbox.retry_matching(state, since=args.since, event=args.event)
    out.write(f"{changed} {state} entr{'y is' if changed == 1 else 'ies are'} pending again\n")
    return EXIT_OK


def _act(inbox: Any, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.action == "stats":
        stats = inbox.stats()
        write_json(stats, out) if args.json else _stats(stats, out)
    elif args.action == "list":
        entries = inbox.entries(args.state, args.limit, before=args.before, event=args.event)
        if args.json:
            write_json([_entry_doc(e, body=False) for e in entries], out)
        else:
            _list(entries, args.limit, out, err)
    elif args.action in ("refusals", "rejections"):  # rejections: the old name
        rows = inbox.refusals(args.limit)
        if args.json:
            write_json([{**row, "at": iso(row["at"])} for row in rows], out)
        else:
            _refusals(rows, out)
    elif args.action == "show":
        if (args.id is None) == (args.revision is None):
            err.write("eventmask: error: inbox show needs an entry ID or --revision, not both\n")
            return EXIT_USAGE
        entry = inbox.get(args.id) if args.revision is None else inbox.revision_entry(args.revision)
        write_json(_entry_doc(entry), out) if args.json else _show(entry, out)
    elif args.action == "retry":
        return _retry(inbox, args, out, err)
    elif args.action == "replay":
        new = inbox.replay(args.id)
        out.write(f"entry {args.id} was stored again as entry {new}, pending\n")
    elif args.action == "purge":
        removed = inbox.purge(args.older_than * 86_400)
        out.write(f"purged {removed} done entries older than {args.older_than:g} days\n")
    return EXIT_OK


_ID = number(int, low=1, high=2**63 - 1)

# Each action, what it does (the summary in `eventmask inbox --help`).
_ABOUT = {
    "migrate": "create the inbox, or bring its schema up to date",
    "stats": "entries per state, the oldest pending age, refusals in the last 24 h",
    "list": "entries, newest first, a page at a time",
    "show": "one entry: its times, last error and body",
    "retry": "make dead (or backed-off pending) entries pending again",
    "replay": "store a done entry again, as a new pending entry",
    "purge": "delete done entries and refusals older than some days",
    "refusals": "the latest refused requests, with their reasons",
}


def _limit(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--limit",
        type=number(int, low=1, high=1_000_000),
        default=50,
        help=f"at most this many {what}, newest first",
    )


def _json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON, times in ISO 8601")


def _add_actions(actions: Any) -> dict[str, argparse.ArgumentParser]:
    """One parser per action, each with only the options it reads."""
    # `rejections`: the old name of `refusals`, still accepted.
    aliases = {"refusals": ["rejections"]}
    cmds = {name: actions.add_parser(name, help=about, description=about,
                                     aliases=aliases.get(name, []))
            for name, about in _ABOUT.items()}  # fmt: skip
    for cmd in cmds.values():
        add_db_argument(cmd)
    for name in ("stats", "list", "show", "refusals"):
        _json(cmds[name])
    for name in ("show", "retry", "replay"):
        nargs = None if name == "replay" else "?"
        cmds[name].add_argument("id", nargs=nargs, type=_ID, metavar="ID", help="an entry id")
    return cmds


def register(sub: Any) -> None:
    """Add the inbox command, one subcommand per action, to the subcommands `sub`."""
    box = sub.add_parser("inbox", help=about("inbox"))
    actions = box.add_subparsers(dest="action", required=True, metavar="ACTION")
    cmds = _add_actions(actions)
    listing, retry = cmds["list"], cmds["retry"]
    listing.add_argument("--state", choices=STATES, help="only entries in this state")
    listing.add_argument("--event", metavar="NAME", help="only entries of this event")
    _limit(listing, "rows")
    listing.add_argument(
        "--before",
        type=_ID,
        metavar="ID",
        help="the next page: entries with ids below ID (the last id shown)",
    )
    cmds["show"].add_argument(
        "--revision", metavar="REVISION_ID", help="the entry of this booking revision, by its id"
    )
    retry.add_argument("--state", choices=("dead", "pending"),
                       help="retry every entry in this state (default: dead)")  # fmt: skip
    retry.add_argument(
        "--since",
        type=moment,
        metavar="WHEN",
        help="only entries received since WHEN (ISO 8601, or an age: 90m, 2h, 7d)",
    )
    retry.add_argument("--event", metavar="NAME", help="only entries of this event")
    _limit(cmds["refusals"], "refused requests")
    purge = cmds["purge"]
    purge.add_argument("--older-than", type=number(float, low=0), default=7.0, metavar="DAYS",
                       help="done entries and refusals older than this many days")  # fmt: skip
    purge.add_argument("--force", action="store_true", help="even inside the deduplication window")
    box.set_defaults(run=_inbox)
