"""Delivering notifications the way Channex does: to a router, an ASGI app or a URL.

Channex POSTs each notification with the webhook's headers and treats
anything but a 2xx as a failure to retry later; a timeout or a dropped
connection is retried too.  Deliveries can repeat and arrive out of order
(docs/routing.md, "Notifications").  `Sender` does the same, with options to
provoke both, so that a test (or ``eventmask send``) sees what production
will (docs/testing.md).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

import attrs

from .._catalogue import SECRET_HEADER, header_name, secret_bytes
from .._json import dumps, loads
from .._routing.router import Router
from .direct import Direct, Retry, event_of
from .outcomes import Delivered, Sent, answered, gave_up

if TYPE_CHECKING:
    import httpx

__all__ = ["Delivered", "Notifications", "Sender", "Sent", "deliver"]

# What can be delivered: decoded notifications, or JSON bodies sent as they are.
Notifications: TypeAlias = Iterable[Mapping[str, Any] | bytes | str]
ASGIApp: TypeAlias = Callable[[Any, Any, Any], Awaitable[None]]


def _body(notification: Mapping[str, Any] | bytes | str) -> bytes:
    if isinstance(notification, bytes):
        return notification
    if isinstance(notification, str):
        return notification.encode("utf-8")
    return dumps(notification)


def _duplicate(response: httpx.Response) -> bool:
    if not response.headers.get("content-type", "").startswith("application/json"):
        return False
    try:
        doc = loads(response.content)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("duplicate") is True


@attrs.frozen(slots=True)
class _SendOrder:
    """The deliveries in sending order: (index in the input, body)."""

    order: tuple[tuple[int, bytes], ...]

    @classmethod
    def of(
        cls, notifications: Notifications, duplicates: float, shuffle: bool, seed: int | None
    ) -> _SendOrder:
        if not 0.0 <= duplicates <= 1.0:
            raise ValueError(f"duplicates is a probability from 0 to 1, not {duplicates}")
        rng = random.Random(seed)
        order = [(i, _body(n)) for i, n in enumerate(notifications)]
        if shuffle:
            rng.shuffle(order)
        # A repeat arrives later than its first delivery, as a Channex retry does.
        for position, (i, body) in list(enumerate(order))[::-1]:
            if rng.random() < duplicates:
                order.insert(rng.randint(position + 1, len(order)), (i, body))
        return cls(tuple(order))


class Sender:
    """Delivers notifications as Channex does, to a `Router`, an ASGI app or a URL.

    A 2xx acknowledges a delivery.  5xx, 408, 429, timeouts and dropped
    connections are retried, up to `attempts` in all, after ``backoff``
    seconds doubling each time (at most ``max_backoff``).  Any other status
    is a refusal, not retried.  For a router (no HTTP), a handler that
    raises counts as a 500 and a notification eventmask rejects as a 400,
    and each attempt runs as an inbox worker runs it: `current_delivery()`
    works, and writes through its ``connection`` (`connection`, else an
    in-memory SQLite database) commit after a successful attempt and roll
    back after a failed one (`Sender.connection`).
    `secret` goes in `header`; `concurrency` deliveries are in flight at
    once, started at no more than `rate` per second.  For an ASGI app,
    deliveries are posted to `path`.

    >>> from eventmask import Router
    >>> from eventmask.testing import notification
    >>> router = Router()
    >>> _ = router.add("message", lambda n: None)
    >>> Sender(router).deliver([notification("message")]).summary()
    'sent 1: 1 acknowledged (0 duplicates), refused none, 0 failed, 0 retries'
    """

    def __init__(
        self,
        target: Router | ASGIApp | str,
        *,
        secret: str | None = None,
        header: str = SECRET_HEADER,
        path: str = "/",
        attempts: int = 5,
        backoff: float = 0.05,
        max_backoff: float = 5.0,
        timeout: float = 10.0,
        concurrency: int = 1,
        rate: float | None = None,
        connection: Any = None,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        if rate is not None and rate <= 0:
            raise ValueError(f"rate must be above 0 deliveries a second, not {rate}")
        if isinstance(target, str) and not target.startswith(("http://", "https://")):
            raise ValueError(f"a URL target starts with http:// or https://, not {target[:80]!r}")
        self.target = target
        self.headers = {"content-type": "application/json"}
        if secret is not None:
            secret_bytes(secret)  # refuses what no header can carry
            if not secret.isascii():  # httpx writes a header value as ASCII
                raise ValueError("a secret to send must be ASCII text")
            self.headers[header_name(header)] = secret
        self.path = path
        self.retry = Retry(attempts, backoff, max_backoff)
        self.timeout = timeout
        self.concurrency = concurrency
        self.rate = rate
        self._direct = (
            Direct(target, self.retry, connection) if isinstance(target, Router) else None
        )

    @property
    def connection(self) -> Any:
        """What `current_delivery().connection` is for a router's handlers (None for HTTP).

        An in-memory SQLite database unless `connection` was given; what the
        handlers wrote through it, committed after each attempt that succeeded.

        >>> from eventmask import Router
        >>> Sender(Router()).connection.execute("SELECT 1").fetchone()
        (1,)
        """
        return None if self._direct is None else self._direct.connection

    # -- both ----------------------------------------------------------------------------

    def deliver(
        self,
        notifications: Notifications,
        *,
        duplicates: float = 0.0,
        shuffle: bool = False,
        seed: int | None = None,
        check: bool = True,
        on_sent: Callable[[Sent], None] | None = None,
    ) -> Delivered:
        """Deliver `notifications`; with `check`, raise unless all were acknowledged.

        `duplicates` is the chance that a notification is delivered a second
        time, later; `shuffle` delivers them out of order (`seed` makes both
        repeatable).  `on_sent` is called as each delivery ends.  A router is
        called in this thread (use `adeliver` for coroutine handlers); other
        targets run an event loop, so call `adeliver` from async code.

        >>> from eventmask import Router
        >>> from eventmask.testing import booking
        >>> seen = []
        >>> router = Router()
        >>> _ = router.add("booking", lambda n: seen.append(n.booking.revision_id))
        >>> d = Sender(router).deliver([booking(revision_id="R")], duplicates=1.0)
        >>> seen
        ['R', 'R']
        """
        plan = _SendOrder.of(notifications, duplicates, shuffle, seed)
        if self._direct is not None:
            sent: list[Sent] = []
            for index, body in plan.order:
                sent.append(self._direct.dispatch(index, body))
                if on_sent is not None:
                    on_sent(sent[-1])
            return _finish(sent, check)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._adeliver(plan, check, on_sent))
        raise RuntimeError("Sender.deliver was called inside a running event loop: await adeliver")

    async def adeliver(
        self,
        notifications: Notifications,
        *,
        duplicates: float = 0.0,
        shuffle: bool = False,
        seed: int | None = None,
        check: bool = True,
        on_sent: Callable[[Sent], None] | None = None,
    ) -> Delivered:
        """`deliver`, from async code: coroutine handlers are awaited.

        >>> import asyncio
        >>> from eventmask import Router
        >>> from eventmask.testing import notification
        >>> router = Router()
        >>> @router.on("review")
        ... async def on_review(n): pass
        >>> asyncio.run(Sender(router).adeliver([notification("review")])).ok
        True
        """
        plan = _SendOrder.of(notifications, duplicates, shuffle, seed)
        return await self._adeliver(plan, check, on_sent)

    async def _adeliver(
        self, plan: _SendOrder, check: bool, on_sent: Callable[[Sent], None] | None
    ) -> Delivered:
        sent: list[Sent] = []
        pace = _Pace(self.rate)
        queue = list(plan.order)[::-1]

        async def lane(send_one: Callable[[int, bytes], Awaitable[Sent]]) -> None:
            while queue:
                index, body = queue.pop()
                await pace.wait()
                sent.append(await send_one(index, body))
                if on_sent is not None:
                    on_sent(sent[-1])

        if self._direct is not None:
            # Lanes in flight at once share the one connection (and its transaction).
            await asyncio.gather(*(lane(self._direct.adispatch) for _ in range(self.concurrency)))
        else:
            assert not isinstance(self.target, Router)
            async with _client(self.target, self.path, self.timeout, self.concurrency) as (
                client,
                url,
            ):

                async def post(index: int, body: bytes) -> Sent:
                    return await _post(client, url, self.headers, self.retry, index, body)

                await asyncio.gather(*(lane(post) for _ in range(self.concurrency)))
        return _finish(sent, check)


@asynccontextmanager
async def _client(
    target: ASGIApp | str, path: str, timeout: float, concurrency: int
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    try:
        import httpx
    except ImportError:  # pragma: no cover - the extra is installed in tests
        raise ImportError(
            "sending over HTTP needs httpx: pip install 'eventmask[client]'"
        ) from None
    if isinstance(target, str):
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
            yield client, target
    else:
        transport = httpx.ASGITransport(app=target)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", timeout=timeout
        ) as client:
            yield client, path


async def _post(
    client: httpx.AsyncClient,
    url: str,
    headers: Mapping[str, str],
    retry: Retry,
    index: int,
    body: bytes,
) -> Sent:
    import httpx

    event = event_of(body)
    status: int | None = None
    for attempt in range(1, retry.attempts + 1):
        try:
            response = await client.post(url, content=body, headers=headers)
        except httpx.TransportError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}".rstrip(": ")
        else:
            status = response.status_code
            final = answered(index, event, attempt, status, _duplicate(response))
            if final is not None:
                return final
            error = f"HTTP {status}"
        if attempt < retry.attempts:
            await asyncio.sleep(retry.delay(attempt))
    return gave_up(index, event, retry.attempts, status, error)


class _Pace:
    """Starts at most `rate` deliveries a second (None: no limit)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 0.0 if rate is None else 1.0 / rate
        self.next = time.monotonic()

    async def wait(self) -> None:
        if not self.interval:
            return
        now = time.monotonic()
        start, self.next = max(now, self.next), max(now, self.next) + self.interval
        if start > now:
            await asyncio.sleep(start - now)


def _finish(sent: list[Sent], check: bool) -> Delivered:
    delivered = Delivered(tuple(sent))
    if check:
        delivered.raise_for_failures()
    return delivered


def deliver(
    target: Router | ASGIApp | str,
    notifications: Notifications,
    *,
    secret: str | None = None,
    duplicates: float = 0.0,
    shuffle: bool = False,
    seed: int | None = None,
    check: bool = True,
    connection: Any = None,
) -> Delivered:
    """Deliver `notifications` to `target` as Channex would (a one-call `Sender`).

    For a router, handlers run as under an inbox worker: `current_delivery()`
    works, its ``connection`` is `connection` (an in-memory SQLite database
    if None), committed after each successful attempt.

    >>> from eventmask import Router
    >>> from eventmask.testing import matching
    >>> router = Router()
    >>> _ = router.add("booking_new", lambda n: None)
    >>> deliver(router, matching("booking_new")).acknowledged
    1
    """
    return Sender(target, secret=secret, connection=connection).deliver(
        notifications, duplicates=duplicates, shuffle=shuffle, seed=seed, check=check
    )
