"""The refusal log: counts and samples reach the inbox within a second, on any event loop."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from eventmask._service.refusals import FLUSH_EVERY, RefusalLog
from eventmask.inbox import SQLiteInbox, open_inbox


def refuse(refusals: RefusalLog, remote: str) -> None:
    refusals.add(401, "wrong secret", "missing or wrong secret header", remote)


def test_refusals_reach_the_inbox_within_a_second() -> None:
    inbox = SQLiteInbox(Path(tempfile.mkdtemp()) / "inbox.db")
    refusals = RefusalLog(inbox)

    async def flood() -> None:
        for n in range(3):
            refuse(refusals, f"10.0.0.{n}:1")
        await asyncio.sleep(FLUSH_EVERY + 0.3)

    try:
        asyncio.run(flood())
        inbox.flush()
        assert [r["remote"] for r in inbox.refusals()] == ["10.0.0.2:1", "10.0.0.1:1", "10.0.0.0:1"]
        # Every count of this fresh inbox: counts are kept per minute, so asking for the
        # last 60 s missed a minute that began more than 60 s before the question.
        (count,) = inbox.refusal_counts(0.0)
        assert count["count"] == 3
    finally:
        inbox.close()


def test_a_loop_that_ends_before_its_flush_does_not_stop_later_ones() -> None:
    """An application may run the receiver on one loop, then another (tests, restarts)."""
    inbox = SQLiteInbox(Path(tempfile.mkdtemp()) / "inbox.db")
    refusals = RefusalLog(inbox)

    async def one(remote: str, wait: float) -> None:
        refuse(refusals, remote)
        await asyncio.sleep(wait)

    try:
        asyncio.run(one("10.0.0.1:1", 0.0))  # its flush was due after the loop ended
        asyncio.run(one("10.0.0.2:1", FLUSH_EVERY + 0.3))
        inbox.flush()
        assert {r["remote"] for r in inbox.refusals()} == {"10.0.0.1:1", "10.0.0.2:1"}
    finally:
        inbox.close()


def test_outside_an_event_loop_a_refusal_is_written_at_once() -> None:
    inbox = SQLiteInbox(Path(tempfile.mkdtemp()) / "inbox.db")
    try:
        refuse(RefusalLog(inbox), "10.0.0.3:1")
        inbox.flush()
        assert [r["remote"] for r in inbox.refusals()] == ["10.0.0.3:1"]
    finally:
        inbox.close()


# Refusals at these seconds past a minute's start: on a minute's first second, inside
# one, on its last, across several minutes.
REFUSED_AT = (0.0, 0.5, 29.0, 59.9, 60.0, 61.0, 119.0, 180.0, 305.5, 359.0)


def test_the_inbox_and_the_log_in_memory_count_the_same_refusals(db_url: str) -> None:
    """A refusal counts since `since` when its minute holds `since` or comes after it
    (docs/receiver.md, "Facing the internet"), in the inbox as in inline mode.

    Asked for ``bucket >= since``, the inbox left out the refusals of `since`'s own
    minute: from 90 s on, it missed those at 90-119 s.
    """
    start = 1_800_000_000.0  # a minute's start
    now = [start]
    inbox = open_inbox(db_url, migrate=True)
    stored = RefusalLog(inbox, clock=lambda: now[0])
    in_memory = RefusalLog(None, clock=lambda: now[0])
    try:
        for offset in REFUSED_AT:
            now[0] = start + offset
            for log in (stored, in_memory):
                refuse(log, f"10.0.0.{int(offset)}:1")
        inbox.flush()
        now[0] = start + 400.0
        for since in [start + s for s in range(-60, 420, 15)] + [start + 90.0, start + 59.99]:
            expected = sum(1 for t in REFUSED_AT if (start + t) // 60 >= since // 60)
            counted = [c["count"] for c in inbox.refusal_counts(since)]
            assert counted == ([expected] if expected else []), since - start
            assert in_memory.counted(since) == inbox.refusal_counts(since), since - start
    finally:
        inbox.close()
