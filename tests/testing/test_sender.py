"""Delivering as Channex does: retries, refusals, duplicates, order, pace, three kinds of target."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from eventmask import Notification, Router
from eventmask.asgi import Receiver
from eventmask.testing import (
    DeliveryFailed,
    Sender,
    booking,
    booking_revision,
    deliver,
    notification,
)

from ..helpers import Server

SECRET = "a-long-shared-secret"


class Flaky:
    """An ASGI app that answers each body `fail` times with `status` (or stalls), then 200."""

    def __init__(self, fail: int, status: int = 503, stall: float = 0.0) -> None:
        self.fail, self.status, self.stall = fail, status, stall
        self.seen: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.seen.append(body)
        attempt = self.seen.count(body)
        status = self.status if attempt <= self.fail else 200
        if attempt <= self.fail and self.stall:
            await asyncio.sleep(self.stall)
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"duplicate": false}'})


@pytest.fixture
def flaky_url() -> Iterator[tuple[str, Flaky]]:
    app = Flaky(fail=2)
    with Server(app) as url:
        yield url, app


def test_5xx_is_retried_until_acknowledged(flaky_url: tuple[str, Flaky]) -> None:
    """Two 503s, then 200: acknowledged on the third attempt, over a real connection."""
    url, app = flaky_url
    done = Sender(url, secret=SECRET, backoff=0.01).deliver([notification("message")])
    (sent,) = done.sent
    assert (sent.acknowledged, sent.attempts, sent.status, done.retried) == (True, 3, 200, 2)
    assert len(app.seen) == 3
    assert len(set(app.seen)) == 1


def test_attempts_run_out_into_a_failure(flaky_url: tuple[str, Flaky]) -> None:
    """Fewer attempts than failures: DeliveryFailed names the delivery, the last status."""
    url, _ = flaky_url
    sender = Sender(url, attempts=2, backoff=0.01)
    with pytest.raises(DeliveryFailed, match=r"#0 message: all 2 attempts failed: HTTP 503"):
        sender.deliver([notification("message")])
    done = sender.deliver([notification("message")], check=False)
    assert (done.failed, done.acknowledged, dict(done.refused)) == (1, 0, {})


def test_a_timeout_is_retried() -> None:
    """A response slower than the timeout counts as a failure, and the retry succeeds."""
    app = Flaky(fail=1, stall=2.0)
    with Server(app) as url:
        done = Sender(url, timeout=0.3, backoff=0.01).deliver([notification("review")])
    assert (done.sent[0].attempts, done.ok) == (2, True)


def test_no_server_fails_with_the_transport_error() -> None:
    """Nothing listening: every attempt fails to connect, and the error says so."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = Sender(f"http://127.0.0.1:{port}/", attempts=2, backoff=0.01).deliver(
        [notification("message")], check=False
    )
    assert done.failed == 1
    assert "ConnectError" in (done.sent[0].error or "")


def test_4xx_is_a_refusal_and_is_not_retried() -> None:
    """A wrong secret gets 401 once: refused, counted by status, not retried."""
    receiver = Receiver(Router(), secrets=[SECRET])
    done = Sender(receiver, secret="wrong-secret-value").deliver(
        [notification("message"), notification("message")], check=False
    )
    assert (dict(done.refused), done.retried, done.failed) == ({401: 2}, 0, 0)
    assert "refused 401 x2" in done.summary()
    with pytest.raises(DeliveryFailed, match="refused with HTTP 401"):
        Sender(receiver).deliver([notification("message")])


def test_an_asgi_app_gets_the_secret_and_the_path() -> None:
    """An ASGI target is called in process, at `path`, with the secret header."""
    seen: list[str] = []
    router = Router()
    router.add("booking_new", lambda n: seen.append(n.event))
    receiver = Receiver(router, secrets=[SECRET], path="/channex")
    done = Sender(receiver, secret=SECRET, path="/channex").deliver([notification("booking_new")])
    assert (done.ok, seen) == (True, ["booking_new"])
    refused = Sender(receiver, secret=SECRET).deliver([notification("message")], check=False)
    assert dict(refused.refused) == {404: 1}


def test_duplicates_arrive_later_and_shuffle_reorders() -> None:
    """duplicates=1.0 sends each twice, the repeat after the first; shuffle reorders by seed."""
    order: list[str] = []
    router = Router()
    router.add("booking", lambda n: order.append(n.booking.booking_id or ""))
    docs = [booking(booking_id=str(i)) for i in range(20)]
    deliver(router, docs, duplicates=1.0)
    assert sorted(order) == sorted([str(i) for i in range(20)] * 2)
    for i in range(20):
        first = order.index(str(i))
        assert str(i) in order[first + 1 :]
    order.clear()
    deliver(router, docs, shuffle=True, seed=3)
    shuffled = list(order)
    order.clear()
    deliver(router, docs, shuffle=True, seed=3)
    assert shuffled == order != [str(i) for i in range(20)]
    with pytest.raises(ValueError, match="probability"):
        deliver(router, docs, duplicates=2.0)


