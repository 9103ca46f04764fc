"""The ASGI receiver for Channex webhooks.

Channex retries a delivery only on a 5xx or a timeout, up to 11 times over
about a day; a 4xx is final.  So the receiver answers 2xx only once the
delivery is safe (committed to the inbox, or handled in inline mode), 5xx
when it could not make it safe, and 4xx only for requests that no retry can
fix (wrong secret, wrong method, too large, not a notification), each of
which is recorded with its reason so that an operator sees refusals.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from .._catalogue import SECRET_HEADER
from .._envelope import Envelope
from .._errors import NotificationError
from .._inbox.base import Inbox
from .._json import dumps
from .._routing.router import Router

__all__ = ["Receiver"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

log = logging.getLogger("eventmask.receiver")


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


class Receiver:
    """A pure ASGI 3 application that receives Channex webhooks.

    ``secrets``: the shared secrets that authenticate Channex (several may be
    valid at once, to rotate one); compared in constant time against the
    ``header`` (any case).  With an `inbox`, a delivery is committed before
    the 2xx and workers dispatch it later; without one (inline mode) the
    router dispatches it before the response, and a handler error answers
    500 so that Channex retries.

    >>> from eventmask import Router
    >>> app = Receiver(Router(), secrets=["s3cret"])
    >>> app.header
    'x-channex-webhook-secret'
    """

    def __init__(
        self,
        router: Router,
        *,
        secrets: Iterable[str],
        header: str = SECRET_HEADER,
        max_body: int = 1_048_576,
        inbox: Inbox | None = None,
        health_path: str = "/health",
        on_startup: Callable[[], None] | None = None,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        self.router = router
        self._secrets = [s.encode() for s in secrets if s]
        if not self._secrets:
            raise ValueError("Receiver needs at least one non-empty secret")
        self.header = header.lower()
        self._header = self.header.encode("latin-1")
        self.max_body = max_body
        self.inbox = inbox
        self.health_path = health_path
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        # Refusals when there is no inbox to record them in (inline mode).
        self.rejections: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)
        self.counts: collections.Counter[int] = collections.Counter()

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            raise RuntimeError(f"eventmask Receiver does not handle {kind!r} connections")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self.on_startup is not None:
                        self.on_startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    if self.on_shutdown is not None:
                        self.on_shutdown()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        path = scope.get("path", "/")
        if path == self.health_path and method in ("GET", "HEAD"):
            await self._health(send)
            return
        if method != "POST":
            await self._refuse(
                scope,
                send,
                405,
                "method not allowed: only POST is accepted",
                None,
                extra_headers=[(b"allow", b"POST")],
            )
            return
        headers = scope.get("headers", [])
        if not self._authenticated(headers):
            # The body of an unauthenticated request is not kept: it is not ours.
            await self._refuse(scope, send, 401, "missing or wrong secret header", None)
            return
        length = _content_length(headers)
        if length is not None and length > self.max_body:
            await self._refuse(
                scope,
                send,
                413,
                f"body of {length:,} bytes exceeds max_body {self.max_body:,}",
                None,
            )
            return
        try:
            body = await self._read(receive)
        except _TooLarge:
            await self._refuse(scope, send, 413, f"body exceeds max_body {self.max_body:,}", None)
            return
        except _Disconnected:
            return
        try:
            delivery = Envelope.read(body)
        except NotificationError as err:
            await self._refuse(scope, send, 400, f"not a notification: {err}", body)
            return
        if self.inbox is not None:
            await self._store(send, delivery)
        else:
            await self._dispatch_inline(send, delivery)

    def _authenticated(self, headers: Iterable[tuple[bytes, bytes]]) -> bool:
        given = [v for k, v in headers if k.lower() == self._header]
        if len(given) != 1:
            return False
        ok = False
        for secret in self._secrets:  # every secret is compared: no early exit
            ok |= hmac.compare_digest(given[0], secret)
        return ok

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _store(self, send: Send, delivery: Envelope) -> None:
        assert self.inbox is not None
        try:
            stored = await self.inbox.aput(delivery)
        except Exception as exc:
            log.error("could not store delivery", extra={"fields": {"error": str(exc)}})
            await _respond(send, 503, {"status": "error", "error": "inbox unavailable; retry"})
            self.counts[503] += 1
            return
        log.info(
            "delivery accepted",
            extra={
                "fields": {
                    "id": stored.id,
                    "event": delivery.event,
                    "duplicate": stored.duplicate,
                }
            },
        )
        self.counts[200] += 1
        await _respond(
            send, 200, {"status": "accepted", "id": stored.id, "duplicate": stored.duplicate}
        )

    async def _dispatch_inline(self, send: Send, delivery: Envelope) -> None:
        try:
            result = await self.router.adispatch(delivery.doc)
        except Exception as exc:
            log.exception("dispatch failed")
            self.counts[500] += 1
            await _respond(send, 500, {"status": "error", "error": f"{type(exc).__name__}: {exc}"})
            return
        if not result.ok:
            names = [e.route.name if e.route else "on_unmatched" for e in result.errors]
            log.error("handlers failed", extra={"fields": {"routes": names}})
            self.counts[500] += 1
            # 500 makes Channex retry: every handler runs again on the retry.
            await _respond(send, 500, {"status": "error", "failed": names})
            return
        self.counts[200] += 1
        await _respond(send, 200, {"status": "handled", "handlers": len(result.deliveries)})

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        reason: str,
        body: bytes | None,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        client = scope.get("client")
        remote = f"{client[0]}:{client[1]}" if client else None
        self.counts[status] += 1
        record = {"at": time.time(), "status": status, "reason": reason, "remote": remote}
        log.warning("delivery refused", extra={"fields": record})
        if self.inbox is not None:
            try:
                self.inbox.reject(status, reason, body, remote)
            except Exception:  # recording a refusal must never fail the response
                log.exception("could not record a refused delivery")
        else:
            self.rejections.append(record)
        await _respond(send, status, {"status": "refused", "error": reason}, extra_headers)

    async def _health(self, send: Send) -> None:
        doc: dict[str, Any] = {"status": "ok"}
        status = 200
        if self.inbox is not None:
            try:
                # In a thread: a database that is slow or down must not stall
                # the event loop that acknowledges deliveries.
                doc["inbox"] = await asyncio.to_thread(self.inbox.stats, done=False)
            except Exception as exc:
                status, doc = 503, {"status": "error", "error": f"inbox unavailable: {exc}"}
        await _respond(send, status, doc)


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for key, value in headers:
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _respond(
    send: Send,
    status: int,
    doc: Any,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = dumps(doc)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
