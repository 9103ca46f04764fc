"""``GET /health``: what a delivery would get now, and whether processing keeps up.

The status code says what a delivery would be answered: 200 when it would
be stored, 503 when it would not (for load balancers).  The body's
``status`` adds processing: ``degraded`` when fewer worker processes run
than were configured, or the oldest pending entry is older than
``stale_after``, or no lifespan ever started the receiver (a mounted
receiver without `lifespan`: docs/embedding.md): deliveries are still
stored, but nobody handles them.  A request that carries a valid secret also gets
the reasons and the inbox's counts.  Every question goes to a thread with a
time limit, so a database that hangs cannot stall the event loop that
acknowledges deliveries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .._inbox.interface import Inbox
from .._inbox.values import Health

__all__ = ["health"]


async def health(
    inbox: Inbox | None,
    authenticated: bool,
    timeout: float,
    *,
    workers: Callable[[], tuple[int, int]] | None = None,
    stale_after: float | None = None,
    started: bool = True,
    not_started: str = "no lifespan started the receiver",
) -> tuple[int, Any]:
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
    issues = [] if started else [not_started]
    if workers is not None:
        running, configured = workers()
        if running < configured:
            issues.append(f"{running} of {configured} worker processes running")
    stats: dict[str, Any] | None = None
    error: str | None = None
    if authenticated or (state.ok and stale_after is not None):
        try:
            stats = await asyncio.wait_for(asyncio.to_thread(inbox.stats, done=False), timeout)
        except Exception as exc:  # the counts are extra; the verdict stands without them
            error = str(exc) or type(exc).__name__
    oldest = (stats or {}).get("oldest_pending_age_s")
    if stale_after is not None and oldest is not None and oldest > stale_after:
        issues.append(f"the oldest pending entry is {oldest:.0f} s old (bound: {stale_after:g} s)")
    verdict = "unavailable" if not state.ok else "degraded" if issues else "ok"
    doc: dict[str, Any] = {"status": verdict}
    if authenticated:
        if state.reason:
            doc["reason"] = state.reason
        if issues:
            doc["problems"] = issues
        if stats is not None:
            doc["inbox"] = stats
        if error is not None:
            doc["inbox_error"] = error
    return (200 if state.ok else 503), doc
