"""From Channex's feed to an ack after commit: pulling, storing and acknowledging revisions.

`RevisionFlow` is what a worker uses for booking revisions (docs/bookings.md):

* ``fetch``: a booking webhook named a revision; read it and store it (once,
  whoever else stores it);
* ``pull``: read a property's feed (or the whole account's), oldest first,
  through every page, and store every revision once;
* ``ack_due``: send the acks that committed handlers owe.  An ack answered
  404 is final (acknowledged elsewhere, or unknown); a 429 pauses that
  property's acks for the minute Channex's Rate Limits page asks; any other
  failure waits 1, 2, 4 ... up to 300 s and is sent again;
* ``run``: acks every second, and a poll of every configured property every
  `poll_every` seconds with 10% jitter, until stopped.

The client's own retries come first: a call that reaches the flow failed
after them.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

from .._channex.client import ChannexClient
from .._channex.revision import BookingRevision
from .._errors import ChannexError, ChannexNotFound, RevisionError
from .._inbox.interface import Inbox
from .._inbox.revisions import order_key
from .._json import dumps
from .metrics import metrics

__all__ = ["RevisionFlow"]

log = logging.getLogger("eventmask.revisions")

# Channex's Rate Limits page: after a 429, pause the property for a minute.
RATE_LIMIT_PAUSE: Final = 60.0
_MAX_ACK_DELAY: Final = 300.0
# Acks sent at once: Channex has no batch ack, and each is a round trip.
ACKS_IN_FLIGHT: Final = 8
_STORE_CHUNK: Final = 100


def _stored_form(entry: Mapping[str, Any]) -> tuple[str, str | None, bytes, str | None]:
    """(revision id, property id, body, order key) of a feed or revision entry, for the inbox.

    A revision that cannot be read is stored all the same, without an order
    key: its handling makes it a dead letter that names the field.
    """
    attributes = entry.get("attributes")
    fields = attributes if isinstance(attributes, Mapping) else entry
    ident = entry.get("id") or fields.get("id")
    prop = fields.get("property_id")
    try:
        order: str | None = order_key(BookingRevision.from_api(entry))
    except RevisionError:
        order = None
    return str(ident), (prop if isinstance(prop, str) else None), dumps(entry), order


class RevisionFlow:
    """Booking revisions between Channex and an inbox (docs/bookings.md).

    >>> import os, tempfile
    >>> from eventmask.channex import ChannexClient
    >>> from eventmask.inbox import SQLiteInbox
    >>> inbox = SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> client = ChannexClient("http://127.0.0.1:9/api/v1", "key", attempts=1)
    >>> flow = RevisionFlow(inbox, client, properties=["716305c4-561a-4561-a187-7f5b8aeb5920"])
    >>> flow.ack_due()  # no handler has committed a revision yet: no ack is owed
    0
    >>> client.close(); inbox.close()
    """

    def __init__(
        self,
        inbox: Inbox,
        client: ChannexClient,
        *,
        properties: Iterable[str] = (),
        poll_every: float = 60.0,
    ) -> None:
        if not 1.0 <= poll_every < float("inf"):
            raise ValueError(f"poll_every must be at least 1 second, not {poll_every!r}")
        self.inbox = inbox
        self.client = client
        self.properties = tuple(properties)
        self.poll_every = poll_every
        self._paused: dict[str | None, float] = {}
        self._metrics = metrics()

    def fetch(self, revision_id: str) -> int:
        """Read one revision and store it; 1 when it was new.

        Stored in a transaction of its own, not the delivery's: a revision is
        one entry however often it is stored, so nothing needs the two to
        commit together, and no lock is held while the booking handlers run.
        """
        entry = self.client.revision_entry(revision_id)
        return self.inbox.store_revisions([_stored_form(entry)])

    def pull(self, property_id: str | None = None) -> int:
        """Read the feed (one property's, or the account's) and store what is new; how many.

        The poll is recorded in the inbox, failed or not, for ``eventmask
        revisions status``; what was stored before a failure stays stored.
        """
        new = 0
        chunk: list[tuple[Any, ...]] = []
        try:
            for entry in self.client.feed_entries(property_id):
                chunk.append(_stored_form(entry))
                if len(chunk) >= _STORE_CHUNK:
                    new += self._store(chunk)
                    chunk = []
            if chunk:
                new += self._store(chunk)
        except (ChannexError, ValueError) as exc:
            self.inbox.record_poll(property_id, new, str(exc)[:500])
            raise
        self.inbox.record_poll(property_id, new)
        return new

    def _store(self, chunk: Sequence[tuple[Any, ...]]) -> int:
        return self.inbox.store_revisions(chunk)

    def ack_due(self, limit: int = 100) -> int:
        """Send the acks that are due, `ACKS_IN_FLIGHT` at a time; how many went through.

        Each ack is one round trip; sent one by one they bounded the flow at
        about 600 a second against the local stand-in.  What went through is
        recorded in one transaction.
        """
        now = time.monotonic()
        due = [a for a in self.inbox.due_acks(limit) if self._paused.get(a.property_id, 0) <= now]
        if not due:
            return 0
        with ThreadPoolExecutor(ACKS_IN_FLIGHT) as pool:
            answers = list(pool.map(self._send_ack, due))
        settled: list[tuple[str, str, str | None]] = []
        for ack, error in zip(due, answers, strict=True):
            if error is None:
                settled.append((ack.revision_id, "acked", None))
                self._count("acked")
            elif isinstance(error, ChannexNotFound):
                fields = {"revision": ack.revision_id}
                message = "revision %s: Channex has no such revision to ack (404): final"
                log.warning(message, ack.revision_id, extra={"fields": fields})
                settled.append((ack.revision_id, "gone", "404 not_found"))
                self._count("gone")
            else:
                self._count(self._failed(ack, error))
        self.inbox.acks_settled(settled)
        return sum(1 for _, state, _ in settled if state == "acked")

    def _send_ack(self, ack: Any) -> Exception | None:
        try:
            self.client.ack(ack.revision_id)
        except (ChannexError, ValueError) as exc:
            return exc
        return None

    def _count(self, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.acks.labels(outcome).inc()

    def _failed(self, ack: Any, exc: Exception) -> str:
        """Pause the property (429) or try again later; the outcome to count."""
        if isinstance(exc, ChannexError) and exc.status == 429:
            self._paused[ack.property_id] = time.monotonic() + RATE_LIMIT_PAUSE
            self.inbox.pause_acks(ack.property_id, RATE_LIMIT_PAUSE)
            log.warning("property %s: Channex said 429; its acks wait a minute", ack.property_id,
                        extra={"fields": {"property": ack.property_id}})  # fmt: skip
            return "paused"
        delay = min(2.0**ack.attempts, _MAX_ACK_DELAY)
        log.warning("revision %s: ack failed, again in %g s: %s", ack.revision_id, delay, exc,
                    extra={"fields": {"revision": ack.revision_id, "error": str(exc)}})  # fmt: skip
        self.inbox.ack_later(ack.revision_id, delay, str(exc)[:500])
        return "retry"

    def run(self, stop: threading.Event) -> None:
        """Ack every second and poll every `poll_every` seconds (jittered) until `stop`."""
        next_poll = time.monotonic()
        while not stop.is_set():
            try:
                self.ack_due()
                if time.monotonic() >= next_poll:
                    self._poll_all()
                    next_poll = time.monotonic() + self.poll_every * random.uniform(0.9, 1.1)
            except Exception:
                log.exception("revision flow failed; trying again")
            stop.wait(1.0)

    def _poll_all(self) -> None:
        """One poll of each feed: a feed that fails waits for the next round, the others go on."""
        for prop in self.properties or (None,):
            try:
                self.pull(prop)
            except (ChannexError, ValueError) as exc:
                log.warning("feed of %s: poll failed, again in %g s: %s", prop or "the account",
                            self.poll_every, exc, extra={"fields": {"property": prop}})  # fmt: skip
