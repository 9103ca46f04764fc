"""Operator views and repairs on both backends: paging, bulk retry, replay."""

from __future__ import annotations

from typing import Any

import pytest

from eventmask import Notification, Router
from eventmask._json import dumps
from eventmask.inbox import InboxError, Worker, current_delivery
from eventmask.testing import revision_attributes

from ..helpers import body, uuid
from .conftest import Clock, run_until_dead


def _failing_router(fail: set[str]) -> Router:
    router = Router()

    @router.on("message;review")
    def handle(n: Notification) -> None:
        if n.raw["payload"]["delivery"] in fail:
            raise RuntimeError("failing on purpose")

    return router


def test_bulk_retry_takes_state_time_and_event(inbox: Any, clock: Clock) -> None:
    """Only the dead entries that match every filter become pending, attempts reset."""
    inbox.put(body(1))
    clock.now += 100
    since = clock.now
    inbox.put(body(2))
    inbox.put(body(3, event="review"))
    run_until_dead(inbox, clock, _failing_router({"d1", "d2", "d3"}))
    assert inbox.stats()["dead"] == 3
    assert inbox.retry_matching("dead", since=since, event="message") == 1
    (pending,) = inbox.entries("pending")
    assert (pending.id, pending.attempts) == (2, 0)
    assert inbox.retry_matching("dead", since=since) == 1  # the review
    assert inbox.retry_matching() == 1  # the oldest, with no filter
    assert inbox.stats()["dead"] == 0
    with pytest.raises(InboxError, match="only dead or pending"):
        inbox.retry_matching("done")


def test_replay_stores_a_done_entry_again_with_its_own_key(inbox: Any) -> None:
    """The replay is a new pending entry: same body, new key; the handler runs again."""
    keys: list[str] = []
    router = Router()

    @router.on("message")
    def handle(n: Notification) -> None:
        keys.append(current_delivery().idempotency_key)

    inbox.put(body(1))
    Worker(inbox, router).run_once()
    new = inbox.replay(1)
    replayed = inbox.get(new)
    assert (new, replayed.state, replayed.body) == (2, "pending", inbox.get(1).body)
    Worker(inbox, router).run_once()
    assert len(keys) == 2
    assert keys[1] != keys[0]
    assert keys[1].startswith("replay:1:")
    # A Channex retry of the original body is still a duplicate of the original.
    again = inbox.put(body(1))
    assert (again.duplicate, again.id) == (True, 1)


def test_only_done_entries_are_replayed(inbox: Any, clock: Clock) -> None:
    """A pending entry is not replayed; a dead one is pointed at retry; unknown ids say so."""
    inbox.put(body(1))
    with pytest.raises(InboxError, match="entry 1 is pending; only done entries are replayed"):
        inbox.replay(1)
    run_until_dead(inbox, clock, _failing_router({"d1"}))
    with pytest.raises(InboxError, match="use retry for a dead entry"):
        inbox.replay(1)
    with pytest.raises(InboxError, match="no inbox entry 99"):
        inbox.replay(99)


def test_listing_pages_by_key_newest_first(inbox: Any, clock: Clock) -> None:
    """Each page starts below the last id of the one before; together they hold every entry once."""
    for n in range(7):
        inbox.put(body(n))
    run_until_dead(inbox, clock, _failing_router({"d1", "d4", "d6"}))
    pages, before = [], None
    while page := inbox.entries(limit=3, before=before):
        pages.append([e.id for e in page])
        before = page[-1].id
    assert pages == [[7, 6, 5], [4, 3, 2], [1]]
    dead = [e.id for e in inbox.entries("dead", limit=2, before=6)]
    assert dead == [5, 2]
    assert inbox.entries(before=1) == []


def test_entries_of_one_event_page_by_key_and_take_a_state(inbox: Any, clock: Clock) -> None:
    """``event=`` narrows the listing; it combines with ``state=`` and pages with ``before=``."""
    for n, event in enumerate(["message", "review", "message", "message", "review"]):
        inbox.put(body(n, event=event))
    run_until_dead(inbox, clock, _failing_router({"d0"}))
    assert [e.id for e in inbox.entries(event="message")] == [4, 3, 1]
    assert [e.id for e in inbox.entries(event="message", limit=2)] == [4, 3]
    assert [e.id for e in inbox.entries(event="message", before=3)] == [1]
    assert [e.id for e in inbox.entries("dead", event="message")] == [1]
    assert [e.id for e in inbox.entries("dead", event="review")] == []
    assert inbox.entries(event="booking_new") == []


def test_a_revision_entry_is_found_by_its_revision_id(inbox: Any) -> None:
    """The Channex revision id, in any case, finds its entry; an unknown id names itself."""
    revision = revision_attributes(property_id=uuid(1))
    inbox.store_revisions([(revision["id"], uuid(1), dumps({"attributes": revision}))])
    entry = inbox.revision_entry(revision["id"].upper())
    assert (entry.id, entry.event, entry.property_id) == (1, "booking_revision", uuid(1))
    with pytest.raises(InboxError, match=f"no inbox entry for booking revision {uuid(9)}"):
        inbox.revision_entry(uuid(9))