def test_a_failing_handler_is_retried_and_its_exception_raised() -> None:
    """For a router a handler error is a 500: retried, then the original exception is raised."""
    calls: list[int] = []
    router = Router()

    @router.on("message")
    def broken(n: Notification) -> None:
        calls.append(1)
        raise KeyError("room_type_id")

    with pytest.raises(ExceptionGroup) as caught:
        Sender(router, attempts=3, backoff=0.0).deliver([notification("message")])
    assert caught.group_contains(KeyError)
    assert len(calls) == 3
    done = Sender(router, attempts=1).deliver([notification("message")], check=False)
    assert done.failed == 1
    assert (done.sent[0].error or "").startswith("the only attempt failed: ")
    assert "broken <- message" in (done.sent[0].error or "")


def test_a_notification_eventmask_rejects_is_a_400_refusal_for_a_router() -> None:
    """Invalid JSON to a router: refused (400), not retried, like the receiver would."""
    done = deliver(Router(), [b"{not json"], check=False)
    assert (dict(done.refused), done.retried) == ({400: 1}, 0)


def test_booking_revision_through_a_deduplicating_receiver_is_handled_once() -> None:
    """The kit shows the double delivery, and the inbox's revision deduplication absorbs it."""
    from eventmask.inbox import InboxSettings
    from eventmask.testing import harness

    pulls: list[str | None] = []
    router = Router()
    router.add("booking;booking_new", lambda n: pulls.append(n.booking.revision_id))
    with harness(router, workers=0, settings=InboxSettings(dedup_revisions=True)) as h:
        done = h.deliver(booking_revision("booking_new", revision_id="R"))
        h.drain()
    assert (done.acknowledged, done.duplicates, pulls) == (2, 1, ["R"])


def test_async_targets_and_concurrency_with_a_rate() -> None:
    """adeliver awaits coroutine handlers; 10 deliveries at 20/s take at least 0.45 s."""
    seen: list[str] = []
    router = Router()

    @router.on("review")
    async def on_review(n: Notification) -> None:
        await asyncio.sleep(0)
        seen.append(n.event)

    started = time.monotonic()
    sender = Sender(router, concurrency=4, rate=20.0)
    done = asyncio.run(sender.adeliver([notification("review") for _ in range(10)]))
    assert (done.acknowledged, len(seen)) == (10, 10)
    assert time.monotonic() - started >= 0.45


def test_sync_deliver_inside_an_event_loop_says_to_await() -> None:
    """Sender.deliver to an ASGI app from async code: a clear error, not a hang."""

    async def main() -> None:
        Sender(Receiver(Router(), secrets=[SECRET])).deliver([notification("message")])

    with pytest.raises(RuntimeError, match="await adeliver"):
        asyncio.run(main())


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"attempts": 0}, "attempts"),
        ({"concurrency": 0}, "concurrency"),
        ({"rate": 0.0}, "rate"),
    ],
)
def test_bad_options_are_refused(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Sender(Router(), **options)
    with pytest.raises(ValueError, match="http://"):
        Sender("ftp://example.invalid/")


def test_response_bodies_mark_duplicates() -> None:
    """The receiver's ``duplicate: true`` is counted as a duplicate, still acknowledged."""
    from eventmask.testing import harness

    with harness(Router()) as h:
        doc = notification("message")
        done = h.deliver([doc, doc])
    assert (done.acknowledged, done.duplicates) == (2, 1)
    assert [s.duplicate for s in done.sent] == [False, True]


def test_handlers_delivered_to_directly_run_as_under_a_worker() -> None:
    """current_delivery() works under deliver(router, ...): the attempt, a stable key, and a
    connection whose writes commit with a successful attempt and roll back with a failed one."""
    from eventmask.inbox import current_delivery

    router = Router()
    seen: list[tuple[int, str]] = []

    @router.on("booking_new")
    def save(n: Notification) -> None:
        ctx = current_delivery()
        seen.append((ctx.attempt, ctx.idempotency_key))
        ctx.sqlite.execute("INSERT INTO saved VALUES (?, ?)", (n.booking.revision_id, ctx.attempt))
        if ctx.attempt == 1:
            raise RuntimeError("the first attempt fails after its write")

    sender = Sender(router, backoff=0.0)
    sender.connection.execute("CREATE TABLE saved (revision TEXT, attempt INTEGER)")
    sent = sender.deliver([booking(revision_id="R1", event="booking_new")], duplicates=1.0)
    assert sent.acknowledged == 2
    rows = sender.connection.execute("SELECT revision, attempt FROM saved").fetchall()
    assert rows == [("R1", 2), ("R1", 2)]  # each delivery's failed first write rolled back
    assert [attempt for attempt, _ in seen] == [1, 2, 1, 2]
    assert len({key for _, key in seen}) == 1  # a duplicate has the same key, as in the inbox
    assert seen[0][1].startswith("body:")
