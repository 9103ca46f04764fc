"""``eventmask revisions pull|status`` and ``eventmask worker --revisions``, as processes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from eventmask.testing import revision_attributes, revision_chain

from ..channex_api import API_KEY, ChannexStandIn, serving
from ..conftest import ROOT
from ..helpers import uuid
from ..procs import EVENTMASK, kill_leftovers

PROPERTY = uuid(1)


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Iterator[None]:
    yield
    kill_leftovers()


@pytest.fixture
def api() -> Iterator[tuple[str, ChannexStandIn]]:
    with serving() as running:
        yield running


def run(*argv: str, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CHANNEX_API_KEY": API_KEY, "EVENTMASK_DB": str(db)}
    return subprocess.run(
        [EVENTMASK, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def status(db: Path) -> dict[str, Any]:
    done = run("revisions", "status", "--json", db=db)
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def test_pull_then_a_worker_saves_and_acks(tmp_path: Path, api: tuple[str, ChannexStandIn]) -> None:
    url, standin = api
    db = tmp_path / "inbox.db"
    assert run("inbox", "migrate", "--db", str(db), db=db).returncode == 0
    chain = revision_chain(property_id=PROPERTY)
    standin.revisions.add(*chain, revision_attributes(property_id=uuid(2)))
    pulled = run("revisions", "pull", "--property", PROPERTY, "--api-url", url, db=db)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout == f"{PROPERTY}: 3 new revisions stored\n"
    assert status(db)[PROPERTY]["pending"] == 3
    assert status(db)[PROPERTY]["last_poll_error"] is None
    env = {**os.environ, "CHANNEX_API_KEY": API_KEY, "EVENTMASK_DB": str(db)}
    worker = subprocess.Popen(
        [EVENTMASK, "worker", "tests.apps:saving", "--revisions", "--api-url", url,
         "--poll-every", "1", "--property", PROPERTY],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while status(db).get(PROPERTY, {}).get("acked", 0) < 3:
            assert time.monotonic() < deadline, status(db)
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(30)
    assert standin.revisions.acks == {r["id"]: 1 for r in chain}
    table = run("revisions", "status", db=db).stdout.splitlines()
    assert table[0].split("\t")[:3] == ["PROPERTY", "PENDING", "DEAD"]
    assert table[1].startswith(f"{PROPERTY}\t0\t0\t0\t3\t0\t0\t")
    assert table[0].endswith("\tLAST POLL (s ago)")
    assert table[1].split("\t")[-1].isdigit()  # the worker polled the feed: seconds ago


def test_status_shows_a_failed_pull_and_when_the_feed_was_last_read(
    tmp_path: Path, api: tuple[str, ChannexStandIn]
) -> None:
    url, standin = api
    db = tmp_path / "inbox.db"
    assert run("inbox", "migrate", "--db", str(db), db=db).returncode == 0
    standin.revisions.add(revision_attributes(property_id=PROPERTY))
    assert run("revisions", "pull", "--property", PROPERTY, "--api-url", url, db=db).returncode == 0
    standin.faults = [502]
    failed = run("revisions", "pull", "--property", PROPERTY, "--api-url", url,
                 "--attempts", "1", db=db)  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    assert "502" in failed.stderr
    assert "Traceback" not in failed.stderr
    (row,) = run("revisions", "status", db=db).stdout.splitlines()[1:]
    poll = row.split("\t")[-1]
    assert "FAILED (last read " in poll
    assert "502" in poll


def test_a_worker_with_revisions_but_no_handler_refuses_to_start(
    tmp_path: Path, api: tuple[str, ChannexStandIn]
) -> None:
    url, _ = api
    db = tmp_path / "inbox.db"
    assert run("inbox", "migrate", "--db", str(db), db=db).returncode == 0
    done = run("worker", "tests.apps:recording", "--revisions", "--api-url", url, db=db)
    assert done.returncode == 2
    assert "needs a handler to save revisions" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_worker_with_pull_ari_answers_a_signal_with_the_values_read(
    tmp_path: Path, api: tuple[str, ChannexStandIn]
) -> None:
    """``worker --pull-ari``: a signal-only ari notification reaches the rate handler."""
    import datetime as dt
    import sqlite3

    from eventmask.inbox import Envelope, SQLiteInbox

    url, standin = api
    today = dt.date.today().isoformat()
    standin.ari.restrictions[PROPERTY] = {uuid(2): {today: {"rate": "120.00"}}}
    db = tmp_path / "inbox.db"
    with SQLiteInbox(db) as inbox:
        inbox.put(Envelope.read(json.dumps({"event": "ari", "property_id": PROPERTY}).encode()))
    missing_key = {k: v for k, v in os.environ.items() if k != "CHANNEX_API_KEY"}
    refused = subprocess.run(
        [EVENTMASK, "worker", "tests.apps:rates", "--pull-ari", "--api-url", url, "--db", str(db)],
        cwd=ROOT, env=missing_key, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2
    assert "CHANNEX_API_KEY" in refused.stderr
    env = {**os.environ, "CHANNEX_API_KEY": API_KEY, "EVENTMASK_DB": str(db)}
    worker = subprocess.Popen(
        [EVENTMASK, "worker", "tests.apps:rates", "--pull-ari", "--ari-days", "3",
         "--api-url", url],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            with SQLiteInbox(db, create=False) as inbox:
                if inbox.stats()["done"] == 1:
                    break
            assert time.monotonic() < deadline
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(30)
    saved = sqlite3.connect(db).execute("SELECT day, plan, rate FROM rates").fetchall()
    assert saved == [(today, uuid(2), "120.00")]
    reads = [path for _, path in standin.requests if path.endswith("/restrictions")]
    assert reads == ["/api/v1/restrictions"]


def test_serve_passes_the_channex_options_to_its_worker_processes() -> None:
    """What `serve --workers N` gives each `eventmask worker` it starts."""
    from eventmask._cli import build_parser
    from eventmask._cli.revisions import revision_arguments

    args = build_parser("serve").parse_args(
        ["serve", "app:router", "--pull-ari", "--ari-days", "30", "--api-url", "http://x"]
    )
    assert revision_arguments(args) == [
        "--pull-ari", "--ari-days", "30", "--attempts", "5", "--api-url", "http://x",
    ]  # fmt: skip
    args = build_parser("serve").parse_args(["serve", "app:router", "--revisions",
                                             "--property", PROPERTY])  # fmt: skip
    assert revision_arguments(args) == [
        "--revisions", "--poll-every", "60.0", "--property", PROPERTY, "--attempts", "5",
    ]  # fmt: skip
    assert revision_arguments(build_parser("serve").parse_args(["serve", "app:router"])) == []
