"""Inline mode: the receiver dispatches a delivery before it answers (docs/receiver.md).

Sync handlers run in worker threads, one after the other, so that a slow
handler does not hold up the event loop and the other requests on it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .._envelope import Envelope
from .._errors import NotificationError
from .._routing.router import Router
from .responses import Send, respond

__all__ = ["dispatch_inline"]

log = logging.getLogger("eventmask.receiver")

# Keeps a refusal: (status, kind, reason, body).
Record = Callable[[int, str, str, bytes | None], None]


async def dispatch_inline(
    router: Router, send: Send, delivery: Envelope, record: Record
) -> tuple[str, int]:
    """Dispatch `delivery` before answering; return the outcome and the status answered.

    200 when every handler succeeded; 500 when one raised (Channex retries,
    and every handler runs again); 400 when the payload fails eventmask's
    own checks, since no retry would fix it.  `record` keeps a refusal.

    >>> import asyncio
    >>> from eventmask import Router
    >>> sent = []
    >>> async def send(message): sent.append(message)
    >>> delivery = Envelope.read(b'{"event": "message"}')
    >>> asyncio.run(dispatch_inline(Router(), send, delivery, print))
    ('handled', 200)
    """
    try:
        # Sync handlers run in threads: a slow one must not stall other requests.
        result = await router.adispatch_in_threads(delivery.doc)
    except NotificationError as err:
        record(400, "not a notification", f"not usable: {err}", delivery.body)
        await respond(send, 400, {"status": "refused", "error": f"not usable: {err}"})
        return "refused", 400
    except Exception as exc:
        log.exception("dispatch failed", extra={"fields": {"event": delivery.event}})
        await respond(send, 500, {"status": "error", "error": f"{type(exc).__name__}: {exc}"})
        return "failed", 500
    final = [e for e in result.errors if isinstance(e.exception, NotificationError)]
    if final and len(final) == len(result.errors):
        # A payload that fails eventmask's checks: no retry will fix it.
        reason = f"not usable: {final[0].exception}"
        record(400, "not a notification", reason, delivery.body)
        await respond(send, 400, {"status": "refused", "error": reason})
        return "refused", 400
    if not result.ok:
        names = [e.route.name if e.route else "on_unmatched" for e in result.errors]
        for failure in result.errors:
            log.error(
                "handler failed",
                exc_info=failure.exception,
                extra={"fields": {"event": delivery.event, "route": names[0]}},
            )
        # 500 makes Channex retry: every handler runs again on the retry.
        await respond(send, 500, {"status": "error", "failed": names})
        return "failed", 500
    await respond(send, 200, {"status": "handled", "handlers": len(result.deliveries)})
    return "handled", 200
