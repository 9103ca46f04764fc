"""Signal-only ``ari`` notifications answered by reading ARI back: the same handlers, typed,
within Channex's budget, durably through the inbox (docs/ari.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from eventmask import Notification, Router
from eventmask._channex.client import ChannexClient
from eventmask.inbox import AriPull, InboxSettings, SQLiteInbox, Worker

from ..channex_api import API_KEY, ChannexStandIn, serving
from ..helpers import envelope, uuid

PROP, RATE, ROOM = uuid(1), uuid(2), uuid(3)
TODAY = dt.date(2026, 6, 1)


class Clock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0  # 2026-05-28

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def api() -> Iterator[tuple[str, ChannexStandIn]]:
    with serving() as (url, standin):
        standin.ari.restrictions[PROP] = {
            RATE: {
                "2026-06-01": {"rate": "120.00", "stop_sell": False},
                "2026-06-02": {"rate": 13050, "stop_sell": True},
            }
        }
        standin.ari.availability[PROP] = {ROOM: {"2026-06-01": 3}}
        yield url, standin


def signal(sent: str, prop: str = PROP) -> Any:
    """What a webhook with send_data: false delivers: no payload at all."""
    return envelope({"event": "ari", "property_id": prop, "user_id": None, "timestamp": sent})


def handlers(seen: dict[str, list[Any]]) -> Router:
    router = Router()

    @router.on("ari:rate:*:*")
    def rates(n: Notification) -> None:
        seen["rates"] += [(i.date, i.rate_plan_id, i.rate) for i in n.items]

    @router.on("ari:availability:*:*")
    def rooms(n: Notification) -> None:
        seen["rooms"] += [(i.date, i.room_type_id, i.availability) for i in n.items]

    return router


def reads(standin: ChannexStandIn) -> list[str]:
    return [path for method, path in standin.requests if path.endswith(("/restrictions",
            "/availability"))]  # fmt: skip


def test_a_signal_reaches_the_same_handlers_with_the_values_read(
    api: tuple[str, ChannexStandIn], tmp_path: Path
) -> None:
    url, standin = api
    seen: dict[str, list[Any]] = {"rates": [], "rooms": []}
    with SQLiteInbox(tmp_path / "inbox.db") as inbox, ChannexClient(url, API_KEY) as client:
        inbox.put(signal("2026-05-28T10:00:00.000Z"))
        pull = AriPull(client, days=30, today=lambda: TODAY)
        assert Worker(inbox, handlers(seen), ari=pull).run_once() == 1
        assert inbox.stats()["done"] == 1
    assert seen["rates"] == [
        (TODAY, RATE, Decimal("120.00")),
        (dt.date(2026, 6, 2), RATE, Decimal("130.50")),
    ]
    assert seen["rooms"] == [(TODAY, ROOM, 3)]
    assert reads(standin) == ["/api/v1/restrictions", "/api/v1/availability"]


def test_signals_sent_before_a_read_began_are_answered_by_it(
    api: tuple[str, ChannexStandIn], tmp_path: Path
) -> None:
    """Three signals waiting: one read answers them all (coalesced), handlers called once."""
    url, standin = api
    seen: dict[str, list[Any]] = {"rates": [], "rooms": []}
    with SQLiteInbox(tmp_path / "inbox.db") as inbox, ChannexClient(url, API_KEY) as client:
        for minute in (1, 2, 3):
            inbox.put(signal(f"2026-05-28T10:0{minute}:00.000Z"))
        Worker(inbox, handlers(seen), ari=AriPull(client, today=lambda: TODAY)).run_once()
        assert inbox.stats()["done"] == 3
    assert len(reads(standin)) == 2
    assert len(seen["rooms"]) == 1


def test_the_budget_holds_a_signal_in_the_inbox_until_the_next_minute(
    api: tuple[str, ChannexStandIn], tmp_path: Path
) -> None:
    """Ten pulls a minute per property: the eleventh signal waits, pending, and is read once
    the minute has passed; nothing is dropped."""
    url, standin = api
    clock = Clock()
    standin.ari.clock = clock  # Channex's minute, on the same clock
    settings = InboxSettings(backoff=1, max_backoff=1, max_attempts=5)
    seen: dict[str, list[Any]] = {"rates": [], "rooms": []}
    with (
        SQLiteInbox(tmp_path / "inbox.db", settings, clock=clock) as inbox,
        ChannexClient(url, API_KEY) as client,
    ):
        pull = AriPull(client, clock=clock, today=lambda: TODAY)
        worker = Worker(inbox, handlers(seen), ari=pull)
        for n in range(11):  # sent after any read starts: none is coalesced
            inbox.put(signal(f"2099-01-01T00:00:{n:02d}.000Z"))
        while worker.run_once():
            pass
        stats = inbox.stats()
        assert (stats["done"], stats["pending"], stats["dead"]) == (10, 1, 0)
        (waiting,) = inbox.entries("pending")
        assert "used its 10 reads of the last minute" in (waiting.last_error or "")
        assert pull.budget_left(PROP) == 0
        clock.now += 61
        assert worker.run_once() == 1
        assert inbox.stats()["done"] == 11
    assert len(reads(standin)) == 22
    assert len(seen["rooms"]) == 11


def test_a_429_pauses_the_property_and_the_signal_is_retried(
    api: tuple[str, ChannexStandIn], tmp_path: Path
) -> None:
    url, standin = api
    clock = Clock()
    settings = InboxSettings(backoff=1, max_backoff=1)
    with (
        SQLiteInbox(tmp_path / "inbox.db", settings, clock=clock) as inbox,
        ChannexClient(url, API_KEY, attempts=1) as client,
    ):
        pull = AriPull(client, clock=clock, today=lambda: TODAY)
        worker = Worker(inbox, handlers({"rates": [], "rooms": []}), ari=pull)
        inbox.put(signal("2099-01-01T00:00:00.000Z"))
        standin.faults = [429]
        worker.run_once()
        assert inbox.stats()["pending"] == 1
        clock.now += 2  # past the backoff, not past Channex's minute
        worker.run_once()
        (entry,) = inbox.entries("pending")
        assert "paused after a 429" in (entry.last_error or "")
        assert len(reads(standin)) == 1  # the pause sent nothing
        clock.now += 60
        worker.run_once()
        assert inbox.stats()["done"] == 1


def test_a_signal_without_a_property_is_a_dead_letter_at_once(tmp_path: Path) -> None:
    with SQLiteInbox(tmp_path / "inbox.db") as inbox:
        inbox.put(signal("2026-05-28T10:00:00.000Z", prop="hotel-1"))
        pull = AriPull(None, today=lambda: TODAY)  # type: ignore[arg-type] - never called
        Worker(inbox, Router(), ari=pull).run_once()
        (dead,) = inbox.entries("dead")
    assert dead.attempts == 1
    assert "needs the property_id" in (dead.last_error or "")
