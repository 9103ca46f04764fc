"""Applying a plan and proving webhooks, with the sync client and with the async one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from eventmask.channex import (
    AsyncChannexClient,
    ChannexClient,
    Proof,
    StepOutcome,
    Webhook,
    aapply_plan,
    apply_plan,
    averify,
    make_plan,
    read_desired,
    verify,
)

from ..channex_api import API_KEY, ChannexStandIn, serving
from ..helpers import uuid

FILE = """
[defaults]
callback_url = "https://pms.example.com/channex"
[[webhook]]
property_id = "{keep}"
event_mask = "booking"
[[webhook]]
property_id = "{new}"
event_mask = "message"
"""


def _account(standin: ChannexStandIn) -> None:
    """One webhook to update (mask drifted), one to delete (prune), one wanted but missing."""
    url = "https://pms.example.com/channex"
    standin.add(property_id=uuid(1), callback_url=url, event_mask="booking_new", is_active=True)
    standin.add(property_id=uuid(3), callback_url=url, event_mask="review", is_active=True)


def _summary(outcomes: list[StepOutcome]) -> list[tuple[str, str | None, bool]]:
    return sorted((o.step.action, o.step.webhook.property_id, o.ok) for o in outcomes)


@pytest.fixture
def two() -> Iterator[tuple[tuple[str, ChannexStandIn], tuple[str, ChannexStandIn]]]:
    with serving() as first, serving() as second:
        yield first, second


def test_the_async_apply_makes_the_same_changes_as_the_sync_one(
    two: tuple[tuple[str, ChannexStandIn], tuple[str, ChannexStandIn]],
) -> None:
    """The same plan against two equal accounts: equal outcomes, equal accounts after."""
    desired = read_desired(FILE.format(keep=uuid(1), new=uuid(2)))
    (sync_url, sync_api), (async_url, async_api) = two
    _account(sync_api)
    _account(async_api)
    with ChannexClient(sync_url, API_KEY) as client:
        plan = make_plan(desired, list(client.webhooks()), prune=True)
        done = apply_plan(client, plan)

    async def run() -> list[StepOutcome]:
        async with AsyncChannexClient(async_url, API_KEY) as client:
            existing = [hook async for hook in client.webhooks()]
            return await aapply_plan(client, make_plan(desired, existing, prune=True))

    adone = asyncio.run(run())
    assert (
        _summary(done)
        == _summary(adone)
        == [
            ("create", uuid(2), True),
            ("delete", uuid(3), True),
            ("update", uuid(1), True),
        ]
    )

    def masks(api: ChannexStandIn) -> list[tuple[str, str]]:
        return sorted((h["property_id"], h["event_mask"]) for h in api.webhooks.values())

    assert masks(sync_api) == masks(async_api) == [(uuid(1), "booking"), (uuid(2), "message")]


def test_a_failed_step_is_an_outcome_with_the_error_and_the_rest_go_on(
    two: tuple[tuple[str, ChannexStandIn], tuple[str, ChannexStandIn]],
) -> None:
    (url, api), _ = two
    desired = read_desired(FILE.format(keep=uuid(1), new=uuid(2)))
    api.faults = [(422, {"event_mask": ["is invalid"]})]
    api.fault_on = "POST"

    async def run() -> list[StepOutcome]:
        async with AsyncChannexClient(url, API_KEY) as client:
            return await aapply_plan(client, make_plan(desired, []))

    first, second = asyncio.run(run())
    assert (first.ok, second.ok) == (False, True)
    assert first.error is not None
    assert "event_mask: is invalid" in first.error


def test_verify_and_averify_report_what_each_receiver_answered(
    two: tuple[tuple[str, ChannexStandIn], tuple[str, ChannexStandIn]],
) -> None:
    """Nothing listens on the callback URL: Channex says status 0, read by both as no answer."""
    (url, api), _ = two
    hook = Webhook(id="w1", property_id=uuid(1), callback_url="http://127.0.0.1:9/",
                   event_mask="*")  # fmt: skip
    with ChannexClient(url, API_KEY) as client:
        (proof,) = verify(client, [hook])

    async def run() -> list[Proof]:
        async with AsyncChannexClient(url, API_KEY) as client:
            return await averify(client, [hook])

    (aproof,) = asyncio.run(run())
    for got in (proof, aproof):
        assert got.result is not None
        assert (got.ok, got.result.status_code, got.result.body) == (False, None, "econnrefused")
    assert len(api.tests) == 2


def test_the_async_client_closes_as_the_docs_promise() -> None:
    """``close`` is awaited, as every method of the async client; ``aclose`` is the same."""

    async def run() -> bool:
        client = AsyncChannexClient("http://127.0.0.1:9/api/v1", API_KEY)
        await client.close()
        other = AsyncChannexClient("http://127.0.0.1:9/api/v1", API_KEY)
        await other.aclose()
        return client._http.is_closed and other._http.is_closed

    assert asyncio.run(run())
