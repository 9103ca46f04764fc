"""`eventmask serve` as a real process: crash safety, graceful shutdown, the inbox commands."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from eventmask.inbox import SQLiteInbox

from ..conftest import ROOT, report
from ..helpers import run_cli
from ..procs import EVENTMASK, Proc, Replay, effects, kill_leftovers, wait_drained


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Any:
    """Kill any server a failing test left running (its workers die with it)."""
    yield
    kill_leftovers()


@pytest.mark.slow
def test_sigkill_at_random_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    """Deliveries replayed Channex-style while the server is SIGKILLed again and again."""
    served = Proc(
        tmp_path,
        "tests.apps:recording",
        "--workers",
        "2",
        "--lease",
        "1.5",
        "--max-attempts",
        "1000",
        sleep="0.003",
    )
    served.start()
    total = 300  # about 50 kills at this pace; 600 took 157 s of the default run
    replay = Replay([served.url], total, threads=4)
    rng = random.Random(5)
    kills = 0
    while replay.running():
        time.sleep(rng.uniform(0.1, 0.6))
        served.kill()
        kills += 1
        # A server takes about 0.5 s from spawn to its first acknowledgement on
        # 2 cores, more when the machine is busy: most restarts are let come up
        # before the next kill, one in five is killed again during start-up.
        served.start(wait=rng.random() < 0.8)
    assert replay.join() == []
    served.wait_healthy()
    stats = wait_drained(served.db)
    assert served.stop() == 0
    lost, twice, unasked = replay.outcome(served.db)
    report(
        f"SQLite crash test: {total} deliveries, {kills} kills, "
        f"{len(lost)} lost, {len(twice)} handled twice"
    )
    assert kills >= 5
    assert lost == []
    assert twice == {}
    assert unasked == set()
    assert stats["dead"] == 0


@pytest.mark.slow
def test_sigterm_finishes_requests_and_releases_claims(tmp_path: Path) -> None:
    """On SIGTERM the server answers what is in flight, exits 0, and leaves nothing claimed."""
    served = Proc(tmp_path, "tests.apps:recording", "--workers", "1", sleep="0.25")
    served.start()
    total = 48  # 0.25 s each: the worker is far from done when SIGTERM comes
    # All at once, as Channex sends them: posted one after another, each
    # acknowledgement could wait for the worker's write lock (up to 0.25 s),
    # and the worker would keep pace with the sender and finish everything.
    assert Replay([served.url], total, threads=total, timeout=10).join() == []
    deadline = time.monotonic() + 10
    while len(effects(served.db)) < 1:  # one batch has committed; the next is in hand
        assert time.monotonic() < deadline
        time.sleep(0.02)
    stopping = time.monotonic()
    assert served.stop() == 0
    assert time.monotonic() - stopping < 5  # the entry in hand, not the whole backlog
    # As `inbox stats` counts them: a delivery answered while the worker held the write
    # lock may still wait in the intake spool, pending (docs/receiver.md).
    with SQLiteInbox(served.db, create=False) as inbox:
        states = inbox.stats()
    assert states["claimed"] == 0
    assert states["done"] + states["pending"] == total
    assert 1 <= states["done"] < total
    served.start()  # what was given back is processed after a restart
    wait_drained(served.db)
    assert served.stop() == 0
    assert effects(served.db) == {f"d{n}": 1 for n in range(total)}


def serve_exits(*argv: str, secret: str | None) -> subprocess.CompletedProcess[bytes]:
    """Run `eventmask serve ARGV` to its exit, with no inbox URL in the environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("EVENTMASK_SECRET", "EVENTMASK_DB")}
    if secret is not None:
        env["EVENTMASK_SECRET"] = secret
    return subprocess.run(
        [EVENTMASK, "serve", *argv], cwd=ROOT, env=env, capture_output=True, timeout=30, check=False
    )


def test_serve_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    """The secret comes from EVENTMASK_SECRET only; without it serve exits 2."""
    done = serve_exits("tests.apps:recording", "--db", str(tmp_path / "x.db"), secret=None)
    assert done.returncode == 2
    assert b"EVENTMASK_SECRET" in done.stderr


def test_serve_needs_db_or_inline_and_a_loadable_app(tmp_path: Path) -> None:
    """Usage errors: no --db and no --inline; an APP that is not a router."""
    done = serve_exits("tests.apps:recording", secret="x")
    assert done.returncode == 2
    done = serve_exits("tests.apps:SECRET_NOPE", "--inline", secret="x")
    assert done.returncode == 2
    assert b"cannot load" in done.stderr


