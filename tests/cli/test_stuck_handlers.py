"""No handler can hold intake: a worker SIGSTOPped inside a handler, on SQLite and PostgreSQL.

The recording handler writes through the inbox and then sleeps, so the
stopped worker holds what a writing handler holds: SQLite's write lock, or
PostgreSQL row locks in an open transaction (docs/receiver.md, "Intake no
handler can hold").
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventmask.inbox import open_inbox

from ..conftest import report
from ..helpers import dumps
from ..procs import SECRET, Proc, effects, kill_leftovers, wait_drained
from .test_children import wait_for, workers_of

TOTAL = 60


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Any:
    yield
    kill_leftovers()


def _post_all(url: str, first: list[float], start: int, step: int) -> None:
    """Post deliveries start, start+step, ...; time each first attempt; retry to a 2xx."""
    for n in range(start, TOTAL, step):
        content = dumps({"event": "message", "property_id": "p", "payload": {"delivery": f"d{n}"}})
        began = time.monotonic()
        headers = {"X-Channex-Webhook-Secret": SECRET}
        while True:
            try:
                answer = httpx.post(f"{url}/channex", content=content, headers=headers, timeout=10)
                if answer.status_code < 300:
                    break
            except httpx.HTTPError:
                pass
            first[n] = float("inf")  # the first attempt was not a 2xx
            time.sleep(0.1)
        if first[n] == 0.0:
            first[n] = time.monotonic() - began


@pytest.mark.slow
def test_a_stopped_worker_holds_no_intake(db_url: str, tmp_path: Path) -> None:
    """SIGSTOP a worker in a handler: >= 99% of deliveries get a 2xx within 1 s; none lost."""
    if "://" in db_url:
        open_inbox(db_url, migrate=True).close()
    served = Proc(
        tmp_path, "tests.apps:recording", "--workers", "2", "--lease", "2", db=db_url, sleep="0.3"
    )
    served.start()
    assert served.proc is not None
    pids = wait_for(
        lambda: len(workers_of(served.proc.pid)) == 2 and workers_of(served.proc.pid), 10
    )
    first = [0.0] * TOTAL
    warm = threading.Thread(target=_post_all, args=(served.url, first, 0, TOTAL))
    warm.start()
    warm.join()
    victim = min(pids)
    wait_for(lambda: len(effects(served.db)) >= 1, 10)  # the workers are busy in handlers
    time.sleep(0.1)
    os.kill(victim, signal.SIGSTOP)
    try:
        clients = [
            threading.Thread(target=_post_all, args=(served.url, first, 1 + i, 4)) for i in range(4)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join(60)
        time.sleep(3)  # stopped for about 6 s in all
    finally:
        os.kill(victim, signal.SIGCONT)
    stats = wait_drained(served.db, timeout=60)
    assert served.stop() == 0
    quick = sum(1 for t in first[1:] if t <= 1.0)
    handled = effects(served.db)
    backend = "PostgreSQL" if "://" in db_url else "SQLite"
    report(
        f"{backend}, a worker SIGSTOPped in a handler: {quick} of {TOTAL - 1} deliveries "
        f"answered 2xx within 1 s (slowest first answer {max(first[1:]):.2f} s), "
        f"{TOTAL - len(handled)} lost, {sum(1 for c in handled.values() if c > 1)} handled twice"
    )
    assert quick >= 0.99 * (TOTAL - 1)
    assert handled == {f"d{n}": 1 for n in range(TOTAL)}
    assert stats["dead"] == 0
