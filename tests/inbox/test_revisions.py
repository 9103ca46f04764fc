"""The inbox's side of booking revisions: each stored once, and the acks their handling owes.

The flow around it (feed, fetch, ack over HTTP) is in tests/service/test_revisions.py.
"""

from __future__ import annotations

from typing import Any

from eventmask import Router
from eventmask._inbox.revisions import ACK_LEASE
from eventmask._json import dumps
from eventmask.channex import BookingRevision
from eventmask.inbox import Worker
from eventmask.testing import revision_attributes

from ..helpers import uuid
from .conftest import Clock

PROPERTY = uuid(1)


def handled(inbox: Any, count: int) -> list[str]:
    """`count` revisions stored and handled by a no-op handler: their ids, acks now owed."""
    revisions = [revision_attributes(property_id=PROPERTY) for _ in range(count)]
    rows = [(r["id"], PROPERTY, dumps({"id": r["id"], "attributes": r})) for r in revisions]
    assert inbox.store_revisions(rows) == count
    assert inbox.store_revisions(rows) == 0  # one entry per revision, however often stored
    router = Router()

    @router.on_revision()
    def save(revision: BookingRevision) -> None:
        del revision

    worker = Worker(inbox, router)
    while worker.run_once():
        pass
    return [r["id"] for r in revisions]


def test_an_ack_taken_is_not_taken_again_until_its_lease_ends(inbox: Any, clock: Clock) -> None:
    """Every worker process acks; taking an ack keeps two from sending it at once."""
    ids = handled(inbox, 3)
    assert inbox.unsent_acks() == 3
    first = inbox.due_acks(2)
    second = inbox.due_acks(10)
    assert len(first) == 2
    assert {a.revision_id for a in first} | {a.revision_id for a in second} == set(ids)
    assert not {a.revision_id for a in first} & {a.revision_id for a in second}
    assert inbox.due_acks(10) == []
    assert inbox.unsent_acks() == 3  # taken, not yet sent
    clock.now += ACK_LEASE + 1  # the acker died: its acks are due again
    assert sorted(a.revision_id for a in inbox.due_acks(10)) == sorted(ids)


def test_settled_acks_are_never_due_and_failed_ones_wait(inbox: Any, clock: Clock) -> None:
    acked, failed, gone = handled(inbox, 3)
    inbox.due_acks(10)
    inbox.acks_settled([(acked, "acked", None), (gone, "gone", "404 not_found")])
    inbox.ack_later(failed, 5.0, "503 Service Unavailable")
    assert inbox.unsent_acks() == 0  # the failed one was tried
    clock.now += ACK_LEASE + 1
    (again,) = inbox.due_acks(10)
    assert (again.revision_id, again.attempts) == (failed, 1)
    status = inbox.revision_status()[PROPERTY]
    assert (status["acked"], status["gone"], status["handled_not_acked"]) == (1, 1, 1)


def test_a_revision_entry_shows_its_ack(inbox: Any) -> None:
    """What the operator's page shows of one revision: its ack's state and attempts."""
    (acked,) = handled(inbox, 1)
    entry = inbox.revision_entry(acked)
    owed = inbox.ack(entry.id)
    assert (owed["revision_id"], owed["state"], owed["attempts"]) == (acked, "pending", 0)
    inbox.due_acks(10)
    inbox.acks_settled([(acked, "acked", None)])
    assert inbox.ack(entry.id)["state"] == "acked"
