"""`ChannexClient` and `AsyncChannexClient`: Channex's webhook endpoints, over httpx.

Authentication is the ``user-api-key`` header.  401, 404 and 422 become
typed errors that keep Channex's details; 429 waits (``Retry-After``, else
a doubling backoff) and retries, as do 5xx answers, timeouts and dropped
connections, a bounded number of times (docs/provisioning.md, "The Channex
API").  The two clients share everything but the waiting and the sending.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._catalogue import is_uuid
from .._errors import ChannexError
from .ari import availability_items, availability_params, restriction_items, restriction_params
from .exchange import DEFAULT_API_URL, Base, Pages, _Unsure, data, wait
from .revision import BookingRevision
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


def channex_id(value: str) -> str:
    """`value` when it is a Channex id, else a ValueError: ids go into URL paths.

    A revision id read from a webhook must not steer a request elsewhere
    (``../webhooks``).

    >>> channex_id("03dd7198-c5b7-493c-a889-74d0c2211de7")
    '03dd7198-c5b7-493c-a889-74d0c2211de7'
    """
    if not is_uuid(value):
        raise ValueError(f"not a Channex id: {str(value)[:80]!r}")
    return value


def _entry(doc: Any) -> Mapping[str, Any]:
    found = data(doc)
    return found if isinstance(found, Mapping) else {}


class FeedWalk:
    """Walking the revision feed, which shrinks while revisions are acknowledged.

    The feed holds only unacknowledged revisions, so paging by offset over it
    skips entries when some are acknowledged between two pages (by this PMS's
    other processes).  Each walk goes oldest first (``order[inserted_at]=asc``);
    when the total fell during a walk, the walk starts over from page 1, at
    most `PASSES` times, and returns only revisions it has not returned yet.
    A revision still skipped stays in the feed, unacknowledged, and the next
    poll finds it: later, never lost (docs/bookings.md, "Decisions").

    >>> walk = FeedWalk("716305c4-561a-4561-a187-7f5b8aeb5920")
    >>> walk.params()["order[inserted_at]"], walk.params()["pagination[page]"]
    ('asc', 1)
    >>> fresh, more = walk.take({"data": [{"id": "r1"}], "meta": {"total": 1}})
    >>> [e["id"] for e in fresh], more
    (['r1'], False)
    """

    PASSES = 3

    def __init__(self, property_id: str | None = None) -> None:
        self.filters: dict[str, Any] = {"order[inserted_at]": "asc"}
        if property_id is not None:
            self.filters["filter[property_id]"] = channex_id(property_id)
        self.seen: set[str] = set()
        self.passes = 0
        self._start()

    def _start(self) -> None:
        self.pages = Pages(**self.filters)
        self.passes += 1
        self.first_total: int | None = None

    def params(self) -> dict[str, Any]:
        """The query of the next page."""
        return self.pages.params()

    def take(self, doc: Any) -> tuple[list[Mapping[str, Any]], bool]:
        """The page's revisions not returned before, and whether to ask for another page.

        An answer without a list under ``data`` is a `ChannexError`: read as an
        empty page, it would look like a feed with nothing to pull.
        """
        found = data(doc) if isinstance(doc, Mapping) else doc
        if not isinstance(found, list):
            got = "nothing" if found is None else f"a {type(found).__name__}"
            raise ChannexError(
                f"GET /booking_revisions/feed: the answer has no list of revisions under data "
                f"(got {got}, page {self.pages.page})"
            )
        entries, more = self.pages.read(doc)
        if self.first_total is None:
            self.first_total = self.pages.total
        fresh = []
        for entry in entries:
            ident = str(entry.get("id"))
            if ident not in self.seen:
                self.seen.add(ident)
                fresh.append(entry)
        total, first = self.pages.total, self.first_total
        shrunk = total is not None and first is not None and total < first
        if not more and shrunk and self.passes < self.PASSES:
            self._start()
            more = True
        return fresh, more


class ChannexClient(Base):
    """Channex's webhook and booking revision API, synchronous.

    `base_url` and `api_key` default to ``CHANNEX_API_URL`` and
    ``CHANNEX_API_KEY``; `attempts` bounds the retries of each call, which
    wait `backoff` seconds, doubling.  Use it as a context manager, or call
    `close`.  Here against the testing kit's stand-in of Channex:

    >>> from eventmask.testing import revision_attributes, serve_channex
    >>> with serve_channex() as channex:
    ...     channex.add(revision_attributes(property_id="716305c4-561a-4561-a187-7f5b8aeb5920"))
    ...     with ChannexClient(channex.url, channex.api_key) as client:
    ...         (revision,) = client.feed()
    ...         client.ack(revision.id)
    ...         len(channex.acks), list(client.feed())
    (1, [])
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
        """Every webhook of the account, following every page."""
        pages, more = Pages(), True
        while more:
            entries, more = pages.read(self._call("GET", "/webhooks", params=pages.params()))
            yield from (Webhook.from_api(e) for e in entries)

    def get(self, webhook_id: str) -> Webhook:
        """One webhook (`ChannexNotFound` if there is none)."""
        return Webhook.from_api(data(self._call("GET", f"/webhooks/{webhook_id}")) or {})

    def create(self, webhook: Webhook) -> Webhook:
        """Create `webhook`; return it as Channex stored it, with its id.

        A create is never repeated blind: after a lost answer or a 5xx, the
        account is searched for it first (by property, URL and mask), and only
        a create that did not happen is sent again.
        """
        unsure: _Unsure | None = None
        for attempt in range(1, self.attempts + 1):
            if unsure is not None:
                time.sleep(wait(None, attempt - 1, self.backoff))
            try:
                doc = self._call("POST", "/webhooks", body=webhook.body(), blind=False)
                return Webhook.from_api(data(doc) or {})
            except _Unsure as exc:
                unsure = exc
            found = next((h for h in self.webhooks() if h.key == webhook.key), None)
            if found is not None:
                return found
        assert unsure is not None
        raise ChannexError(f"{unsure.what}, and the webhook was not created")

    def update(self, webhook_id: str, webhook: Webhook) -> Webhook:
        """Replace the webhook `webhook_id`'s fields with `webhook`'s."""
        doc = self._call("PUT", f"/webhooks/{webhook_id}", body=webhook.body())
        return Webhook.from_api(data(doc) or {})

    def delete(self, webhook_id: str) -> None:
        """Delete the webhook `webhook_id`."""
        self._call("DELETE", f"/webhooks/{webhook_id}")

    def test(self, webhook: Webhook) -> TestResult:
        """Ask Channex to post a test delivery as `webhook` would; what the endpoint answered."""
        return _test_result(self._call("POST", "/webhooks/test", body=webhook.body()))

    # -- ARI read back (docs/ari.md) -------------------------------------------------------

    def restrictions(
        self,
        property_id: str,
        first: dt.date,
        last: dt.date | None = None,
        restrictions: Iterable[str] = ("rate",),
    ) -> list[dict[str, Any]]:
        """The restrictions of a property's rate plans from `first` to `last`, as ARI items."""
        params = restriction_params(property_id, first, last, restrictions)
        return restriction_items(self._call("GET", "/restrictions", params=params))

    def availability(
        self, property_id: str, first: dt.date, last: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """The availability of a property's room types from `first` to `last`, as ARI items."""
        params = availability_params(property_id, first, last)
        return availability_items(self._call("GET", "/availability", params=params))

    # -- booking revisions (docs/bookings.md) ------------------------------------------------

    def feed_entries(self, property_id: str | None = None) -> Iterator[Mapping[str, Any]]:
        """Every unacknowledged revision in the feed, oldest first, as Channex sent it.

        Follows every page; see `FeedWalk` for a feed that shrinks meanwhile.
        """
        walk, more = FeedWalk(property_id), True
        while more:
            doc = self._call("GET", "/booking_revisions/feed", params=walk.params())
            entries, more = walk.take(doc)
            yield from entries

    def feed(self, property_id: str | None = None) -> Iterator[BookingRevision]:
        """`feed_entries`, typed (`RevisionError` for one that cannot be read)."""
        for entry in self.feed_entries(property_id):
            yield BookingRevision.from_api(entry)

    def revision_entry(self, revision_id: str) -> Mapping[str, Any]:
        """One revision as Channex sent it (`ChannexNotFound` if there is none)."""
        return _entry(self._call("GET", f"/booking_revisions/{channex_id(revision_id)}"))

    def revision(self, revision_id: str) -> BookingRevision:
        """One revision, typed."""
        return BookingRevision.from_api(self.revision_entry(revision_id))

    def ack(self, revision_id: str) -> None:
        """Acknowledge a revision: it leaves the feed (`ChannexNotFound`: no such revision).

        Acknowledging is idempotent, so a lost answer is simply asked again.
        """
        self._call("POST", f"/booking_revisions/{channex_id(revision_id)}/ack")

    def booking(self, booking_id: str) -> BookingRevision:
        """A booking: its latest revision, typed."""
        return BookingRevision.from_api(
            _entry(self._call("GET", f"/bookings/{channex_id(booking_id)}"))
        )


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
        await self.close()

    async def close(self) -> None:
        """Close the connections: `ChannexClient.close`, awaited.

        >>> import asyncio
        >>> asyncio.run(AsyncChannexClient("http://127.0.0.1:9/api/v1", "key").close())
        """
        await self._http.aclose()

    async def aclose(self) -> None:
        """`close`, under the name `contextlib.aclosing` calls."""
        await self.close()

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
        unsure: _Unsure | None = None
        for attempt in range(1, self.attempts + 1):
            if unsure is not None:
                await asyncio.sleep(wait(None, attempt - 1, self.backoff))
            try:
                doc = await self._call("POST", "/webhooks", body=webhook.body(), blind=False)
                return Webhook.from_api(data(doc) or {})
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
        return Webhook.from_api(data(doc) or {})

    async def delete(self, webhook_id: str) -> None:
        """Delete the webhook `webhook_id`."""
        await self._call("DELETE", f"/webhooks/{webhook_id}")

    async def test(self, webhook: Webhook) -> TestResult:
        """Ask Channex to post a test delivery as `webhook` would."""
        return _test_result(await self._call("POST", "/webhooks/test", body=webhook.body()))

    # -- ARI read back (docs/ari.md) -------------------------------------------------------

    async def restrictions(
        self,
        property_id: str,
        first: dt.date,
        last: dt.date | None = None,
        restrictions: Iterable[str] = ("rate",),
    ) -> list[dict[str, Any]]:
        """`ChannexClient.restrictions`, awaited."""
        params = restriction_params(property_id, first, last, restrictions)
        return restriction_items(await self._call("GET", "/restrictions", params=params))

    async def availability(
        self, property_id: str, first: dt.date, last: dt.date | None = None
    ) -> list[dict[str, Any]]:
        """`ChannexClient.availability`, awaited."""
        params = availability_params(property_id, first, last)
        return availability_items(await self._call("GET", "/availability", params=params))

    # -- booking revisions (docs/bookings.md) ------------------------------------------------

    async def feed_entries(
        self, property_id: str | None = None
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every unacknowledged revision in the feed, oldest first, as Channex sent it."""
        walk, more = FeedWalk(property_id), True
        while more:
            doc = await self._call("GET", "/booking_revisions/feed", params=walk.params())
            entries, more = walk.take(doc)
            for entry in entries:
                yield entry

    async def feed(self, property_id: str | None = None) -> AsyncIterator[BookingRevision]:
        """`feed_entries`, typed (`RevisionError` for one that cannot be read)."""
        async for entry in self.feed_entries(property_id):
            yield BookingRevision.from_api(entry)

    async def revision_entry(self, revision_id: str) -> Mapping[str, Any]:
        """One revision as Channex sent it (`ChannexNotFound` if there is none)."""
        return _entry(await self._call("GET", f"/booking_revisions/{channex_id(revision_id)}"))

    async def revision(self, revision_id: str) -> BookingRevision:
        """One revision, typed."""
        return BookingRevision.from_api(await self.revision_entry(revision_id))

    async def ack(self, revision_id: str) -> None:
        """Acknowledge a revision: it leaves the feed (`ChannexNotFound`: no such revision)."""
        await self._call("POST", f"/booking_revisions/{channex_id(revision_id)}/ack")

    async def booking(self, booking_id: str) -> BookingRevision:
        """A booking: its latest revision, typed."""
        doc = await self._call("GET", f"/bookings/{channex_id(booking_id)}")
        return BookingRevision.from_api(_entry(doc))
