"""The claim: ready pending entries and expired leases, oldest first, at most `limit`.

Against a reference computed from the table itself, on both backends.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

from eventmask.inbox import open_inbox

from ..helpers import body
from .conftest import Clock


def test_the_claim_takes_the_oldest_ready_entries_of_both_kinds(inbox: Any, clock: Clock) -> None:
    rng = random.Random(7)
    ids = [inbox.put(body(n)).id for n in range(60)]
    # Some claimed by a worker that died (their lease runs out), some waiting out a backoff.
    dead_worker = inbox.claim("dead", 20)
    assert len(dead_worker) == 20
    clock.now += 11  # past the lease of 10 s
    waiting = rng.sample(ids[20:], 10)
    for entry_id in waiting:
        inbox.retry(entry_id)  # pending again, available now...
    later = dict.fromkeys(waiting[:5], clock.now + 100)  # ...but these later
    with inbox.transaction() as conn:
        for entry_id, at in later.items():
            mark = "?" if inbox.backend == "sqlite" else "%s"
            conn.execute(
                f"UPDATE eventmask_deliveries SET available_at = {mark} WHERE id = {mark}",
                (at, entry_id),
            )
    ready = sorted(set(ids) - set(later))
    taken: list[int] = []
    while True:
        batch = inbox.claim("w", 7)
        if not batch:
            break
        assert len(batch) <= 7
        assert [e.id for e in batch] == sorted(e.id for e in batch)
        taken += [e.id for e in batch]
    assert taken == ready  # oldest first, every ready one once, none that is not ready


def _scans(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every node of a PostgreSQL plan (EXPLAIN's JSON form) that reads the deliveries."""
    if node.get("Relation Name") == "eventmask_deliveries":
        yield node
    for child in node.get("Plans", ()):
        yield from _scans(child)


def test_a_postgresql_claim_reads_no_more_than_it_takes(postgres_url: str) -> None:
    """Through the (state, id) index in order, stopping at the batch, even before the
    statistics know the backlog of 100,000: one OR over both states read and sorted
    every pending row (docs/receiver.md, "Speed").  At a few thousand the planner may
    read them all, and that is cheap."""
    import psycopg

    from eventmask._inbox.postgres import _CLAIM

    open_inbox(postgres_url, migrate=True).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO eventmask_deliveries (received_at, event, body, body_hash, "
            "idempotency_key, available_at) SELECT 1, 'message', '{}'::bytea, 'h' || n, "
            "'body:h' || n, 1 FROM generate_series(1, 100000) AS n"
        )
        params = {"now": 2.0, "attempts": 3, "limit": 16, "owner": "w", "until": 100.0}
        conn.execute("BEGIN")
        ((plan,),) = conn.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {_CLAIM}", params).fetchall()
        conn.execute("ROLLBACK")
    scans = list(_scans(plan[0]["Plan"]))
    assert scans
    assert all(scan["Actual Rows"] <= 16 for scan in scans), [
        (scan["Node Type"], scan["Actual Rows"]) for scan in scans
    ]