def test_inbox_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """stats, list, show, retry and purge read and replay the inbox."""
    from eventmask import Router
    from eventmask._cli import main
    from eventmask.inbox import Envelope, InboxSettings, SQLiteInbox, Worker

    from ..apps import flaky

    db = tmp_path / "inbox.db"
    inbox = SQLiteInbox(db, InboxSettings(max_attempts=1))
    inbox.put(Envelope.read(b'{"event":"message","payload":{"fail":true,"delivery":"x"}}'))
    inbox.put(Envelope.read(b'{"event":"message","payload":{"delivery":"y"}}'))
    Worker(inbox, flaky).run_once()
    inbox.close()
    assert isinstance(flaky, Router)

    def run(*argv: str) -> tuple[int, str]:
        status = main([*argv, "--db", str(db)])
        return status, capsys.readouterr().out

    status, out = run("inbox", "stats", "--json")
    assert (status, json.loads(out)["dead"], json.loads(out)["done"]) == (0, 1, 1)
    status, out = run("inbox", "stats")
    assert out.splitlines()[2:4] == [f"done{1:>16}", f"dead{1:>16}"]
    status, out = run("inbox", "list", "--state", "dead")
    header, row = out.splitlines()
    assert header == "ID\tSTATE\tEVENT\tATTEMPTS\tRECEIVED\tLAST ERROR"
    fields = row.split("\t")
    assert fields[:4] == ["1", "dead", "message", "1"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", fields[4])
    assert fields[5] == "RuntimeError: failing on purpose: x (maybe_fail <- *)"
    status, out = run("inbox", "list", "--json")
    assert [e["id"] for e in json.loads(out)] == [2, 1]
    assert json.loads(out)[0]["done_at"].endswith("Z")
    status, out = run("inbox", "show", "1", "--json")
    doc = json.loads(out)
    assert doc["body"]["payload"]["delivery"] == "x"
    assert doc["received_at"] == fields[4]
    status, out = run("inbox", "show", "1")
    assert out.startswith("entry 1: message, dead after 1 attempt\n")
    assert f"  received    {fields[4]}\n" in out
    assert run("inbox", "replay", "2") == (0, "entry 2 was stored again as entry 3, pending\n")
    assert run("inbox", "retry", "1") == (0, "entry 1 is pending again\n")
    assert main(["inbox", "retry", "2", "--db", str(db)]) == 1
    assert "only dead or pending entries are retried" in capsys.readouterr().err
    status, out = run("inbox", "purge", "--older-than", "0", "--force")
    assert out == "purged 1 done entries older than 0 days\n"
    assert main(["inbox", "stats", "--db", str(tmp_path / "missing.db")]) == 2


@pytest.mark.slow
def test_sigterm_ends_the_server_even_with_stderr_blocked(tmp_path: Path) -> None:
    """stderr into a pipe nobody reads, full: SIGTERM still ends server and worker, status 0."""
    from ..service.test_adversaries import message, post

    served = Proc(tmp_path, "tests.apps:recording", "--workers", "1", "--log-level", "info")
    served.start(wait=False, stderr=subprocess.PIPE)
    served.wait_healthy()
    for n in range(600):  # several log lines each, far beyond a 64 KiB pipe
        assert post(served, message(n), timeout=5).status_code == 200
    assert served.proc is not None
    started = time.monotonic()
    served.proc.send_signal(signal.SIGTERM)
    assert served.proc.wait(20) == 0
    report(f"SIGTERM with a blocked stderr: exited 0 after {time.monotonic() - started:.2f} s")


def test_help_shows_every_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve --help`` gives each option's default, as the options themselves would apply it."""
    monkeypatch.setenv("COLUMNS", "300")  # no wrapping inside X-Channex-Webhook-Secret
    text = " ".join(run_cli(capsys, "serve", "--help")[1].split())
    for option, default in [
        ("--host HOST", "127.0.0.1"),
        ("--port PORT", "8000"),
        ("--workers N", "1"),
        ("--header NAME", "X-Channex-Webhook-Secret"),
        ("--lease SECONDS", "60.0"),
        ("--max-body BYTES", "1048576"),
    ]:
        described = text.split(f" {option} ", 1)[1].split(" --", 1)[0]
        assert f"(default: {default})" in described, (option, described)
