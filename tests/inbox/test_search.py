"""The operator's questions on both backends: search, timeline, dead-letter groups, attempts.

A search pages by key through windows of ids; a property test pages through
every page of random filters over a random inbox and compares with a plain
Python filter over every entry (the oracle).
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventmask import Notification, Router
from eventmask._inbox import search as search_module
from eventmask._inbox.values import RefusalBatch
from eventmask.inbox import EntryQuery, InboxError, InboxSettings, SQLiteInbox, Worker

from ..helpers import body
from .conftest import Clock, run_until_dead


def _router(fail: dict[str, type[Exception]]) -> Router:
    router = Router()

    @router.on("message;review")
    def handle(n: Notification) -> None:
        kind = fail.get(n.raw["payload"]["delivery"])
        if kind is not None:
            raise kind("failing on purpose")

    return router


def _all_pages(inbox: Any, **filters: Any) -> list[int]:
    ids: list[int] = []
    after = None
    while True:
        page = inbox.search(EntryQuery(after=after, limit=2, **filters))
        ids.extend(e.id for e in page.entries)
        if page.next_after is None:
            return ids
        after = page.next_after


def test_filters_combine_and_states_are_any_of(inbox: Any, clock: Clock) -> None:
    """State (several), event, property, error class and text: AND of all given."""
    for n in range(1, 7):
        inbox.put(body(n, event="review" if n % 2 else "message"))
    run_until_dead(inbox, clock, _router({"d1": KeyError, "d2": ValueError, "d3": KeyError}))
    assert _all_pages(inbox) == [6, 5, 4, 3, 2, 1]
    assert _all_pages(inbox, newest_first=False) == [1, 2, 3, 4, 5, 6]
    assert _all_pages(inbox, states=("dead",)) == [3, 2, 1]
    assert _all_pages(inbox, states=("dead", "done"), event="review") == [5, 3, 1]
    assert _all_pages(inbox, error_class="KeyError") == [3, 1]
    assert _all_pages(inbox, error_class="Key") == []  # a class, not a substring
    assert _all_pages(inbox, text="d4") == [4]  # within the body
    assert _all_pages(inbox, text="5") == [5]  # the entry id
    assert _all_pages(inbox, property_id="p", event="message") == [6, 4, 2]
    assert _all_pages(inbox, property_id="other") == []
    with pytest.raises(InboxError, match="unknown state 'gone'"):
        EntryQuery(states=("gone",))  # type: ignore[arg-type]


def test_a_time_range_is_found_by_bisection_over_ids(inbox: Any, clock: Clock) -> None:
    """since/until bound the time received; ids found by bisection, gaps included."""
    times = {}
    for n in range(1, 41):
        stored = inbox.put(body(n))
        times[stored.id] = clock.now
        clock.now += 10
    clock.now += 1_000
    Worker(inbox, Router(), batch=64).run_once()
    since, until = times[11], times[30]
    expected = [i for i, t in sorted(times.items(), reverse=True) if since <= t < until]
    assert _all_pages(inbox, since=since, until=until) == expected
    assert _all_pages(inbox, since=clock.now) == []


def test_timeline_counts_entries_by_state_and_refusals_by_kind(inbox: Any, clock: Clock) -> None:
    """Each bucket counts the entries received in it by their state now."""
    clock.now = 1_000_020.0  # 20 s into a minute
    inbox.put(body(1))  # minute 0: dead
    clock.now += 60
    inbox.put(body(2))  # minute 1: done
    inbox.put(body(3))  # minute 1: dead
    run_until_dead(inbox, clock, _router({"d1": KeyError, "d3": KeyError}))
    clock.now = 1_000_020.0 + 180  # minute 3, now
    inbox.put(body(4))  # minute 3: pending
    minute = 1_000_020.0 // 60 * 60
    batch = RefusalBatch(
        ((minute, 401, "wrong secret", 3), (minute + 120, 413, "too large", 1)), ()
    )
    inbox.record_refusals(batch)
    inbox.flush()  # refusals are written by the writer thread
    timeline = inbox.timeline("hour")
    assert (timeline.step, len(timeline.edges())) == (60.0, 60)
    assert timeline.start == minute + 240 - 3_600
    tail = {state: counts[-4:] for state, counts in timeline.entries.items()}
    assert tail == {
        "pending": (0, 0, 0, 1),
        "claimed": (0, 0, 0, 0),
        "done": (0, 1, 0, 0),
        "dead": (1, 1, 0, 0),
    }
    assert sum(sum(c) for c in timeline.entries.values()) == 4
    assert {k: v[-4:] for k, v in timeline.refusals.items()} == {
        "too large": (0, 0, 1, 0),
        "wrong secret": (3, 0, 0, 0),
    }
    assert sum(timeline.refusals["wrong secret"]) == 3
    assert inbox.timeline("week").step == 7_200.0
    with pytest.raises(InboxError, match="unknown range 'year'"):
        inbox.timeline("year")


def test_dead_letters_group_by_class_and_handler_and_retry_as_counted(
    inbox: Any, clock: Clock
) -> None:
    """A group's retry touches only its entries, none newer than it was counted."""
    for n in range(1, 5):
        inbox.put(body(n))
    run_until_dead(inbox, clock, _router({"d1": KeyError, "d2": KeyError, "d3": ValueError}))
    groups = inbox.dead_letter_groups()
    assert [(g.error_class, g.count, g.first_id, g.last_id) for g in groups] == [
        ("KeyError", 2, 1, 2),
        ("ValueError", 1, 3, 3),
    ]
    assert groups[0].handler == "_router.<locals>.handle <- message;review"
    assert inbox.retry_dead_group("KeyError", groups[0].handler, last_id=1) == 1
    assert [e.id for e in inbox.entries("pending")] == [1]
    assert inbox.retry_dead_group("KeyError", "another handler", last_id=99) == 0
    assert inbox.stats()["dead"] == 2


