"""Tests of the ASGI receiver: in-process (httpx) and over a real uvicorn on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eventmask import Notification, Router
from eventmask.asgi import Receiver
from eventmask.inbox import SQLiteInbox, Worker, open_inbox

from ..helpers import Server, dumps

SECRET = "s3cret-one-long-enough"
ROTATED = "s3cret-two-long-enough"
DOC = {"event": "booking_new", "property_id": "p", "payload": {"revision_id": "r1"}}


def make_router(seen: list[str]) -> Router:
    router = Router()

    @router.on("booking_new;message")
    def record(n: Notification) -> None:
        seen.append(n.event)

    @router.on("sync_error")
    def broken(n: Notification) -> None:
        raise RuntimeError("handler bug")

    return router


async def post(
    app: Receiver, body: bytes, headers: dict[str, str], method: str = "POST"
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, "/channex", content=body, headers=headers)


def test_inline_mode_dispatches_before_answering() -> None:
    """Without an inbox the handler runs before the 200; a handler error answers 500."""
    seen: list[str] = []
    app = Receiver(make_router(seen), secrets=[SECRET], path="/channex")
    ok = asyncio.run(post(app, dumps(DOC), {"X-Channex-Webhook-Secret": SECRET}))
    assert (ok.status_code, ok.json()["status"], seen) == (200, "handled", ["booking_new"])
    bad = asyncio.run(
        post(app, dumps({"event": "sync_error"}), {"x-channex-webhook-secret": SECRET})
    )
    assert bad.status_code == 500
    assert bad.json()["failed"]


def test_inbox_mode_commits_then_acknowledges(db_url: str) -> None:
    """With an inbox the 200 carries the entry id; a retry of the same body is a duplicate."""
    inbox = open_inbox(db_url, migrate=True)
    try:
        app = Receiver(Router(), secrets=[SECRET], inbox=inbox, path="/channex")
        headers = {"X-Channex-Webhook-Secret": SECRET}
        first = asyncio.run(post(app, dumps(DOC), headers))
        again = asyncio.run(post(app, dumps(DOC), headers))
        assert first.json() == {"status": "accepted", "id": 1, "duplicate": False}
        assert again.json() == {"status": "accepted", "id": 1, "duplicate": True}
        assert inbox.get(1).body == dumps(DOC)
    finally:
        inbox.close()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not a notification: @ $: invalid JSON"),
        (b"[1]", "not a notification: @ $: expected a JSON object, got array"),
        (b'{"payload": {}}', "not a notification: @ $: missing required field 'event'"),
    ],
)
def test_bad_bodies_are_400_and_recorded(tmp_path: Path, body: bytes, reason: str) -> None:
    """Bad JSON, non-objects and a missing event get 400, recorded with reason and body."""
    inbox = SQLiteInbox(tmp_path / "inbox.db")
    try:
        app = Receiver(Router(), secrets=[SECRET], inbox=inbox, path="/channex")
        response = asyncio.run(post(app, body, {"X-Channex-Webhook-Secret": SECRET}))
        assert response.status_code == 400
        app.refusals.flush()  # the receiver writes refusals once a second; now
        inbox.flush()
        (rejection,) = inbox.refusals()
        assert rejection["reason"].startswith(reason)
        assert rejection["body"] == body.decode()
    finally:
        inbox.close()


def test_auth_failures_are_recorded_without_body() -> None:
    """A 401 is recorded (inline mode: in memory) with its reason and no body."""
    app = Receiver(Router(), secrets=[SECRET], path="/channex")
    response = asyncio.run(post(app, b'{"event": "x", "card": "4111"}', {"X-Other": SECRET}))
    assert response.status_code == 401
    (record,) = app.refusals.samples()
    assert record.reason == "missing or wrong secret header"
    assert record.body is None


def test_receiver_needs_a_secret() -> None:
    """An empty secret list is refused at construction."""
    with pytest.raises(ValueError, match="secret"):
        Receiver(Router(), secrets=["", ""])


# -- a real uvicorn on loopback ------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, SQLiteInbox, list[str]]]:
    seen: list[str] = []
    inbox = SQLiteInbox(tmp_path_factory.mktemp("inbox") / "inbox.db")
    router = make_router(seen)
    worker = Worker(inbox, router, idle=0.02)
    app = Receiver(
        router,
        secrets=[SECRET, ROTATED],
        inbox=inbox,
        max_body=10_000,
        path="/channex",
        on_startup=worker.start,
        on_shutdown=worker.stop,
    )
    with Server(app) as url:
        yield url, inbox, seen
    inbox.close()


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"X-Channex-Webhook-Secret": SECRET}, 200),
        ({"x-channex-webhook-secret": SECRET}, 200),
        ({"X-CHANNEX-WEBHOOK-SECRET": ROTATED}, 200),
        ({"X-Channex-Webhook-Secret": "wrong"}, 401),
        ({"X-Channex-Webhook-Secret": SECRET[:-1]}, 401),
        ({"X-Channex-Webhook-Secret": ""}, 401),
        ({}, 401),
        ({"Authorization": f"Bearer {SECRET}"}, 401),
    ],
)
def test_secret_matrix_over_http(
    served: tuple[str, SQLiteInbox, list[str]], headers: dict[str, str], status: int
) -> None:
    """Wrong, missing and rotated secrets and header case, against a real server."""
    url, _, _ = served
    doc = {**DOC, "payload": {"revision_id": f"r-{sorted(headers.items())}"}}
    response = httpx.post(f"{url}/channex", content=dumps(doc), headers=headers)
    assert response.status_code == status


def test_method_size_body_and_unknown_events_over_http(
    served: tuple[str, SQLiteInbox, list[str]],
) -> None:
    """405 for GET, 413 for a large body, 400 for bad JSON, 200 for an unknown event."""
    url, _, _ = served
    auth = {"X-Channex-Webhook-Secret": SECRET}

    def refused() -> dict[int, int]:
        """Refusals so far, by status (the module's server is shared: only the change counts)."""
        time.sleep(1.2)  # refusals reach the inbox once a second
        health = httpx.get(f"{url}/health", headers=auth)
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        counts: dict[int, int] = {}
        for kind in health.json()["inbox"]["refused_by_kind_last_24h"]:
            counts[kind["status"]] = counts.get(kind["status"], 0) + kind["count"]
        return counts

    before = refused()
    got = httpx.get(f"{url}/channex", headers=auth)
    assert (got.status_code, got.headers["allow"]) == (405, "POST")
    assert httpx.post(f"{url}/channex", content=b"x" * 20_000, headers=auth).status_code == 413
    assert httpx.post(f"{url}/channex", content=b"{oops", headers=auth).status_code == 400
    unknown = httpx.post(f"{url}/channex", content=b'{"event": "brand_new_event"}', headers=auth)
    assert (unknown.status_code, unknown.json()["status"]) == (200, "accepted")
    after = refused()
    change = {status: after.get(status, 0) - before.get(status, 0) for status in after}
    assert {status: n for status, n in change.items() if n} == {400: 1, 405: 1, 413: 1}


def test_body_that_never_ends_gets_413(served: tuple[str, SQLiteInbox, list[str]]) -> None:
    """A chunked body with no end is cut off with 413 once it passes max_body."""
    url, _, _ = served
    port = int(url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /channex HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        + f"X-Channex-Webhook-Secret: {SECRET}\r\n\r\n".encode()
    )
    stop = threading.Event()

    def endless() -> None:
        chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"
        try:
            while not stop.is_set():
                sock.sendall(chunk)
        except OSError:
            pass  # the server closed the connection: what we want

    sender = threading.Thread(target=endless, daemon=True)
    sender.start()
    try:
        answer = sock.recv(4096)
    finally:
        stop.set()
        sender.join(10)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert not sender.is_alive()


def test_workers_drain_what_the_server_accepted(
    served: tuple[str, SQLiteInbox, list[str]],
) -> None:
    """Accepted deliveries are dispatched by the worker; handler errors are retried."""
    url, inbox, seen = served
    auth = {"X-Channex-Webhook-Secret": SECRET}
    for n in range(20):
        doc = {"event": "message", "payload": {"delivery": f"m{n}"}}
        assert httpx.post(f"{url}/channex", content=dumps(doc), headers=auth).status_code == 200
    failing = httpx.post(
        f"{url}/channex", content=b'{"event": "sync_error", "payload": {}}', headers=auth
    )
    deadline = time.monotonic() + 10
    while seen.count("message") < 20:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    deadline = time.monotonic() + 10
    while (
        inbox.get(failing.json()["id"]).attempts < 1
        or inbox.get(failing.json()["id"]).state == "claimed"
    ):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    entry = inbox.get(failing.json()["id"])
    assert entry.state == "pending"
    assert "RuntimeError: handler bug" in (entry.last_error or "")
