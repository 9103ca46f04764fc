"""`eventmask serve` supervises its workers: a dead one is restarted, and health says so."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import report
from ..procs import SECRET, Proc, children_of, inbox_stats, kill_leftovers, wait_drained
from ..service.test_adversaries import message, post

AUTH = {"X-Channex-Webhook-Secret": SECRET}


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Any:
    yield
    kill_leftovers()


def workers_of(server: int) -> set[int]:
    """The pids of the `eventmask worker` children of the server process."""
    return children_of(server, b"worker")


def wait_for(predicate: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    return predicate()


def test_killed_workers_are_restarted_within_5_s(tmp_path: Path) -> None:
    """SIGKILL both workers: two new ones run within 5 s, and the backlog is handled."""
    served = Proc(tmp_path, "tests.apps:recording", "--workers", "2", "--lease", "1")
    served.start()
    assert served.proc is not None
    before = wait_for(
        lambda: len(workers_of(served.proc.pid)) == 2 and workers_of(served.proc.pid), 10
    )
    assert len(before) == 2
    for pid in before:
        os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    for n in range(20):
        assert post(served, message(n)).status_code == 200
    after = wait_for(lambda: len(workers_of(served.proc.pid) - before) == 2, 5)
    restarted = time.monotonic() - killed
    assert after, "the killed workers were not restarted within 5 s"
    stats = wait_drained(served.db, timeout=30)
    assert stats["pending"] == 0
    assert served.stop() == 0
    log = served.log_path.read_text()
    assert log.count("killed by SIGKILL; restarting it in 0 s") == 2
    report(f"worker supervision: 2 SIGKILLed workers running again after {restarted:.2f} s")


def test_a_worker_that_keeps_dying_backs_off_and_health_says_degraded(tmp_path: Path) -> None:
    """A handler that calls os._exit: restarts back off, /health and /metrics show it."""
    served = Proc(
        tmp_path, "tests.apps:exiting", "--workers", "1", "--lease", "0.5", "--max-attempts", "4"
    )
    served.start()
    assert post(served, message(1)).status_code == 200

    def degraded() -> dict[str, Any] | None:
        answer = httpx.get(f"{served.url}/health", headers=AUTH, timeout=5)
        doc: dict[str, Any] = answer.json()
        return doc if answer.status_code == 200 and doc["status"] == "degraded" else None

    # Each look polls on its own: the worker is down only between its restarts.
    doc = wait_for(degraded, 15)
    assert doc is not None, "health never said degraded while the worker was down"
    assert doc["problems"] == ["0 of 1 worker processes running"]

    def public() -> Any:
        answer = httpx.get(f"{served.url}/health", timeout=5)
        return answer.status_code == 200 and answer.json() == {"status": "degraded"}

    assert wait_for(public, 15), "the public health never said degraded"

    def scraped() -> Any:
        text = httpx.get(f"{served.url}/metrics", headers=AUTH, timeout=5).text
        return "eventmask_workers_running 0.0" in text and text

    metrics = wait_for(scraped, 15)
    assert metrics, "the metrics never showed the worker down"
    assert "eventmask_workers_configured 1.0" in metrics
    # The entry kills its worker on every attempt: after 4 it is a dead letter.
    assert wait_for(lambda: inbox_stats(served.db)["dead"] == 1, 30)
    log = served.log_path.read_text()
    assert "exited with status 3; restarting it in 0 s" in log
    assert "exited with status 3; restarting it in 1 s" in log
    assert "exited with status 3; restarting it in 2 s" in log
    ok = wait_for(lambda: httpx.get(f"{served.url}/health", timeout=5).json()["status"] == "ok", 15)
    assert ok, "the worker was not running again once the entry was dead"
    assert served.stop() == 0


def test_health_is_degraded_when_the_oldest_pending_entry_is_too_old(tmp_path: Path) -> None:
    """No worker keeps up (here: none runs): past --stale-after, health says so, still 200."""
    served = Proc(tmp_path, "tests.apps:recording", "--workers", "0", "--stale-after", "0.5")
    served.start()
    assert post(served, message(1)).status_code == 200
    time.sleep(0.7)
    answer = httpx.get(f"{served.url}/health", headers=AUTH, timeout=5)
    assert answer.status_code == 200
    assert answer.json()["status"] == "degraded"
    assert "the oldest pending entry is" in answer.json()["problems"][0]
    assert served.stop() == 0
