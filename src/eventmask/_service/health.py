"""``GET /health``: whether the receiver can store a delivery right now.

The public answer says only ``ok`` (200) or ``unavailable`` (503), for load
balancers; a request that carries a valid secret also gets the reason and
the inbox's counts.  Both questions go to a thread with a time limit, so a
database that hangs cannot stall the event loop that acknowledges deliveries.
"""

from __future__ import annotations

import asyncio
from typing import Any

from .._inbox.base import Health, Inbox

__all__ = ["health"]


async def health(inbox: Inbox | None, authenticated: bool, timeout: float) -> tuple[int, Any]:
    """The status and the JSON document of a health answer.

    >>> asyncio.run(health(None, False, 1.0))
    (200, {'status': 'ok'})
    """
    if inbox is None:
        return 200, ({"status": "ok", "mode": "inline"} if authenticated else {"status": "ok"})
    try:
        state = await asyncio.wait_for(asyncio.to_thread(inbox.health), timeout)
    except TimeoutError:
        state = Health(False, f"the inbox did not answer within {timeout:g} s")
    doc: dict[str, Any] = {"status": "ok" if state.ok else "unavailable"}
    if authenticated:
        if state.reason:
            doc["reason"] = state.reason
        try:
            doc["inbox"] = await asyncio.wait_for(
                asyncio.to_thread(inbox.stats, done=False), timeout
            )
        except Exception as exc:  # the counts are extra; the verdict stands without them
            doc["inbox_error"] = str(exc) or type(exc).__name__
    return (200 if state.ok else 503), doc
