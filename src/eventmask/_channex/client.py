"""`ChannexClient` and `AsyncChannexClient`: Channex's webhook endpoints, over httpx.

Authentication is the ``user-api-key`` header.  401, 404 and 422 become
typed errors that keep Channex's details; 429 waits (``Retry-After``, else
a doubling backoff) and retries, as do 5xx answers, timeouts and dropped
connections, a bounded number of times (docs/provisioning.md, "The Channex
API").  The two clients share everything but the waiting and the sending.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._errors import ChannexError
from .exchange import DEFAULT_API_URL, Base, Pages, Unsure, data, wait
from .webhook import Webhook

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_API_URL", "AsyncChannexClient", "ChannexClient", "TestResult"]


@attrs.frozen(slots=True)
class TestResult:
    """What the endpoint answered to Channex's test delivery.

    >>> TestResult(200, "ok").ok
    True
    """

    __test__ = False  # a result of Channex's test endpoint, not a test case to collect

    status_code: int | None
    body: str

    @property
    def ok(self) -> bool:
        """Whether the endpoint answered 2xx.

        >>> TestResult(401, "").ok
        False
        """
        return self.status_code is not None and 200 <= self.status_code < 300


def _test_result(doc: Any) -> TestResult:
    found = data(doc)
    fields = found if isinstance(found, Mapping) else (doc if isinstance(doc, Mapping) else {})
    status = fields.get("status_code")
    body = fields.get("body")
    # Channex answers an unreachable endpoint with status_code 0 and the
    # reason in body ("econnrefused"): no HTTP answer at all, not "HTTP 0".
    answered = isinstance(status, int) and 100 <= status <= 599
    return TestResult(status if answered else None, "" if body is None else str(body))


class ChannexClient(Base):
    """Channex's webhook API, synchronous.

    `base_url` and `api_key` default to ``CHANNEX_API_URL`` and
    ``CHANNEX_API_KEY``; `attempts` bounds the retries of each call, which
    wait `backoff` seconds, doubling.  Use it as a context manager, or call
    `close`.

    >>> client = ChannexClient("http://127.0.0.1:9/api/v1", "key", attempts=1)
    >>> client.base_url
    'http://127.0.0.1:9/api/v1'
    >>> client.close()
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import httpx

        super().__init__(*args, **kwargs)
        self._http = httpx.Client(headers=self.headers, timeout=self.timeout)

    def __enter__(self) -> ChannexClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def _call(
        self, method: str, path: str, body: Any = None, params: Any = None, blind: bool = True
    ) -> Any:
        import httpx

        exchange = self.exchange(method, path, body, params, blind=blind)
        reply: httpx.Response | Exception | None = None
        try:
            while True:
                wanted = exchange.send(reply)
                reply = None
                if isinstance(wanted, float):
                    time.sleep(wanted)
                    continue
                try:
                    reply = self._http.request(**wanted)
                except httpx.TransportError as exc:
                    reply = exc
        except StopIteration as done:
            return done.value

    def webhooks(self) -> Iterator[Webhook]:
        """Every webhook of the account, following every page.

        >>> callable(ChannexClient.webhooks)
        True
        """
        pages, more = Pages(), True
        while more:
            entries, more = pages.read(self._call("GET", "/webhooks", params=pages.params()))
            yield from (Webhook.from_api(e) for e in entries)

    def get(self, webhook_id: str) -> Webhook:
        """One webhook (`ChannexNotFound` if there is none).

        >>> callable(ChannexClient.get)
        True
        """
        return Webhook.from_api(data(self._call("GET", f"/webhooks/{webhook_id}")) or {})

    def create(self, webhook: Webhook) -> Webhook:
        """Create `webhook`; return it as Channex stored it, with its id.

        A create is never repeated blind: after a lost answer or a 5xx, the
        account is searched for it first (by property, URL and mask), and only
        a create that did not happen is sent again.

        >>> callable(ChannexClient.create)
        True
        """
        unsure: Unsure | None = None
        for attempt in range(1, self.attempts + 1):
            if unsure is not None:
                time.sleep(wait(None, attempt - 1, self.backoff))
            try:
                doc = self._call("POST", "/webhooks", body=webhook.body(), blind=False)
                return Webhook.from_api(data(doc) or {})
            except Unsure as exc:
                unsure = exc
            found = next((h for h in self.webhooks() if h.key == webhook.key), None)
            if found is not None:
                return found
        assert unsure is not None
        raise ChannexError(f"{unsure.what}, and the webhook was not created")

    def update(self, webhook_id: str, webhook: Webhook) -> Webhook:
        """Replace the webhook `webhook_id`'s fields with `webhook`'s.

        >>> callable(ChannexClient.update)
        True
        """
        doc = self._call("PUT", f"/webhooks/{webhook_id}", body=webhook.body())
        return Webhook.from_api(data(doc) or {})

    def delete(self, webhook_id: str) -> None:
        """Delete the webhook `webhook_id`.

        >>> callable(ChannexClient.delete)
        True
        """
        self._call("DELETE", f"/webhooks/{webhook_id}")

    def test(self, webhook: Webhook) -> TestResult:
        """Ask Channex to post a test delivery as `webhook` would; what the endpoint answered.

        >>> callable(ChannexClient.test)
        True
        """
        return _test_result(self._call("POST", "/webhooks/test", body=webhook.body()))


