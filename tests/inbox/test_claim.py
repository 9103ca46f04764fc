"""The claim: ready pending entries and expired leases, oldest first, at most `limit`.

Against a reference computed from the table itself, on both backends.
"""

from __future__ import annotations

import random
from typing import Any

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
