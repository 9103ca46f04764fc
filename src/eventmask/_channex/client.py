"""`ChannexClient` and `AsyncChannexClient`: Channex's webhook endpoints, over httpx.

Authentication is the ``user-api-key`` header.  401, 404 and 422 become
typed errors that keep Channex's details; 429 waits (``Retry-After``, else
a doubling backoff) and retries, as do 5xx answers, timeouts and dropped
connections, a bounded number of times (docs/provisioning.md, "The Channex
API").  The two clients share everything but the waiting and the sending.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs

from .._errors import (
    ChannexError,
    ChannexNotFound,
    ChannexUnauthorized,
    ChannexValidationError,
    InvalidJSON,
)
from .._json import dumps, loads
from .webhook import Webhook

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_API_URL", "AsyncChannexClient", "ChannexClient", "TestResult"]

# Channex's production API; staging is https://staging.channex.io/api/v1.
DEFAULT_API_URL: Final = "https://app.channex.io/api/v1"
# Channex pages its collections 10 to a page unless asked; fewer round trips.
_PAGE: Final = 100


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


def _settings(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    url = base_url or os.environ.get("CHANNEX_API_URL") or DEFAULT_API_URL
    key = api_key or os.environ.get("CHANNEX_API_KEY")
    if not key:
        raise ChannexUnauthorized("no API key: set CHANNEX_API_KEY or pass api_key")
    return url.rstrip("/"), key


def _error(response: httpx.Response) -> ChannexError:
    """The typed error of a non-2xx answer, with Channex's code and details."""
    try:
        doc = loads(response.content)
    except InvalidJSON:
        doc = {}
    errors = doc.get("errors", {}) if isinstance(doc, Mapping) else {}
    errors = errors if isinstance(errors, Mapping) else {}
    code = errors.get("code") if isinstance(errors.get("code"), str) else None
    found = errors.get("details")
    details: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    details = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
               for k, v in details.items()}  # fmt: skip
    title = errors.get("title") if isinstance(errors.get("title"), str) else None
    message = title or response.reason_phrase or "error"
    kind = {401: ChannexUnauthorized, 404: ChannexNotFound, 422: ChannexValidationError}.get(
        response.status_code, ChannexError
    )
    where = f"{response.request.method} {response.request.url.path}"
    return kind(f"{where}: {message}", status=response.status_code, code=code, details=details)


def _request(body: Any, params: Any) -> dict[str, Any]:
    """httpx arguments: the body encoded with eventmask's one JSON library."""
    out: dict[str, Any] = {"params": params}
    if body is not None:
        out["content"] = dumps(body)
        out["headers"] = {"content-type": "application/json"}
    return out


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return loads(response.content)
    except InvalidJSON as exc:
        where = f"{response.request.method} {response.request.url.path}"
        raise ChannexError(
            f"{where}: the answer is not JSON: {exc}", status=response.status_code
        ) from None


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class _Unsure(Exception):
    """A create that may have been stored: the answer was lost, or was a 5xx."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _maybe_done(reply: httpx.Response | Exception) -> bool:
    """Whether a failed attempt may have been carried out by Channex all the same."""
    import httpx

    if isinstance(reply, httpx.Response):
        return reply.status_code >= 500  # a 429 is refused before anything is done
    # Nothing was sent when the connection could not be made.
    return not isinstance(reply, (httpx.ConnectError, httpx.ConnectTimeout))


def _describe(reply: httpx.Response | Exception) -> str:
    import httpx

    if isinstance(reply, httpx.Response):
        return f"HTTP {reply.status_code}"
    return f"{type(reply).__name__}: {reply}" if str(reply) else type(reply).__name__


def _wait(response: httpx.Response | None, attempt: int, backoff: float) -> float:
    if response is not None and response.status_code == 429:
        after = response.headers.get("retry-after", "")
        if after.isdigit():
            return min(float(after), 60.0)
    return float(min(backoff * 2 ** (attempt - 1), 30.0))


def _data(doc: Any) -> Any:
    return doc.get("data") if isinstance(doc, Mapping) else None


def _test_result(doc: Any) -> TestResult:
    data = _data(doc)
    data = data if isinstance(data, Mapping) else (doc if isinstance(doc, Mapping) else {})
    status = data.get("status_code")
    body = data.get("body")
    # Channex answers an unreachable endpoint with status_code 0 and the
    # reason in body ("econnrefused"): no HTTP answer at all, not "HTTP 0".
    answered = isinstance(status, int) and 100 <= status <= 599
    return TestResult(status if answered else None, "" if body is None else str(body))


def _page(doc: Any) -> tuple[list[Webhook], int | None]:
    items = _data(doc)
    hooks = [Webhook.from_api(e) for e in items if isinstance(e, Mapping)] if items else []
    meta = doc.get("meta") if isinstance(doc, Mapping) else None
    total = meta.get("total") if isinstance(meta, Mapping) else None
    return hooks, total if isinstance(total, int) else None


# What the shared exchange asks its driver for: an HTTP request (its httpx
# arguments), or a pause (seconds).  It is sent back the response or the error.
Exchange = Generator["dict[str, Any] | float", "httpx.Response | Exception | None", Any]


class _Pages:
    """Walking the listing: the parameters of each page, and whether to ask for the next."""

    def __init__(self) -> None:
        self.page, self.seen = 1, 0

    def params(self) -> dict[str, int]:
        return {"pagination[page]": self.page, "pagination[limit]": _PAGE}

    def read(self, doc: Any) -> tuple[list[Webhook], bool]:
        """The page's webhooks, and whether another page follows."""
        hooks, total = _page(doc)
        self.seen += len(hooks)
        self.page += 1
        return hooks, bool(hooks) and total is not None and self.seen < total


