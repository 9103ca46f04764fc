"""Reading ARI back from the stand-in: restrictions and availability as ARI items, both clients."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest

from eventmask import AriChange
from eventmask._channex.client import AsyncChannexClient, ChannexClient
from eventmask._errors import ChannexError

from ..channex_api import API_KEY, ChannexStandIn, serving
from ..helpers import uuid

PROP, RATE, ROOM = uuid(1), uuid(2), uuid(3)
JUNE = dt.date(2026, 6, 1)


@pytest.fixture
def api() -> Iterator[tuple[str, ChannexStandIn]]:
    with serving() as (url, standin):
        days = {f"2026-06-{d:02d}": {"rate": "200.00", "stop_sell": d == 2} for d in range(1, 5)}
        standin.ari.restrictions[PROP] = {RATE: days}
        standin.ari.availability[PROP] = {ROOM: {"2026-06-01": 4, "2026-06-02": 0}}
        yield url, standin


def test_restrictions_come_back_as_ari_items(api: tuple[str, ChannexStandIn]) -> None:
    """One item per rate plan and date, only the restrictions asked, typed like a webhook's."""
    url, _ = api
    with ChannexClient(url, API_KEY) as client:
        items = client.restrictions(PROP, JUNE, dt.date(2026, 6, 2), ["rate", "stop_sell"])
        only_rate = client.restrictions(PROP, JUNE)
    assert items == [
        {"date": "2026-06-01", "rate_plan_id": RATE, "rate": "200.00", "stop_sell": False},
        {"date": "2026-06-02", "rate_plan_id": RATE, "rate": "200.00", "stop_sell": True},
    ]
    assert only_rate == [{"date": "2026-06-01", "rate_plan_id": RATE, "rate": "200.00"}]
    typed = [AriChange.from_item(i) for i in items]
    assert [(c.date, c.rate, c.stop_sell) for c in typed] == [
        (JUNE, Decimal("200.00"), False),
        (dt.date(2026, 6, 2), Decimal("200.00"), True),
    ]


def test_availability_comes_back_per_room_type_and_the_async_client_agrees(
    api: tuple[str, ChannexStandIn],
) -> None:
    url, _ = api
    with ChannexClient(url, API_KEY) as client:
        sync = client.availability(PROP, JUNE, dt.date(2026, 6, 30))

    async def read() -> list[dict[str, object]]:
        async with AsyncChannexClient(url, API_KEY) as client:
            return await client.availability(PROP, JUNE, dt.date(2026, 6, 30))

    assert sync == asyncio.run(read())
    assert sync == [
        {"date": "2026-06-01", "room_type_id": ROOM, "availability": 4},
        {"date": "2026-06-02", "room_type_id": ROOM, "availability": 0},
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda c: c.restrictions("hotel-1", JUNE), "a property id is a UUID"),
        (lambda c: c.restrictions(PROP, JUNE, dt.date(2026, 5, 1)), r"ends \(2026-05-01\) before"),
        (lambda c: c.restrictions(PROP, JUNE, None, ["rates"]), "not rates"),
        (lambda c: c.restrictions(PROP, JUNE, None, []), "one or more of availability"),
    ],
)
def test_a_bad_read_is_refused_before_anything_is_sent(
    api: tuple[str, ChannexStandIn], call: object, message: str
) -> None:
    url, standin = api
    with ChannexClient(url, API_KEY) as client, pytest.raises(ValueError, match=message):
        call(client)  # type: ignore[operator]
    assert standin.requests == []


def test_the_eleventh_read_in_a_minute_is_a_429_for_that_property_only(
    api: tuple[str, ChannexStandIn],
) -> None:
    """The Rate Limits page: 10 restriction reads a minute per property."""
    url, _ = api
    with ChannexClient(url, API_KEY, attempts=1) as client:
        for _ in range(10):
            client.restrictions(PROP, JUNE)
        with pytest.raises(ChannexError) as caught:
            client.restrictions(PROP, JUNE)
        assert (caught.value.status, caught.value.code) == (429, "http_too_many_requests")
        assert client.availability(PROP, JUNE) != []  # the other endpoint's budget is apart
        assert client.restrictions(uuid(9), JUNE) == []  # and another property's
