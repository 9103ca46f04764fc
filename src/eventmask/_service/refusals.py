"""Refused requests, bounded: counts per minute and kind, a sample, rate-limited logs.

A flood of refused requests (a wrong secret, a scanner) must not fill the
disk or the log.  So each refusal adds to a count per (minute, status,
kind); the newest 1,000 are kept one by one, with the first bytes of a body
that was read; and a kind of refusal is logged at most once per interval,
with the number of refusals since the last line.  With an inbox the counts
and samples reach the database once a second, in one write; without one
(inline mode) they stay in memory (docs/receiver.md, "Facing the internet").
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable
from typing import Any, Final

# In inline mode, counts older than a day are dropped; a minute counts from its start.
from .._inbox.counts import DAY, bucket_of
from .._inbox.interface import Inbox
from .._inbox.values import REFUSAL_SAMPLES, Refusal, RefusalBatch
from .metrics import DeliveryTally
from .periodic import Later

__all__ = ["RefusalLog"]

log = logging.getLogger("eventmask.receiver")

# How long counts wait in memory before they are written, at most.
FLUSH_EVERY: Final = 1.0
# One log line per kind of refusal per this many seconds.
LOG_EVERY: Final = 10.0


class RefusalLog:
    """Counts, samples and logs refusals; writes them to `inbox` (if any) once a second.

    With a `tally`, each refusal is also counted there for ``eventmask_refusals_total``.

    >>> refusals = RefusalLog(None)
    >>> refusals.add(401, "wrong secret", "missing or wrong secret header", "1.2.3.4:5")
    >>> refusals.counted()
    [{'status': 401, 'kind': 'wrong secret', 'count': 1}]
    """

    def __init__(
        self,
        inbox: Inbox | None,
        clock: Callable[[], float] = time.time,
        tally: DeliveryTally | None = None,
    ) -> None:
        self.inbox = inbox
        self.clock = clock
        self._counts: collections.Counter[tuple[float, int, str]] = collections.Counter()
        self._samples: collections.deque[Refusal] = collections.deque(maxlen=REFUSAL_SAMPLES)
        self._unflushed: list[Refusal] = []
        self._later = Later(self.flush, FLUSH_EVERY)
        self._logged: dict[str, tuple[float, int]] = {}  # kind -> (last logged, since then)
        # eventmask_refusals_total goes through the receiver's tally: a flood is counted
        # in plain ints, not with a write to prometheus_client's files per refusal.
        self._tally = tally

    def add(
        self,
        status: int,
        kind: str,
        reason: str,
        remote: str | None,
        body: bytes | None = None,
    ) -> None:
        """Record one refusal (cheap: no I/O here)."""
        now = self.clock()
        refusal = Refusal(now, status, kind, reason, remote, body)
        self._counts[(bucket_of(now), status, kind)] += 1
        if self._tally is not None:
            self._tally.refused(kind)
        if self.inbox is None:
            self._samples.append(refusal)
            self._forget_old(now)
        else:
            self._unflushed.append(refusal)
            if len(self._unflushed) > REFUSAL_SAMPLES:
                del self._unflushed[:-REFUSAL_SAMPLES]
            self._later.ask()
        self._log(refusal)

    def _log(self, refusal: Refusal) -> None:
        last, since = self._logged.get(refusal.kind, (float("-inf"), 0))
        now = time.monotonic()
        if now - last < LOG_EVERY:
            self._logged[refusal.kind] = (last, since + 1)
            return
        self._logged[refusal.kind] = (now, 0)
        fields: dict[str, Any] = {
            "status": refusal.status,
            "kind": refusal.kind,
            "reason": refusal.reason,
            "remote": refusal.remote,
            "refused_since_last_line": since + 1,
        }
        log.warning("request refused: %s", refusal.reason, extra={"fields": fields, **fields})

    def flush(self) -> None:
        """Write the counts and samples gathered since the last flush (one inbox write)."""
        if self.inbox is None or not (self._counts or self._unflushed):
            return
        counts = tuple((b, s, k, n) for (b, s, k), n in self._counts.items())
        batch = RefusalBatch(counts, tuple(self._unflushed))
        self._counts.clear()
        self._unflushed = []
        try:
            self.inbox.record_refusals(batch)
        except Exception:  # recording a refusal must never fail anything else
            log.exception("could not record refusals")

    def _forget_old(self, now: float) -> None:
        if len(self._counts) > 4 * 1440:  # a day of minutes for a few kinds
            oldest = now - DAY
            for key in [k for k in self._counts if k[0] < oldest]:
                del self._counts[key]

    def counted(self, since: float | None = None) -> list[dict[str, Any]]:
        """In inline mode: the counts since `since` (default: the last 24 hours), per kind."""
        cutoff = bucket_of(self.clock() - DAY if since is None else since)
        totals: collections.Counter[tuple[int, str]] = collections.Counter()
        for (bucket, status, kind), n in self._counts.items():
            if bucket >= cutoff:
                totals[(status, kind)] += n
        return [
            {"status": s, "kind": k, "count": n}
            for (s, k), n in sorted(totals.items(), key=lambda x: (-x[1], x[0]))
        ]

    def samples(self, limit: int = 50) -> list[Refusal]:
        """In inline mode: the newest refusals kept, newest first."""
        return list(reversed(self._samples))[:limit]
