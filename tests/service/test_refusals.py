"""The refusal log: counts and samples reach the inbox within a second, on any event loop."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from eventmask._service.refusals import FLUSH_EVERY, RefusalLog
from eventmask.inbox import SQLiteInbox


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