class AsyncChannexClient(Base):
    """Channex's webhook API for async code: the methods of `ChannexClient`, awaited.

    >>> import asyncio
    >>> async def main() -> str:
    ...     async with AsyncChannexClient("http://127.0.0.1:9/api/v1/", "key") as client:
    ...         return client.base_url
    >>> asyncio.run(main())
    'http://127.0.0.1:9/api/v1'
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        import httpx

        super().__init__(*args, **kwargs)
        self._http = httpx.AsyncClient(headers=self.headers, timeout=self.timeout)

    async def __aenter__(self) -> AsyncChannexClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def _call(
        self, method: str, path: str, body: Any = None, params: Any = None, blind: bool = True
    ) -> Any:
        import httpx

        exchange = self.exchange(method, path, body, params, blind=blind)
        reply: httpx.Response | Exception | None = None
        try:
            while True:
                wanted = exchange.send(reply)
                reply = None
                if isinstance(wanted, float):
                    await asyncio.sleep(wanted)
                    continue
                try:
                    reply = await self._http.request(**wanted)
                except httpx.TransportError as exc:
                    reply = exc
        except StopIteration as done:
            return done.value

    async def webhooks(self) -> AsyncIterator[Webhook]:
        """Every webhook of the account, following every page."""
        pages, more = Pages(), True
        while more:
            doc = await self._call("GET", "/webhooks", params=pages.params())
            entries, more = pages.read(doc)
            for entry in entries:
                yield Webhook.from_api(entry)

    async def get(self, webhook_id: str) -> Webhook:
        """One webhook (`ChannexNotFound` if there is none)."""
        return Webhook.from_api(data(await self._call("GET", f"/webhooks/{webhook_id}")) or {})

    async def create(self, webhook: Webhook) -> Webhook:
        """Create `webhook`; return it as Channex stored it (never repeated blind)."""
        unsure: Unsure | None = None
        for attempt in range(1, self.attempts + 1):
            if unsure is not None:
                await asyncio.sleep(wait(None, attempt - 1, self.backoff))
            try:
                doc = await self._call("POST", "/webhooks", body=webhook.body(), blind=False)
                return Webhook.from_api(data(doc) or {})
            except Unsure as exc:
                unsure = exc
            async for hook in self.webhooks():
                if hook.key == webhook.key:
                    return hook
        assert unsure is not None
        raise ChannexError(f"{unsure.what}, and the webhook was not created")

    async def update(self, webhook_id: str, webhook: Webhook) -> Webhook:
        """Replace the webhook `webhook_id`'s fields with `webhook`'s."""
        doc = await self._call("PUT", f"/webhooks/{webhook_id}", body=webhook.body())
        return Webhook.from_api(data(doc) or {})

    async def delete(self, webhook_id: str) -> None:
        """Delete the webhook `webhook_id`."""
        await self._call("DELETE", f"/webhooks/{webhook_id}")

    async def test(self, webhook: Webhook) -> TestResult:
        """Ask Channex to post a test delivery as `webhook` would."""
        return _test_result(await self._call("POST", "/webhooks/test", body=webhook.body()))
