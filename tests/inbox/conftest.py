"""Fixtures of the inbox tests: a hand-moved clock, and an inbox on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from eventmask import Router
from eventmask.inbox import InboxSettings, Worker, open_inbox


class Clock:
    """A clock the tests move by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def run_until_dead(inbox: Any, clock: Clock, router: Router) -> None:
    """Run until every failing entry is dead (3 attempts, backoff moved past by hand)."""
    for _ in range(3):
        Worker(inbox, router).run_once()
        clock.now += 3_600


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def inbox(db_url: str, clock: Clock) -> Iterator[Any]:
    settings = InboxSettings(lease=10, max_attempts=3, backoff=2)
    box = open_inbox(db_url, settings, clock=clock, migrate=True)
    yield box
    box.close()
