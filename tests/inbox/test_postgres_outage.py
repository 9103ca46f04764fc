"""A PostgreSQL outage: refused fast, back at the first request, logged once, waited for.

Each test stops and starts a throwaway server of its own (tests/pgserver.py).
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path

import pytest

from eventmask.inbox import InboxUnavailable, open_inbox

from ..conftest import ROOT, report
from ..helpers import body
from ..pgserver import ThrowawayPostgres
from ..procs import EVENTMASK, inbox_stats


@pytest.mark.slow
def test_low_traffic_is_answered_at_the_first_request_after_the_return(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """One delivery every 2 s through an 8 s outage; after it, the next one is stored.

    The pool's own reconnection backs off (1, 2, 4, 8 s ...): left to it, the
    first attempt after the return came seconds later.
    """
    with ThrowawayPostgres() as server:
        inbox = open_inbox(server.url, migrate=True, connect_timeout=2)
        try:
            inbox.put(body(0))
            with caplog.at_level(logging.WARNING):
                server.pause()
                refused = []
                for n in range(4):  # low traffic: Channex retrying now and then
                    started = time.monotonic()
                    with pytest.raises(InboxUnavailable):
                        inbox.put(body(n + 1))
                    refused.append(time.monotonic() - started)
                    time.sleep(2)
                server.resume()
                back = time.monotonic()
                while True:
                    try:
                        inbox.put(body(9))
                        break
                    except InboxUnavailable:
                        assert time.monotonic() - back < 30
                        time.sleep(0.25)
                answered = time.monotonic() - back
            messages = [r.getMessage() for r in caplog.records if r.name == "eventmask.inbox"]
            pool_lines = sum(r.name == "psycopg.pool" for r in caplog.records)
        finally:
            inbox.close()
    report(
        f"PostgreSQL outage of 8 s at low traffic: refused in {max(refused):.2f} s at most, "
        f"stored again {answered:.2f} s after the server's return"
    )
    assert answered <= 2.0
    assert max(refused[1:]) < 0.5  # refused at once while down, not after a pool timeout
    assert sum("is unavailable" in m for m in messages) == 1
    assert sum("is back after" in m for m in messages) == 1
    assert pool_lines <= 2  # the pool's own line per reconnection attempt is gone


@pytest.mark.slow
def test_a_worker_started_while_the_database_is_down_waits_for_it(tmp_path: Path) -> None:
    """`eventmask worker` says once that it waits, then works when the database returns."""
    with ThrowawayPostgres() as server:
        open_inbox(server.url, migrate=True).close()
        server.pause()
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [EVENTMASK, "worker", "tests.apps:recording", "--log-level", "info"],
            cwd=ROOT,
            env={**os.environ, "EVENTMASK_DB": server.url},
            stdout=log,
            stderr=log,
        )
        try:
            time.sleep(4)
            assert worker.poll() is None, "the worker exited instead of waiting"
            server.resume()
            inbox = open_inbox(server.url)
            try:
                inbox.put(body(1))
            finally:
                inbox.close()
            deadline = time.monotonic() + 20
            while inbox_stats(server.url)["done"] != 1:
                assert time.monotonic() < deadline, "the worker never handled the entry"
                time.sleep(0.2)
            worker.terminate()
            assert worker.wait(30) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
            log.close()
    text = (tmp_path / "worker.log").read_text()
    assert text.count("waiting for the inbox database") == 1
    assert "the inbox database answers" in text


def test_a_wrong_url_is_reported_within_seconds(tmp_path: Path) -> None:
    """Nothing listens there: `inbox stats` says so and exits 2, a worker says so and waits."""
    url = "postgresql://nobody@127.0.0.1:9/none"
    started = time.monotonic()
    done = subprocess.run(
        [EVENTMASK, "inbox", "stats", "--db", url], capture_output=True, text=True, timeout=30
    )
    took = time.monotonic() - started
    assert done.returncode == 2
    assert "Connection refused" in done.stderr
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [EVENTMASK, "worker", "tests.apps:recording", "--db", url],
            cwd=ROOT, stdout=log, stderr=log,
        )  # fmt: skip
        try:
            began = time.monotonic()
            while "Connection refused" not in log_path.read_text():
                assert time.monotonic() - began < 5, "the worker did not say why it waits"
                time.sleep(0.05)
            said = time.monotonic() - began
            assert worker.poll() is None
        finally:
            worker.terminate()
            worker.wait(30)
    report(f"a refused PostgreSQL URL: inbox stats exited 2 in {took:.2f} s, "
           f"a worker said why it waits after {said:.2f} s")  # fmt: skip
    assert took < 3
