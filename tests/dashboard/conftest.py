"""Fixtures of the dashboard tests: an inbox with every kind of entry, served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from eventmask import Notification, Router
from eventmask._inbox.values import RefusalBatch
from eventmask.dashboard import Dashboard
from eventmask.inbox import InboxSettings, Worker, open_inbox

from ..helpers import Server, body

# Something that must never appear on a page, kept in a body under a credential's name.
SECRET = "sk_live_do-not-show-9f8e7d6c"


def failing_router() -> Router:
    """A router whose handlers fail for deliveries d1, d2 (KeyError) and d3 (ValueError)."""
    router = Router()

    @router.on("message")
    def save_message(n: Notification) -> None:
        delivery = n.raw["payload"]["delivery"]
        if delivery in ("d1", "d2"):
            raise KeyError("room_type_id")
        if delivery == "d3":
            raise ValueError("no such rate plan")

    return router


def fill(inbox: Any) -> None:
    """Three dead letters, four done entries, one pending, refusals of two kinds."""
    for n in range(1, 8):
        inbox.put(body(n, api_token=SECRET, note="<script>alert('x')</script>"))
    Worker(inbox, failing_router(), batch=64).run_once()
    inbox.put(body(8, event="review"))
    inbox.record_refusals(
        RefusalBatch(((inbox.clock() // 60 * 60, 401, "wrong secret", 5),
                      (inbox.clock() // 60 * 60, 413, "too large", 2)), ())
    )  # fmt: skip
    inbox.flush()


@pytest.fixture
def inbox(db_url: str) -> Iterator[Any]:
    box = open_inbox(db_url, InboxSettings(max_attempts=1), migrate=True)
    fill(box)
    yield box
    box.close()


@pytest.fixture
def served(inbox: Any) -> Iterator[str]:
    """The dashboard with actions allowed, on loopback with no token."""
    with Server(Dashboard(inbox, actions=True)) as url:
        yield url


@pytest.fixture
def read_only(inbox: Any) -> Iterator[str]:
    with Server(Dashboard(inbox)) as url:
        yield url
