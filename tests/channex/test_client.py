"""The Channex API client against the stand-in on loopback: pages, errors, retries, both kinds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from eventmask._channex.client import AsyncChannexClient, ChannexClient
from eventmask._channex.webhook import Webhook
from eventmask._errors import (
    ChannexError,
    ChannexNotFound,
    ChannexUnauthorized,
    ChannexValidationError,
    ConfigError,
)

from ..channex_api import API_KEY, ChannexStandIn, serving
from ..helpers import uuid

URL = "https://pms.example.com/channex"


@pytest.fixture
def api() -> Iterator[tuple[str, ChannexStandIn]]:
    with serving() as running:
        yield running


def _hook(n: int = 1, **fields: object) -> Webhook:
    base = {"property_id": uuid(n), "callback_url": URL, "event_mask": "booking_new",
            "is_active": True, "send_data": True}  # fmt: skip
    return Webhook(**{**base, **fields})  # type: ignore[arg-type]


def test_every_page_is_followed(api: tuple[str, ChannexStandIn]) -> None:
    """305 webhooks at 100 a page: 4 requests, every webhook once, typed."""
    url, standin = api
    for n in range(305):
        standin.add(property_id=uuid(n), callback_url=URL, event_mask="*", is_active=True)
    with ChannexClient(url, API_KEY) as client:
        hooks = list(client.webhooks())
        assert client.requests == 4
    assert len({h.id for h in hooks}) == 305
    assert {h.property_id for h in hooks} == {uuid(n) for n in range(305)}
    assert all(h.is_active and not h.send_data and h.headers == {} for h in hooks)


def test_create_get_update_delete(api: tuple[str, ChannexStandIn]) -> None:
    url, standin = api
    with ChannexClient(url, API_KEY) as client:
        made = client.create(_hook(headers={"X-Channex-Webhook-Secret": "s" * 20}))
        assert made.id in standin.webhooks
        assert client.get(made.id or "").headers == {"X-Channex-Webhook-Secret": "s" * 20}
        changed = client.update(made.id or "", _hook(event_mask="message"))
        assert changed.event_mask == "message"
        client.delete(made.id or "")
        assert standin.webhooks == {}
        with pytest.raises(ChannexNotFound, match="404") as caught:
            client.get(made.id or "")
    assert caught.value.code == "resource_not_found"


def test_errors_are_typed_and_keep_the_details(api: tuple[str, ChannexStandIn]) -> None:
    """422 keeps field -> messages; a wrong key is ChannexUnauthorized; no key, a ConfigError."""
    url, _ = api
    with ChannexClient(url, API_KEY) as client, pytest.raises(ChannexValidationError) as caught:
        client.create(_hook(callback_url=""))
    assert caught.value.details == {"callback_url": ["can't be blank"]}
    assert "callback_url: can't be blank" in str(caught.value)
    with ChannexClient(url, "wrong-key") as client, pytest.raises(ChannexUnauthorized):
        list(client.webhooks())
    with pytest.raises(ConfigError, match="no Channex API key: set CHANNEX_API_KEY") as missing:
        ChannexClient(url, "")
    assert not isinstance(missing.value, ChannexError)  # nothing was sent to Channex


def test_429_5xx_and_timeouts_are_retried(api: tuple[str, ChannexStandIn]) -> None:
    """An update (it may be repeated): one of each, then success, in four requests."""
    url, standin = api
    ident = standin.add(property_id=uuid(1), callback_url=URL, event_mask="*", is_active=True)
    standin.faults = [429, 503, "timeout"]
    with ChannexClient(url, API_KEY, timeout=0.5, backoff=0.01) as client:
        client.update(ident, _hook(1, event_mask="review"))
        assert client.requests == 4
    assert standin.webhooks[ident]["event_mask"] == "review"


def test_retries_are_bounded(api: tuple[str, ChannexStandIn]) -> None:
    """Past `attempts`, the last answer is the error; 4xx other than 429 is never retried."""
    url, standin = api
    ident = standin.add(property_id=uuid(1), callback_url=URL, event_mask="*", is_active=True)
    standin.faults = [502, 502, 502]
    with ChannexClient(url, API_KEY, attempts=3, backoff=0.01) as client:
        with pytest.raises(ChannexError, match="HTTP 502"):
            client.update(ident, _hook(1))
        assert client.requests == 3
    with ChannexClient(url, API_KEY, backoff=0.01) as client:
        with pytest.raises(ChannexNotFound):
            client.delete("missing")
        assert client.requests == 1


@pytest.mark.parametrize("fault", ["lost answer", "stored, then 502", "timeout"])
def test_a_create_is_never_repeated_blind(api: tuple[str, ChannexStandIn], fault: str) -> None:
    """Channex stored it but the answer was lost: found in the account, not created twice."""
    url, standin = api
    standin.faults = [fault]
    with ChannexClient(url, API_KEY, timeout=0.5, backoff=0.01) as client:
        made = client.create(_hook(1, event_mask="booking_new;message"))
    assert list(standin.webhooks) == [made.id]
    assert [m for m, _ in standin.requests] == ["POST", "GET"]


def test_a_create_not_stored_is_sent_again(api: tuple[str, ChannexStandIn]) -> None:
    """A 503 that stored nothing: the account is searched, then the create is sent again.

    A 429 is refused before anything is done, so it is retried at once.
    """
    url, standin = api
    standin.faults = [429, 503]
    with ChannexClient(url, API_KEY, backoff=0.01) as client:
        made = client.create(_hook(1))
    assert list(standin.webhooks) == [made.id]
    assert [m for m, _ in standin.requests] == ["POST", "POST", "GET", "POST"]


def test_a_create_that_never_happens_says_so(api: tuple[str, ChannexStandIn]) -> None:
    url, standin = api
    standin.faults, standin.fault_on = [502, 502], "POST"
    client = ChannexClient(url, API_KEY, attempts=2, backoff=0.01)
    with client, pytest.raises(ChannexError, match="HTTP 502, and the webhook was not created"):
        client.create(_hook(1))
    assert standin.webhooks == {}
    assert [m for m, _ in standin.requests] == ["POST", "GET", "POST", "GET"]


def test_the_async_create_is_never_repeated_blind(api: tuple[str, ChannexStandIn]) -> None:
    url, standin = api
    standin.faults = ["lost answer"]

    async def main() -> Webhook:
        async with AsyncChannexClient(url, API_KEY, timeout=0.5, backoff=0.01) as client:
            return await client.create(_hook(1))

    made = asyncio.run(main())
    assert list(standin.webhooks) == [made.id]


def test_the_async_client_does_the_same(api: tuple[str, ChannexStandIn]) -> None:
    url, standin = api
    standin.add(property_id=uuid(1), callback_url=URL, event_mask="*", is_active=True)
    standin.faults = [500]

    async def main() -> list[Webhook]:
        async with AsyncChannexClient(url, API_KEY, backoff=0.01) as client:
            made = await client.create(_hook(2))
            await client.update(made.id or "", _hook(2, event_mask="review"))
            hooks = [h async for h in client.webhooks()]
            with pytest.raises(ChannexNotFound):
                await client.get("missing")
            return hooks

    hooks = asyncio.run(main())
    assert sorted(h.event_mask for h in hooks) == ["*", "review"]


def test_unknown_fields_are_tolerated() -> None:
    """A response with fields eventmask does not know still reads."""
    entry = {"id": "w", "type": "webhook", "attributes": {"event_mask": "*", "callback_url": URL,
             "is_active": True, "created_at": "2024-01-01", "headers": None}}  # fmt: skip
    hook = Webhook.from_api(entry)
    assert (hook.id, hook.is_global, hook.headers) == ("w", True, {})


def test_the_stand_in_validates_as_the_page_says(api: tuple[str, ChannexStandIn]) -> None:
    """A property id that is not a UUID and a callback that is not an http(s) URL: 422."""
    url, standin = api
    with ChannexClient(url, API_KEY) as client, pytest.raises(ChannexValidationError) as caught:
        client.create(_hook(property_id="hotel-1", callback_url="ftp://pms.example.com/"))
    assert caught.value.details == {"property_id": ["is invalid"], "callback_url": ["is invalid"]}
    assert standin.webhooks == {}


def test_a_429_keeps_channexs_code_and_waits_for_retry_after(
    api: tuple[str, ChannexStandIn],
) -> None:
    """The documented 429 body reaches the error; a Retry-After, when sent, is waited for."""
    url, standin = api
    standin.faults = [429]
    with ChannexClient(url, API_KEY, attempts=1) as client, pytest.raises(ChannexError) as caught:
        list(client.webhooks())
    assert (caught.value.status, caught.value.code) == (429, "http_too_many_requests")
    standin.faults, standin.retry_after = [429], "1"
    with ChannexClient(url, API_KEY, backoff=0.01) as client:
        started = time.monotonic()
        assert list(client.webhooks()) == []
        assert time.monotonic() - started >= 0.9  # the header, not the 0.01 s backoff
