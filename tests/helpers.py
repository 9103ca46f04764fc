"""Builders the tests share: ids, notifications, envelopes, looks into an inbox's database.

One place for the shapes the tests build by hand, so that a change in what
Channex sends (or in what eventmask reads) is one change here.
"""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import psycopg
import pytest
import uvicorn

from eventmask._cli import main
from eventmask.inbox import Envelope

PROPERTY = "716305c4-561a-4561-a187-7f5b8aeb5920"
ROOM_TYPE = "27e24739-239c-4619-9c30-0dc390f5d7ac"
RATE_PLAN = "04c607e4-644d-45ea-ab1a-da920ee36e50"


def dumps(doc: Any) -> bytes:
    """Compact JSON bytes (the tests build bodies with the project's JSON library)."""
    return msgspec.json.encode(doc)


def loads(data: bytes | str) -> Any:
    """Decoded JSON."""
    return msgspec.json.decode(data)


def uuid(n: int, family: int = 0) -> str:
    """A valid, readable id: family and number in the first and last groups.

    >>> uuid(7, 1)
    '00000001-0000-4000-8000-000000000007'
    """
    return f"{family:08x}-0000-4000-8000-{n:012x}"


def ari(*items: dict[str, Any], property_id: str = PROPERTY, **extra: Any) -> dict[str, Any]:
    """An ``ari`` notification carrying `items` (none: an empty payload)."""
    return {"event": "ari", "property_id": property_id, "payload": list(items), **extra}


def item(
    date: str = "2026-05-01",
    room: str | None = ROOM_TYPE,
    rate: str | None = RATE_PLAN,
    **changes: Any,
) -> dict[str, Any]:
    """One ARI item; ids of None are left out."""
    out: dict[str, Any] = {"date": date}
    if room is not None:
        out["room_type_id"] = room
    if rate is not None:
        out["rate_plan_id"] = rate
    out.update(changes)
    return out


def envelope(doc: dict[str, Any]) -> Envelope:
    """The envelope the receiver would read for `doc` posted as compact JSON."""
    return Envelope.of(dumps(doc), doc)


def body(n: int, event: str = "message", **payload: Any) -> Envelope:
    """Delivery number `n`: a distinct body, its number in ``payload.delivery``."""
    return envelope(
        {"event": event, "property_id": "p", "payload": {"delivery": f"d{n}", **payload}}
    )


class Server:
    """uvicorn in a background thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``eventmask ARGV`` in this process: exit status, stdout, stderr."""
    try:
        status = main(list(argv))
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


EVENTMASK = str(Path(sys.executable).with_name("eventmask"))


def run_eventmask(
    *argv: str,
    stdin: bytes | None = None,
    timeout: float = 120,
    command: Sequence[str] = (EVENTMASK,),
) -> subprocess.CompletedProcess[bytes]:
    """Run the installed ``eventmask ARGV`` in a process of its own (bytes in and out);
    `command` is what runs it, when not the console script."""
    return subprocess.run([*command, *argv], input=stdin, capture_output=True, check=False,
                          timeout=timeout)  # fmt: skip


def python_output(code: str) -> str:
    """The stripped stdout of `code` run by a fresh Python (what it imports starts from zero)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def query(url: str, statement: str) -> list[tuple[Any, ...]]:
    """Rows from an independent connection (not the inbox's), to an SQLite file or a
    PostgreSQL URL."""
    if "://" in url:
        with psycopg.connect(url) as conn:
            return [tuple(r) for r in conn.execute(statement).fetchall()]
    conn = sqlite3.connect(url)
    try:
        return conn.execute(statement).fetchall()
    finally:
        conn.close()


def url_of(inbox: Any) -> str:
    """What `query` reaches an inbox by: its PostgreSQL URL or its SQLite file."""
    return str(getattr(inbox, "url", None) or inbox.path)


class Holder:
    """Another process's connection holding an SQLite inbox's write lock (a stuck
    handler's)."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()


def through(table: Any, mask: Any, batch: list[bytes], scope: str | None, asked: Any,
            fast: bool, items: bool = False) -> tuple[list[str], tuple[int, ...]]:  # fmt: skip
    """Filter `batch` into `table` (a summary or a table of `_cli.summaries`) by its fast
    path, or by the general path alone (the reference): the problems reported and the
    counts.  The table is finished."""
    from eventmask import Catalogue, FilterStats, filter_lines
    from eventmask._routing.filter import filter_with

    problems: list[str] = []
    stats = FilterStats()
    common: dict[str, Any] = {"property_id": scope, "stats": stats, "source": "feed",
                              "on_invalid": lambda e: problems.append(str(e)),
                              "predicates": asked, "items": items}  # fmt: skip
    if fast:
        quick = table.fast_path(scope, Catalogue.default(), asked)
        assert quick is not None, "the table's fast path does not take this mask"
        selected = filter_with(quick, mask, batch, catalogue=Catalogue.default(), **common)
    else:
        selected = filter_lines(mask, batch, fast=False, **common)
    for line in selected:
        table.add(line)
    table.finish()
    counts = (stats.lines, stats.blank, stats.invalid, stats.matched, stats.items_read,
              stats.items_selected, stats.bytes_read)  # fmt: skip
    return problems, counts
