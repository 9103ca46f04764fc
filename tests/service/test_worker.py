"""Tests of the worker: poison deliveries die at once, real failures retry and are visible."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventmask import Notification, NotificationError, Router
from eventmask.asgi import Receiver
from eventmask.inbox import InboxSettings, SQLiteInbox, Worker

from ..helpers import dumps, envelope

SECRET = "a-long-enough-test-secret"


def typed_router() -> Router:
    """Handlers that read the typed views (which check the payload)."""
    router = Router()

    @router.on("ari:rate:*:*")
    def rates(n: Notification) -> None:
        for item in n.items:
            assert item.date.year > 2000

    @router.on("booking")
    def booking(n: Notification) -> None:
        assert n.booking.revision_id

    @router.on("message")
    def flaky(n: Notification) -> None:
        raise RuntimeError("the PMS is down")

    return router


POISON = [
    ({"event": "ari", "payload": "not a list"}, "$.payload"),
    ({"event": "ari", "payload": [{"date": "2026-13-45", "rate": "1.00"}]}, "$.payload[0].date"),
    ({"event": "booking", "payload": {"revision_id": 123}}, "$.payload.revision_id"),
]


@pytest.mark.parametrize(("doc", "path"), POISON)
def test_a_poison_delivery_is_dead_on_its_first_attempt(
    tmp_path: Path, doc: dict[str, Any], path: str
) -> None:
    """A payload that fails eventmask's checks can never succeed: dead at once, with its path."""
    inbox = SQLiteInbox(tmp_path / "inbox.db", InboxSettings(max_attempts=10))
    try:
        entry_id = inbox.put(envelope(doc)).id
        Worker(inbox, typed_router()).run_once()
        entry = inbox.get(entry_id)
        assert (entry.state, entry.attempts) == ("dead", 1)
        assert "NotificationError" in (entry.last_error or "")
        assert path in (entry.last_error or "")
    finally:
        inbox.close()


def test_a_failing_handler_keeps_the_retry_schedule_and_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler exception: ERROR with traceback, entry, route and attempt; pending again."""
    inbox = SQLiteInbox(tmp_path / "inbox.db", InboxSettings(max_attempts=2, backoff=0.01))
    try:
        entry_id = inbox.put(envelope({"event": "message", "payload": {}})).id
        worker = Worker(inbox, typed_router())
        with caplog.at_level(logging.INFO, logger="eventmask.worker"):
            worker.run_once()
            entry = inbox.get(entry_id)
            assert (entry.state, entry.attempts) == ("pending", 1)
            failed = [r for r in caplog.records if r.getMessage().startswith("handler failed")]
            (record,) = failed
            assert record.levelno == logging.ERROR
            assert record.exc_info is not None
            assert (record.entry, record.attempt) == (entry_id, 1)  # type: ignore[attr-defined]
            assert "flaky" in record.route  # type: ignore[attr-defined]
            assert "Traceback" in (entry.last_error or "")
            assert "RuntimeError: the PMS is down" in (entry.last_error or "")
            assert len((entry.last_error or "").splitlines()) <= 14
            inbox_wait = 0.05
            asyncio.run(asyncio.sleep(inbox_wait))
            worker.run_once()
            dead = [r for r in caplog.records if r.getMessage().startswith("dead letter")]
        assert inbox.get(entry_id).state == "dead"
        assert [r.levelno for r in dead] == [logging.ERROR]
    finally:
        inbox.close()


def test_an_array_of_non_objects_is_a_notification_error(tmp_path: Path) -> None:
    """`"payload": [1, 2]` under a `*` route: a NotificationError, not an AttributeError."""
    router = Router()
    router.add("*", lambda n: n.items)
    with pytest.raises(NotificationError, match="expected an ARI item object") as info:
        router.dispatch({"event": "ari", "payload": [1, 2]})
    assert info.value.path == "$.payload[0]"
    # Given the items by hand, the typed view says the same.
    with pytest.raises(NotificationError, match="expected an ARI item object"):
        _ = Notification({"event": "ari", "payload": [1, 2]}, (1, 2)).items


def test_inline_mode_answers_a_poison_delivery_400(tmp_path: Path) -> None:
    """Inline: a body that can never succeed is 400 (final for Channex), kept as a sample."""
    app = Receiver(typed_router(), secrets=[SECRET])
    body = dumps(POISON[1][0])

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.post(
                "/", content=body, headers={"X-Channex-Webhook-Secret": SECRET}
            )

    response = asyncio.run(post())
    assert response.status_code == 400
    assert "$.payload[0].date" in response.json()["error"]
    (sample,) = app.refusals.samples()
    assert sample.body == body