def test_every_failed_attempt_is_kept_with_its_time_and_error(inbox: Any, clock: Clock) -> None:
    """Three attempts, three rows; a purge past them removes them."""
    inbox.put(body(1))
    started = clock.now
    run_until_dead(inbox, clock, _router({"d1": KeyError}))
    attempts = inbox.attempts(1)
    assert [a.attempt for a in attempts] == [1, 2, 3]
    assert [a.at for a in attempts] == [started, started + 3_600, started + 7_200]
    assert all("KeyError: 'failing on purpose'" in a.error for a in attempts)
    assert inbox.attempts(2) == []
    assert inbox.ack(1) is None  # not a booking revision
    clock.now += 86_400
    inbox.purge(older_than=60)
    assert inbox.attempts(1) == []


_FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "states": st.lists(st.sampled_from(["pending", "done", "dead"]), max_size=2, unique=True),
        "event": st.sampled_from(["message", "review"]),
        "error_class": st.sampled_from(["KeyError", "ValueError"]),
        "text": st.sampled_from(["d1", "d2", "3", "x"]),
        "newest_first": st.booleans(),
        "since": st.integers(0, 30),
        "until": st.integers(0, 30),
    },
)


@settings(max_examples=60, deadline=None)
@given(
    fates=st.lists(st.sampled_from(["ok", "key", "value", "wait"]), min_size=0, max_size=24),
    purged=st.sets(st.integers(1, 24), max_size=6),
    filters=_FILTERS,
)
def test_search_pages_agree_with_a_plain_filter(
    fates: list[str], purged: set[int], filters: dict[str, Any]
) -> None:
    """Windows of 3 ids, pages of 2: every page of every search equals the oracle's list."""
    clock = Clock()
    kinds = {"key": KeyError, "value": ValueError}
    with tempfile.TemporaryDirectory() as folder:
        settings_ = InboxSettings(max_attempts=1)
        inbox = SQLiteInbox(os.path.join(folder, "i.db"), settings_, clock=clock)
        fail = {}
        for n, fate in enumerate(fates, 1):
            inbox.put(body(n, event="review" if n % 3 == 0 else "message"))
            clock.now += 1
            if fate in kinds:
                fail[f"d{n}"] = kinds[fate]
        ready = [n for n, fate in enumerate(fates, 1) if fate != "wait"]
        with inbox.transaction() as conn:  # some entries never run: they stay pending
            for n in set(range(1, len(fates) + 1)) - set(ready):
                conn.execute("UPDATE eventmask_deliveries SET available_at = 1e12 WHERE id = ?",
                             (n,))  # fmt: skip
            for n in purged:
                conn.execute("DELETE FROM eventmask_deliveries WHERE id = ?", (n,))
        Worker(inbox, _router(fail), batch=64).run_once()
        everything = inbox.entries(limit=1_000)
        base = 1_000_000.0
        query = dict(filters)
        for bound in ("since", "until"):
            if bound in query:
                query[bound] = base + query[bound]
        query["states"] = tuple(query.get("states", ()))

        def keep(e: Any) -> bool:
            error_class = None
            if e.last_error:
                error_class = "KeyError" if "KeyError" in e.last_error else "ValueError"
            text = query.get("text")
            return (
                (not query["states"] or e.state in query["states"])
                and query.get("event", e.event) == e.event
                and ("error_class" not in query or error_class == query["error_class"])
                and (text is None or text.encode() in e.body or str(e.id) == text)
                and e.received_at >= query.get("since", 0)
                and e.received_at < query.get("until", float("inf"))
            )

        expected = [e.id for e in everything if keep(e)]
        if not query.get("newest_first", True):
            expected.reverse()
        old = search_module._WINDOW
        search_module._WINDOW = 3  # type: ignore[misc]
        try:
            got = _all_pages(inbox, **query)
            assert got == expected
        finally:
            search_module._WINDOW = old  # type: ignore[misc]
            inbox.close()
