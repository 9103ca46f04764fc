"""Signal-only ``ari`` notifications answered by reading the values back (docs/ari.md).

A webhook with ``send_data: false`` sends ``{"event": "ari", "property_id": …}``
and no payload: a signal that something changed, with no dates.  The worker
hands such an entry to `AriPull`, which reads the property's restrictions
and availability for its horizon (today and the `days` after it) and gives
the router the notification with those values as its payload.  The same
``ari`` handlers take them, typed as always, so a PMS can turn ``send_data``
off without changing a handler.

- **Coalescing.**  Signals of one property that Channex sent before the
  start of the last read that succeeded are already answered by it: they are
  done without reading again.  This memory is per worker process.
- **Budget.**  Channex allows 10 restrictions reads and 10 availability
  reads a minute per property ("Rate Limits"); a read that would pass that,
  or a 429, fails the attempt, and the property waits a minute: the entry
  stays in the inbox and is retried after its backoff, never dropped.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from .._catalogue import is_uuid
from .._channex.ari import READABLE
from .._channex.client import ChannexClient
from .._errors import ChannexError, NotificationError
from .._routing.values import parse_timestamp

__all__ = ["AriPull", "is_signal"]

# Channex's budget per property and endpoint, and its window (the Rate Limits page).
BUDGET: Final = 10
WINDOW: Final = 60.0
# The read-only restrictions are read too: they are values a handler may want.
_READ: Final = tuple(READABLE)


class AriPull:
    """Reads ARI back for signal-only ``ari`` notifications, within Channex's budget.

    `client` reads; `days` is the horizon after today.  Give it to the
    worker: ``Worker(inbox, router, ari=AriPull(client))``.

    >>> from eventmask.testing import serve_channex
    >>> with serve_channex() as channex, ChannexClient(channex.url, channex.api_key) as client:
    ...     pull = AriPull(client, days=30)
    ...     pull.budget_left("716305c4-561a-4561-a187-7f5b8aeb5920")
    10
    """

    def __init__(
        self,
        client: ChannexClient,
        *,
        days: int = 365,
        clock: Callable[[], float] = time.time,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        if not isinstance(days, int) or not 0 <= days <= 1_000:
            raise ValueError(f"days is a whole number from 0 to 1000, not {days!r}")
        self.client = client
        self.days = days
        self.clock = clock
        self.today = today
        self._lock = threading.Lock()
        self._reads: dict[str, collections.deque[float]] = collections.defaultdict(
            lambda: collections.deque(maxlen=2 * BUDGET)
        )
        self._paused: dict[str, float] = {}
        self._answered: dict[str, float] = {}  # property -> start of its last good read
        self.reads = 0

    def budget_left(self, property_id: str) -> int:
        """How many pulls `property_id` may still make in the current minute."""
        now = self.clock()
        with self._lock:
            return BUDGET - sum(1 for t in self._reads[property_id] if t > now - WINDOW)

    def pull(self, doc: Mapping[str, Any]) -> dict[str, Any] | None:
        """The signal `doc` with the values read as its payload; None when an earlier read
        already answered it (nothing to dispatch).

        Raises `ChannexError` when the read failed or the budget is spent: retried later.
        """
        prop = doc.get("property_id")
        if not is_uuid(prop):
            # No retry can fix it: a dead letter at once, as any unusable notification.
            raise NotificationError("a signal-only ari notification needs the property_id "
                                    "of the property to read", "$.property_id")  # fmt: skip
        assert isinstance(prop, str)
        sent = _sent_at(doc.get("timestamp"))
        with self._lock:
            answered = self._answered.get(prop)
            if answered is not None and sent is not None and sent < answered:
                return None  # a read that started after Channex sent it has its values
            self._spend(prop)
        started = self.clock()
        first = self.today()
        last = first + dt.timedelta(days=self.days)
        try:
            items = self.client.restrictions(prop, first, last, _READ)
            items += self.client.availability(prop, first, last)
        except ChannexError as exc:
            if exc.status == 429:
                with self._lock:
                    self._paused[prop] = self.clock() + WINDOW
            raise
        with self._lock:
            self._answered[prop] = max(started, self._answered.get(prop, started))
        return {**doc, "payload": items}

    def _spend(self, prop: str) -> None:
        """Count the two reads of a pull against the property's budget, or raise."""
        now = self.clock()
        paused = self._paused.get(prop, 0.0)
        if now < paused:
            raise ChannexError(
                f"property {prop} is paused after a 429 for {paused - now:.0f} s more",
                status=429,
            )
        reads = self._reads[prop]
        recent = [t for t in reads if t > now - WINDOW]
        if len(recent) >= BUDGET:
            raise ChannexError(f"property {prop} has used its {BUDGET} reads of the last "
                               "minute; the signal waits for the next", status=429)  # fmt: skip
        reads.append(now)
        self.reads += 1


def is_signal(doc: object) -> bool:
    """Whether `doc` is a signal-only ``ari`` notification (``send_data: false``).

    >>> is_signal({"event": "ari", "property_id": "p"}), is_signal({"event": "ari", "payload": []})
    (True, False)
    """
    return isinstance(doc, Mapping) and doc.get("event") == "ari" and "payload" not in doc


def _sent_at(stamp: object) -> float | None:
    if not isinstance(stamp, str):
        return None
    try:
        return parse_timestamp(stamp).timestamp()
    except ValueError:
        return None
