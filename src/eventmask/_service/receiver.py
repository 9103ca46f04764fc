"""The ASGI receiver for Channex webhooks.

Channex retries a delivery only on a 5xx or a timeout, up to 11 times over
about a day; a 4xx is final.  So the receiver answers 2xx only once the
delivery is safe (committed to the inbox, or handled in inline mode), 5xx
when it could not make it safe in time, and 4xx only for requests that no
retry can fix: wrong path, method, secret, framing or size, a body that
stalls, or one that is not a notification.  Refusals are counted, sampled
and logged within bounds (`refusals`); docs/receiver.md has every answer.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from .._catalogue import SECRET_HEADER, header_name, secret_bytes
from .._envelope import Envelope
from .._errors import InboxError, NotificationError
from .._inbox.interface import Inbox
from .._routing.router import Router
from .deadlines import deadline
from .health import health
from .inline import dispatch_inline
from .metrics import DeliveryTally, exposition, metrics
from .refusals import RefusalLog
from .responses import Receive, Scope, Send, local_path, respond, respond_bytes

__all__ = ["Receiver"]

log = logging.getLogger("eventmask.receiver")

# What a receiver whose lifespan never ran says, in its log and in /health.
NOT_STARTED = (
    "deliveries are stored, but no lifespan started this receiver, so no worker here "
    "handles them: give the app lifespan=lifespan(receiver), or lifespan(receiver, "
    "workers=0) when workers run elsewhere (docs/embedding.md)"
)

# Secrets shorter than this are accepted, with a warning.
MIN_SECRET: int = 16


class _Refused(Exception):
    """A request to refuse: the answer, the kind it is counted under, and why."""

    def __init__(self, status: int, kind: str, reason: str, *, close: bool = True) -> None:
        super().__init__(reason)
        self.status = status
        self.kind = kind
        self.reason = reason
        self.close = close


class _Disconnected(Exception):
    pass


def _secrets(secrets: Iterable[str]) -> list[bytes]:
    if isinstance(secrets, (str, bytes, bytearray)):
        # A str is an iterable of one-character secrets: every letter would open the door.
        raise TypeError("secrets is a list of secrets, not one str: use secrets=[secret]")
    out = []
    for secret in secrets:
        if not isinstance(secret, str):
            raise TypeError(f"a secret is a str, not {type(secret).__name__}")
        if secret:
            if len(secret) < MIN_SECRET:
                # Also what `iter("s3cret")` gives: one-character "secrets" that
                # anybody can guess.  Refused, not warned about.
                raise ValueError(
                    f"a secret must be at least {MIN_SECRET} characters "
                    f"(one is {len(secret)}): use a long random one"
                )
            out.append(secret_bytes(secret))
    if not out:
        raise ValueError("Receiver needs at least one non-empty secret")
    return out


# size: one ASGI application; its checks of the options it is given come first.
class Receiver:
    """A pure ASGI 3 application that receives Channex webhooks.

    ``secrets``: the shared secrets that authenticate Channex (several may be
    valid at once, to rotate one); compared in constant time against the
    ``header`` (any case).  With an `inbox`, a delivery is committed before
    the 2xx and workers dispatch it later; without one (inline mode) the
    router dispatches it before the response, and a handler error answers
    500 so that Channex retries.  Deliveries are taken only on ``path``
    (inside the app: under a mount, relative to it); ``health_path`` answers
    GET, and ``metrics_path`` answers Prometheus scrapes that carry a secret
    (in the secret header or as ``Authorization: Bearer``; with
    prometheus_client installed; None turns them off).  A body must arrive within ``body_timeout``
    seconds.

    >>> from eventmask import Router
    >>> app = Receiver(Router(), secrets=["a-long-shared-secret"])
    >>> app.header, app.path
    ('x-channex-webhook-secret', '/')
    """

    def __init__(
        self,
        router: Router,
        *,
        secrets: Iterable[str],
        header: str = SECRET_HEADER,
        max_body: int = 1_048_576,
        inbox: Inbox | None = None,
        path: str = "/",
        health_path: str = "/health",
        metrics_path: str | None = "/metrics",
        body_timeout: float = 10.0,
        on_startup: Callable[[], None] | None = None,
        on_shutdown: Callable[[], None] | None = None,
        workers: Callable[[], tuple[int, int]] | None = None,
        stale_after: float | None = 600.0,
    ) -> None:
        self.router = router
        self._secrets = _secrets(secrets)
        self.header = header_name(header).lower()
        self._header = self.header.encode("ascii")
        if max_body < 1:
            raise ValueError(f"max_body must be at least 1 byte, not {max_body}")
        self.max_body = max_body
        self.inbox = inbox
        self.path = "/" + path.strip("/")
        self.path = self.path.rstrip("/") or "/"
        self.health_path = "/" + health_path.strip("/")
        self.metrics_path = None if metrics_path is None else "/" + metrics_path.strip("/")
        if self.path in (self.health_path, self.metrics_path):
            raise ValueError(
                f"path {self.path!r} is where /health or /metrics answer: "
                "take deliveries at another path"
            )
        if not body_timeout > 0 or body_timeout == float("inf"):
            raise ValueError(f"body_timeout must be a finite number of seconds above 0, "
                             f"not {body_timeout!r}")  # fmt: skip
        self._metrics = metrics() if metrics_path is not None else None
        self._tally = DeliveryTally(self._metrics) if self._metrics is not None else None
        self.body_timeout = body_timeout
        self.on_startup = on_startup
        self.on_shutdown = on_shutdown
        self.workers = workers
        if stale_after is not None and not stale_after > 0:
            raise ValueError(f"stale_after must be greater than 0 seconds, not {stale_after!r}")
        self.stale_after = stale_after
        self.refusals = RefusalLog(inbox, tally=self._tally)
        self.write_timeout = inbox.settings.write_timeout if inbox is not None else 5.0
        # Set by a lifespan (its own, or `lifespan`/`running` for a mounted one):
        # an inbox that no lifespan started has no workers here, and says so.
        self.started = False
        self._warned = False

    def flush(self) -> None:
        """Write out what is counted in memory: refusals to the inbox, the tally to the metrics.

        Both happen on their own within a second; a lifespan's shutdown calls this
        so that the last second is not lost.

        >>> from eventmask import Router
        >>> Receiver(Router(), secrets=["a-long-shared-secret"]).flush()
        """
        self.refusals.flush()
        if self._tally is not None:
            self._tally.flush()

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
                self.started = True
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    self.flush()
                    if self.on_shutdown is not None:
                        self.on_shutdown()
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = local_path(scope).rstrip("/") or "/"
        try:
            if path in (self.health_path, self.metrics_path):
                await self._operator(scope, send, path)
                return
            if path != self.path:
                raise _Refused(404, "not found", f"no deliveries are taken at {path[:200]!r}")
        except _Refused as refused:
            await self._refuse(scope, send, refused)
            return
        started = time.perf_counter()
        try:
            outcome, status = await self._handle(scope, receive, send)
        except _Refused as refused:
            await self._refuse(scope, send, refused)
            outcome, status = "refused", refused.status
        except _Disconnected:
            return
        if self._tally is not None:
            seconds = time.perf_counter() - started if status < 300 else None
            self._tally.count(outcome, status, seconds)

    async def _operator(self, scope: Scope, send: Send, path: str) -> None:
        """Health for anyone (details with the secret); metrics with the secret only."""
        method = scope["method"]
        if method not in ("GET", "HEAD"):
            raise _Refused(404, "not found", f"{method} {path}: only GET is answered here")
        if path == self.health_path:
            status, doc = await health(
                self.inbox,
                self._authenticated(scope),
                self.write_timeout,
                workers=self.workers,
                stale_after=self.stale_after,
                started=self.started,
                not_started=NOT_STARTED,
            )
            await respond(send, status, doc)
        elif self._metrics is None or not self._authenticated(scope, bearer=True):
            raise _Refused(404, "not found", f"no deliveries are taken at {path!r}")
        else:
            body, kind = await asyncio.to_thread(exposition, self.inbox, self.workers)
            await respond_bytes(send, 200, body, (b"content-type", kind.encode()))

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> tuple[str, int]:
        """Take one delivery; return its outcome and the status answered."""
        if scope["method"] != "POST":
            raise _Refused(405, "method", "method not allowed: only POST is accepted")
        headers = scope.get("headers", [])
        length = _framing(headers)
        if not self._authenticated(scope):
            # The body of an unauthenticated request is not kept: it is not ours.
            raise _Refused(401, "wrong secret", "missing or wrong secret header")
        if length is not None and length > self.max_body:
            raise _Refused(
                413, "too large", f"body of {length:,} bytes exceeds max_body {self.max_body:,}"
            )
        body = await _read_body(receive, self.max_body, self.body_timeout)
        try:
            delivery = Envelope.read(body)
        except NotificationError as err:
            self._record(scope, 400, "not a notification", f"not a notification: {err}", body)
            await respond(send, 400, {"status": "refused", "error": f"not a notification: {err}"})
            return "refused", 400
        if self.inbox is not None:
            return await self._store(send, delivery)
        record = functools.partial(self._record, scope)
        return await dispatch_inline(self.router, send, delivery, record)

    def _authenticated(self, scope: Scope, *, bearer: bool = False) -> bool:
        """The secret header carries a secret (or, with `bearer`, ``Authorization: Bearer``)."""
        headers = scope.get("headers", ())
        given = [v for k, v in headers if k.lower() == self._header]
        if bearer and not given:  # what a Prometheus scrape config can send
            auth = [v for k, v in headers if k.lower() == b"authorization"]
            given = [a[7:] for a in auth if a[:7].lower() == b"bearer "]
        if len(given) != 1:
            return False
        ok = False
        for secret in self._secrets:  # every secret is compared: no early exit
            ok |= hmac.compare_digest(given[0], secret)
        return ok

    async def _store(self, send: Send, delivery: Envelope) -> tuple[str, int]:
        assert self.inbox is not None
        try:
            # Not wait_for, which on 3.11 runs the wait in a task of its own, nor
            # asyncio.timeout, which costs a timer on the loop's heap (deadlines.py).
            with deadline(self.write_timeout):
                stored = await self.inbox.aput(delivery)
        except (InboxError, TimeoutError) as exc:
            reason = str(exc) or f"the inbox did not store it within {self.write_timeout:g} s"
            self.refusals.add(503, "inbox unavailable", reason, None)
            await respond(send, 503, {"status": "error", "error": "inbox unavailable; retry"})
            return "unavailable", 503
        if log.isEnabledFor(logging.INFO):
            fields = {"id": stored.id, "event": delivery.event, "duplicate": stored.duplicate}
            log.info("delivery accepted", extra={"fields": fields, **fields})
        if not self.started and not self._warned:
            self._warned = True
            log.warning("%s", NOT_STARTED)
        await respond(
            send, 200, {"status": "accepted", "id": stored.id, "duplicate": stored.duplicate}
        )
        return ("duplicate" if stored.duplicate else "accepted"), 200

    def _record(
        self, scope: Scope, status: int, kind: str, reason: str, body: bytes | None
    ) -> None:
        client = scope.get("client")
        remote = f"{client[0]}:{client[1]}" if client else None
        self.refusals.add(status, kind, reason, remote, body)

    async def _refuse(self, scope: Scope, send: Send, refused: _Refused) -> None:
        self._record(scope, refused.status, refused.kind, refused.reason, None)
        headers = [(b"allow", b"POST")] if refused.status == 405 else []
        doc: dict[str, Any] = {"status": "refused", "error": refused.reason}
        await respond(send, refused.status, doc, close=refused.close, headers=headers)


async def _read_body(receive: Receive, max_body: int, body_timeout: float) -> bytes:
    """The body, within max_body and body_timeout (413 or 408 otherwise, and close)."""
    chunks: list[bytes] = []
    size = 0
    try:
        with deadline(body_timeout):  # one deadline for the whole body
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Disconnected
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > max_body:
                    raise _Refused(413, "too large", f"body exceeds max_body {max_body:,}")
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)
    except TimeoutError:
        reason = f"the body did not arrive within {body_timeout:g} s"
        raise _Refused(408, "body timeout", reason) from None


def _framing(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """The declared Content-Length; refuse a request that also has Transfer-Encoding."""
    length: int | None = None
    chunked = False
    for key, value in headers:
        name = key.lower()
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise _Refused(400, "bad framing", "Content-Length is not a number") from None
        elif name == b"transfer-encoding":
            chunked = True
    if chunked and length is not None:
        # RFC 9112 section 6.1: both is a smuggling attempt or a broken client.
        raise _Refused(400, "bad framing", "both Content-Length and Transfer-Encoding")
    return length
