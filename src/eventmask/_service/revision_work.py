"""What a worker does with booking revisions: hand them to typed handlers, pull for webhooks.

Kept apart from `worker.py`, which dispatches deliveries to the router; both
run inside the entry's transaction (docs/bookings.md, "The flow").
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from .._catalogue import Catalogue
from .._channex.revision import BookingRevision
from .._envelope import revision_id
from .._errors import ChannexError, ChannexNotFound, InvalidJSON, RevisionError
from .._inbox.values import AttemptOutcome, Entry
from .._json import loads
from .._routing.revisions import RevisionHandlers
from .._routing.router import Router
from .revisions import RevisionFlow

__all__ = ["handle_revision", "pull_for"]

log = logging.getLogger("eventmask.revisions")


def handle_revision(
    entry: Entry, handlers: RevisionHandlers, run_async: Callable[[Any], Any]
) -> AttemptOutcome:
    """Run the revision handlers of a revision entry; a revision that cannot be read is final.

    Success marks the entry done, and in the same transaction records the
    ack it owes Channex: sent only after that commit.  (The inbox engine has
    already put a booking's revisions in ``inserted_at`` order.)
    """
    try:
        revision = BookingRevision.from_api(loads(entry.body))
    except (RevisionError, InvalidJSON) as exc:
        fields = {"entry": entry.id, "error": str(exc)}
        log.error("revision not usable: %s", exc, extra={"fields": fields})
        return AttemptOutcome(str(exc), final=True)  # a dead letter: never acknowledged
    if handlers.needs_async:
        failures = run_async(handlers.arun(revision))
    else:
        failures = handlers.run(revision)
    if not failures:
        return AttemptOutcome()
    parts = []
    for failure in failures:
        name = getattr(failure.handler, "__qualname__", repr(failure.handler))
        fields = {"entry": entry.id, "revision": revision.id, "handler": name}
        log.error("revision handler failed: %s", name, exc_info=failure.exception,
                  extra={"fields": fields})  # fmt: skip
        parts.append(f"{name}: {type(failure.exception).__name__}: {failure.exception}")
    return AttemptOutcome(f"revision {revision.id}: " + "\n".join(parts))


def pull_for(entry: Entry, doc: Any, flow: RevisionFlow, router: Router) -> AttemptOutcome | None:
    """For a booking delivery: store the revision it names; for ``non_acked_booking``,
    pull its property's feed.  An AttemptOutcome when that failed (retried with backoff).

    A revision Channex answers 404 for is logged and let go: no retry brings
    it back, and were it real the feed polls would still find it
    (docs/bookings.md, "Decisions").
    """
    catalogue = router.catalogue or Catalogue.default()
    if not isinstance(doc, Mapping) or catalogue.family(entry.event) != "booking":
        return None
    payload = doc.get("payload")
    named = revision_id(payload, strict=False) if isinstance(payload, Mapping) else None
    try:
        if named is not None:
            _fetch(flow, named, entry)
        if entry.event == "non_acked_booking":
            prop = doc.get("property_id")
            flow.pull(prop if isinstance(prop, str) else None)
    except (ChannexError, ValueError) as exc:  # retried after the inbox's backoff
        return AttemptOutcome(f"pulling revision {named or '(feed)'}: {exc}")
    return None


def _fetch(flow: RevisionFlow, named: str, entry: Entry) -> None:
    try:
        flow.fetch(named)
    except ChannexNotFound:
        fields = {"entry": entry.id, "revision": named}
        log.warning("revision %s named by entry %s: Channex has no such revision (404)",
                    named, entry.id, extra={"fields": fields})  # fmt: skip
