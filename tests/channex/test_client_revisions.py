"""The client's booking revision calls against the stand-in: feed, revision, ack, booking."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Iterator

import pytest

from eventmask._channex.client import AsyncChannexClient, ChannexClient, FeedWalk
from eventmask._channex.revision import BookingRevision, RevisionStatus
from eventmask._errors import ChannexError, ChannexNotFound
from eventmask.testing import revision_attributes, revision_chain

from ..channex_api import API_KEY, ChannexStandIn, serving
from ..helpers import uuid

PROPERTY = uuid(1)


@pytest.fixture
def api() -> Iterator[tuple[str, ChannexStandIn]]:
    with serving() as running:
        yield running


def many(n: int, property_id: str = PROPERTY) -> list[dict[str, object]]:
    start = dt.datetime(2026, 5, 1)
    return [
        revision_attributes(property_id=property_id, inserted_at=start + dt.timedelta(seconds=i))
        for i in range(n)
    ]


def test_the_feed_is_read_through_every_page_oldest_first(
    api: tuple[str, ChannexStandIn],
) -> None:
    url, standin = api
    revisions = many(250)
    standin.revisions.add(*reversed(revisions), *many(3, uuid(2)))
    with ChannexClient(url, API_KEY) as client:
        got = [r.id for r in client.feed(PROPERTY)]
    assert got == [r["id"] for r in revisions]
    assert standin.revisions.feed_requests == 3  # 100 to a page


def test_ten_thousand_revisions_take_a_hundred_feed_requests(
    api: tuple[str, ChannexStandIn],
) -> None:
    url, standin = api
    standin.revisions.add(*many(10_000))
    with ChannexClient(url, API_KEY) as client:
        assert sum(1 for _ in client.feed_entries()) == 10_000
    assert standin.revisions.feed_requests == 100


def test_a_feed_that_shrinks_between_pages_skips_nothing(api: tuple[str, ChannexStandIn]) -> None:
    """Another process acks ten revisions after every page: every one left is still read."""
    url, standin = api
    revisions = many(250)
    standin.revisions.add(*revisions)

    def others_ack() -> None:
        for one in standin.revisions.unacked()[:10]:
            standin.revisions.acks[one["id"]] = 1

    standin.revisions.after_feed = others_ack
    with ChannexClient(url, API_KEY) as client:
        got = [r["id"] for r in client.feed_entries(PROPERTY)]
    assert len(got) == len(set(got))  # each once
    acked_by_others = set(standin.revisions.acks)
    never_acked = [r["id"] for r in revisions if r["id"] not in acked_by_others]
    assert set(never_acked) <= set(got)


def test_one_revision_its_ack_and_its_booking(api: tuple[str, ChannexStandIn]) -> None:
    url, standin = api
    chain = revision_chain(property_id=PROPERTY)
    standin.revisions.add(*chain)
    with ChannexClient(url, API_KEY) as client:
        first = client.revision(chain[0]["id"])
        assert (first.status, first.booking_id) == (RevisionStatus.NEW, chain[0]["booking_id"])
        latest = client.booking(chain[0]["booking_id"])
        assert (latest.id, latest.status) == (chain[2]["id"], RevisionStatus.CANCELLED)
        client.ack(chain[0]["id"])
        client.ack(chain[0]["id"])  # twice is harmless
        assert [r.id for r in client.feed(PROPERTY)] == [chain[1]["id"], chain[2]["id"]]
        with pytest.raises(ChannexNotFound):
            client.ack(uuid(99))
        with pytest.raises(ChannexNotFound):
            client.revision(uuid(99))
    assert standin.revisions.acks == {chain[0]["id"]: 2}


def test_an_id_that_is_not_a_channex_id_sends_nothing(api: tuple[str, ChannexStandIn]) -> None:
    """An id read from a webhook must not steer the request to another endpoint."""
    url, standin = api
    with ChannexClient(url, API_KEY) as client:
        for bad in ("../webhooks", "", "r1?x=1"):
            with pytest.raises(ValueError, match="not a Channex id"):
                client.revision(bad)
            with pytest.raises(ValueError, match="not a Channex id"):
                client.ack(bad)
    assert standin.requests == []


def test_the_async_client_reads_and_acks_alike(api: tuple[str, ChannexStandIn]) -> None:
    url, standin = api
    chain = revision_chain(property_id=PROPERTY, statuses=("new", "modified"))
    standin.revisions.add(*chain)

    async def main() -> list[BookingRevision]:
        async with AsyncChannexClient(url, API_KEY) as client:
            got = [r async for r in client.feed(PROPERTY)]
            await client.ack(got[0].id)
            assert (await client.booking(got[0].booking_id)).id == chain[1]["id"]
            return got

    got = asyncio.run(main())
    assert [r.id for r in got] == [chain[0]["id"], chain[1]["id"]]
    assert list(standin.revisions.acks) == [chain[0]["id"]]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("not json", "the answer is not JSON"),
        ("no data", "the answer has no list of revisions under data (got nothing, page 1)"),
    ],
)
def test_a_feed_that_answers_garbage_is_an_error_not_an_empty_feed(
    api: tuple[str, ChannexStandIn], fault: str, message: str
) -> None:
    url, standin = api
    standin.revisions.add(revision_attributes(property_id=PROPERTY))
    standin.faults = [fault]
    with (
        ChannexClient(url, API_KEY) as client,
        pytest.raises(ChannexError, match=re.escape(message)),
    ):
        list(client.feed_entries())


def test_a_feed_without_a_total_is_read_while_pages_are_full() -> None:
    """No meta.total: a full page may have another after it (reading one page is the bug)."""
    walk = FeedWalk()
    page = [{"id": f"r{n}"} for n in range(100)]
    assert walk.take({"data": page}) == (page, True)
    assert walk.take({"data": [*page[:3], {"id": "r100"}]}) == ([{"id": "r100"}], False)