class _Base:
    """Everything but the I/O: settings, and each call's attempts as an `Exchange`.

    An exchange yields what it needs (a request's httpx arguments, or seconds
    to wait) and is sent back the response, or the transport error; the sync
    and async clients differ only in how they carry these out.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        attempts: int = 5,
        backoff: float = 0.5,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        self.base_url, key = _settings(base_url, api_key)
        self.headers = {"user-api-key": key, "accept": "application/json"}
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.requests = 0  # every request sent, retries included

    def _exchange(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Any = None,
        *,
        blind: bool = True,
    ) -> Exchange:
        """One call's attempts.  With ``blind=False`` (a create), an attempt that
        may have been carried out is not repeated: `_Unsure` goes to the caller,
        who looks for the result first (docs/provisioning.md, "Retries")."""
        import httpx

        kwargs = {"method": method, "url": self.base_url + path, **_request(body, params)}
        last: httpx.Response | None = None
        error: Exception | None = None
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            reply = yield kwargs
            if isinstance(reply, httpx.Response):
                last = reply
                if last.status_code < 300:
                    return _decode(last)
                if not _retryable(last.status_code):
                    raise _error(last)
            else:
                last, error = None, reply
            if not blind and reply is not None and _maybe_done(reply):
                raise _Unsure(f"{method} {path}: {_describe(reply)}")
            if attempt < self.attempts:
                yield _wait(last, attempt, self.backoff)
        if last is not None:
            raise _error(last)
        raise ChannexError(f"{method} {path}: no answer after {self.attempts} attempts: {error}")


class ChannexClient(_Base):
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

        exchange = self._exchange(method, path, body, params, blind=blind)
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
        pages, more = _Pages(), True
        while more:
            hooks, more = pages.read(self._call("GET", "/webhooks", params=pages.params()))
            yield from hooks

    def get(self, webhook_id: str) -> Webhook:
        """One webhook (`ChannexNotFound` if there is none).

        >>> callable(ChannexClient.get)
        True
        """
        return Webhook.from_api(_data(self._call("GET", f"/webhooks/{webhook_id}")) or {})

    def create(self, webhook: Webhook) -> Webhook:
        """Create `webhook`; return it as Channex stored it, with its id.

        A create is never repeated blind: after a lost answer or a 5xx, the
        account is searched for it first (by property, URL and mask), and only
        a create that did not happen is sent again.

        >>> callable(ChannexClient.create)
        True
        """
        unsure: _Unsure | None = None
        for attempt in range(1, self.attempts + 1):
            if unsure is not None:
                time.sleep(_wait(None, attempt - 1, self.backoff))
            try:
                doc = self._call("POST", "/webhooks", body=webhook.body(), blind=False)
                return Webhook.from_api(_data(doc) or {})
            except _Unsure as exc:
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
        return Webhook.from_api(_data(doc) or {})

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


class AsyncChannexClient(_Base):
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

        exchange = self._exchange(method, path, body, params, blind=blind)
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
        pages, more = _Pages(), True
        while more:
            doc = await self._call("GET", "/webhooks", params=pages.params())
            hooks, more = pages.read(doc)
            for hook in hooks:
                yield hook

    async def get(self, webhook_id: str) -> Webhook:
        """One webhook (`ChannexNotFound` if there is none)."""
        return Webhook.from_api(_data(await self._call("GET", f"/webhooks/{webhook_id}")) or {})

    async def create(self, webhook: Webhook) -> Webhook:
        """Create `webhook`; return it as Channex stored it (never repeated blind)."""
        unsure: _Unsure | None = None
        for attempt in range(1, self.attempts + 1):
            if unsure is not None:
                await asyncio.sleep(_wait(None, attempt - 1, self.backoff))
            try:
                doc = await self._call("POST", "/webhooks", body=webhook.body(), blind=False)
                return Webhook.from_api(_data(doc) or {})
            except _Unsure as exc:
                unsure = exc
            async for hook in self.webhooks():
                if hook.key == webhook.key:
                    return hook
        assert unsure is not None
        raise ChannexError(f"{unsure.what}, and the webhook was not created")

    async def update(self, webhook_id: str, webhook: Webhook) -> Webhook:
        """Replace the webhook `webhook_id`'s fields with `webhook`'s."""
        doc = await self._call("PUT", f"/webhooks/{webhook_id}", body=webhook.body())
        return Webhook.from_api(_data(doc) or {})

    async def delete(self, webhook_id: str) -> None:
        """Delete the webhook `webhook_id`."""
        await self._call("DELETE", f"/webhooks/{webhook_id}")

    async def test(self, webhook: Webhook) -> TestResult:
        """Ask Channex to post a test delivery as `webhook` would."""
        return _test_result(await self._call("POST", "/webhooks/test", body=webhook.body()))
