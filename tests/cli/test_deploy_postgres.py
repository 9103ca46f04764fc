"""Receivers and workers as separate processes sharing one PostgreSQL inbox.

The crash test kills receivers and workers at random while deliveries
arrive; the contention test has 8 worker processes drain 20,000 entries.
Both count what the handler committed, in the same database.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from eventmask.inbox import Envelope, PostgresInbox, open_inbox

from ..apps import EFFECTS_TABLE
from ..conftest import ROOT, report
from ..helpers import dumps
from ..procs import EVENTMASK, SECRET, Proc, Replay, effects, kill_leftovers, wait_drained


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Any:
    yield
    kill_leftovers()


def migrate(url: str) -> None:
    """What an operator runs once before starting receivers and workers."""
    done = subprocess.run(
        [EVENTMASK, "inbox", "migrate", "--db", url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    latest = len(PostgresInbox.MIGRATIONS)  # every migration, from an empty database
    assert done.stdout == f"migrated the inbox schema from version 0 to {latest}\n"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(EFFECTS_TABLE)


@pytest.mark.slow
def test_killing_receivers_and_workers_loses_nothing_and_doubles_nothing(
    tmp_path: Path, postgres_url: str
) -> None:
    """Two receivers and three workers, SIGKILLed at random; every delivery handled once."""
    migrate(postgres_url)
    common: dict[str, Any] = {"db": postgres_url, "sleep": "0.003"}
    receivers = [
        Proc(tmp_path, "tests.apps:recording", "--workers", "0", name=f"r{i}", **common)
        for i in range(2)
    ]
    workers = [
        Proc(
            tmp_path,
            "tests.apps:recording",
            "--lease",
            "1.5",
            "--max-attempts",
            "1000",
            command="worker",
            name=f"w{i}",
            **common,
        )
        for i in range(3)
    ]
    for proc in receivers + workers:
        proc.start()
    total = 600  # 1,200 took 82 s of the default run
    replay = Replay([r.url for r in receivers], total, threads=6)
    rng = random.Random(7)
    kills = {"receiver": 0, "worker": 0}
    everyone = receivers + workers
    while replay.running():
        time.sleep(rng.uniform(0.1, 0.4))
        victim = rng.choice(everyone)
        victim.kill()
        kills["receiver" if victim in receivers else "worker"] += 1
        # Most restarted receivers come up before the next kill (one in five does
        # not): on 2 cores start-up takes about 0.6 s, longer than a kill interval.
        victim.start(wait=rng.random() < 0.8)
    assert replay.join() == []
    stats = wait_drained(postgres_url, timeout=90)
    lost, twice, unasked = replay.outcome(postgres_url)
    report(
        f"PostgreSQL crash test: {total} deliveries through 2 receivers and 3 workers, "
        f"{kills['receiver']} receiver and {kills['worker']} worker kills, "
        f"{len(lost)} lost, {len(twice)} handled twice"
    )
    assert kills["receiver"] >= 3
    assert kills["worker"] >= 3
    assert lost == []
    assert twice == {}
    assert unasked == set()
    assert stats["dead"] == 0
    for proc in receivers:
        proc.wait_healthy()
    for proc in everyone:
        assert proc.stop() == 0


async def _fill(url: str, total: int) -> None:
    inbox = open_inbox(url)
    try:
        docs = [
            {"event": "message", "property_id": "p", "payload": {"delivery": f"c{n}"}}
            for n in range(total)
        ]
        results = await asyncio.gather(*(inbox.aput(Envelope.of(dumps(d), d)) for d in docs))
        assert not any(r.duplicate for r in results)
    finally:
        inbox.close()


@pytest.mark.slow
def test_eight_workers_drain_20k_entries_exactly_once(tmp_path: Path, postgres_url: str) -> None:
    """8 worker processes share 20,000 entries; each is handled once; the rate is reported."""
    migrate(postgres_url)
    total = 20_000
    asyncio.run(_fill(postgres_url, total))
    workers = [
        Proc(tmp_path, "tests.apps:recording", db=postgres_url, command="worker", name=f"w{i}")
        for i in range(8)
    ]
    for proc in workers:
        proc.start()
    stats = wait_drained(postgres_url, timeout=300)
    for proc in workers:
        assert proc.stop() == 0
    handled = effects(postgres_url)
    assert len(handled) == total
    assert set(handled.values()) == {1}
    assert stats["done"] == total
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute(
            "SELECT min(done_at), max(done_at), max(attempts) FROM eventmask_deliveries"
        ).fetchone()
        pids = conn.execute("SELECT count(DISTINCT pid) FROM effects").fetchone()
    assert row is not None
    first, last, most_attempts = row
    assert most_attempts == 1  # no lease expired: nothing was retried
    assert pids == (8,)  # every worker process took its share
    rate = total / max(last - first, 1e-9)
    report(
        f"PostgreSQL contention test: 8 worker processes drained {total} entries exactly once "
        f"at {rate:,.0f} deliveries/s"
    )


def test_a_database_outage_is_answered_503_and_loses_nothing() -> None:
    """While PostgreSQL is down the receiver answers 503 (Channex retries); then it recovers."""
    import httpx

    from eventmask import Router
    from eventmask.asgi import Receiver

    from ..pgserver import ThrowawayPostgres

    headers = {"X-Channex-Webhook-Secret": SECRET}

    async def post(app: Receiver, n: int) -> int:
        doc = {"event": "message", "payload": {"delivery": f"o{n}"}}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post("/channex", content=dumps(doc), headers=headers)
            return response.status_code

    async def health(app: Receiver) -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return (await client.get("/health")).status_code

    with ThrowawayPostgres() as server:
        inbox = open_inbox(server.url, migrate=True, connect_timeout=2)
        app = Receiver(Router(), secrets=[SECRET], inbox=inbox, path="/channex")
        try:
            # Leave several idle connections in the pool, as a busy process has.
            together = threading.Barrier(4)

            def hold() -> None:
                with inbox.connection():
                    together.wait()

            holders = [threading.Thread(target=hold) for _ in range(4)]
            for thread in holders:
                thread.start()
            for thread in holders:
                thread.join()
            assert asyncio.run(post(app, 1)) == 200
            server.pause()
            paused = time.monotonic()
            assert asyncio.run(post(app, 2)) == 503
            waited = time.monotonic() - paused
            report(f"PostgreSQL paused: answered 503 after {waited:.2f} s")
            assert waited < inbox.settings.write_timeout + 1
            assert asyncio.run(health(app)) == 503
            server.resume()
            deadline = time.monotonic() + 20
            statuses = []
            while not statuses or statuses[-1] != 200:  # Channex's retries
                assert time.monotonic() < deadline, statuses
                statuses.append(asyncio.run(post(app, 2)))
            # The 503s dropped the pool's dead connections: none is tried again.
            assert statuses == [200]
            assert asyncio.run(health(app)) == 200
            assert asyncio.run(post(app, 3)) == 200
            assert [e.body for e in reversed(inbox.entries())] == [
                dumps({"event": "message", "payload": {"delivery": f"o{n}"}}) for n in (1, 2, 3)
            ]
        finally:
            inbox.close()
