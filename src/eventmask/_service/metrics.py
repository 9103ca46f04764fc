"""Prometheus metrics of receivers and workers, with ``prometheus_client`` (an extra).

What is counted, and the alerts to set on it, are in docs/deployment.md,
"Metrics".  Counters and histograms live in the process that observes them;
``eventmask serve`` runs its workers as child processes, so it turns on
prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, a fresh
directory per run) and a scrape adds up every process's files.  The inbox's
backlog is read from the database at scrape time, so every receiver reports
the same figures whichever process or host wrote them.

Without prometheus_client installed, `metrics()` is None and nothing is
counted: the receiver answers its metrics path 404.
"""

from __future__ import annotations

import bisect
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Final

from .._inbox.interface import Inbox
from .periodic import Later

try:
    import prometheus_client
    from prometheus_client import multiprocess
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.registry import Collector, CollectorRegistry
except ImportError:  # pragma: no cover - depends on the installation
    prometheus_client = None  # type: ignore[assignment]

__all__ = ["DeliveryTally", "Metrics", "exposition", "flush_tallies", "handler_label", "metrics"]

# How often a receiver adds its tally of deliveries to the metrics (DeliveryTally).
FLUSH_EVERY: Final = 1.0

# Acknowledgement latency: a commit's fsync is milliseconds; Channex gives up at 30 s.
ACK_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
HANDLER_BUCKETS: Final = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60)
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """The counters and histograms of one process.

    >>> m = metrics()
    >>> m is None or m.deliveries._name
    'eventmask_deliveries'
    """

    def __init__(self) -> None:
        assert prometheus_client is not None
        # First in the registry, so that a scrape of it (`metrics_app`) flushes the
        # receivers' tallies before it reads their series.
        flusher: Collector = _Tallies()
        prometheus_client.REGISTRY.register(flusher)
        self.deliveries = prometheus_client.Counter(
            "eventmask_deliveries",
            "Requests to the delivery path, by outcome and HTTP status answered.",
            ["outcome", "status"],
        )
        self.refusals = prometheus_client.Counter(
            "eventmask_refusals", "Refused requests, by kind.", ["kind"]
        )
        self.ack_seconds = prometheus_client.Histogram(
            "eventmask_ack_seconds",
            "From a delivery's request to its answer, for deliveries answered 2xx.",
            buckets=ACK_BUCKETS,
        )
        self.attempts = prometheus_client.Counter(
            "eventmask_attempts",
            "Entries processed by workers, by what became of them (done, retry, dead).",
            ["outcome"],
        )
        self.dead_letters = prometheus_client.Counter(
            "eventmask_dead_letters", "Entries that became dead letters."
        )
        self.acks = prometheus_client.Counter(
            "eventmask_revision_acks",
            "Acks of booking revisions sent to Channex, by outcome (acked, gone, retry, paused).",
            ["outcome"],
        )
        self.handler_seconds = prometheus_client.Histogram(
            "eventmask_handler_seconds",
            "Time an entry's handlers took in a worker, by the handlers that ran.",
            ["handler"],
            buckets=HANDLER_BUCKETS,
        )


_metrics: Metrics | None = None


class DeliveryTally:
    """A receiver's deliveries and refusals, counted in plain ints, added to `Metrics` each second.

    In multiprocess mode (``eventmask serve``) each count and each observation is a
    write to a memory-mapped file under a lock: about 10 us a delivery for its counter
    and its latency, measured, against 0.2 us here.  So the receiver counts here and the
    tally is added to the metrics at most `FLUSH_EVERY` seconds later, before any scrape
    of this process, and at shutdown; another receiver process's scrape sees it up to a
    second late (docs/deployment.md, "Metrics").

    >>> import asyncio
    >>> m = metrics()
    >>> async def answered() -> None:  # a receiver counts on its event loop
    ...     if m is not None:
    ...         DeliveryTally(m).count("accepted", 200, 0.004)
    >>> asyncio.run(answered())
    """

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics
        hist = metrics.ack_seconds
        # The histogram's bucket series, to add a count to each at once; prometheus_client
        # has no public call for it, so without them every observation goes through.
        self._bulk = hasattr(hist, "_sum") and hasattr(hist, "_buckets")
        self._bounds: list[float] = list(getattr(hist, "_upper_bounds", ()))
        self._counts: dict[tuple[str, int], int] = {}
        self._refused: dict[str, int] = {}
        self._buckets = [0] * len(self._bounds)
        self._sum = 0.0
        self._later = Later(self.flush, FLUSH_EVERY)
        # A scrape flushes from its own thread while the event loop counts.
        self._lock = threading.Lock()
        _tallies.add(self)

    def count(self, outcome: str, status: int, seconds: float | None) -> None:
        """Count one answer, with its latency when it is one of the histogram's."""
        key = (outcome, status)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            if seconds is not None and self._bulk:
                self._buckets[bisect.bisect_left(self._bounds, seconds)] += 1
                self._sum += seconds
        if seconds is not None and not self._bulk:  # pragma: no cover - prometheus's insides
            self.metrics.ack_seconds.observe(seconds)
        self._later.ask()

    def refused(self, kind: str) -> None:
        """Count one refused request of `kind` (``eventmask_refusals_total``)."""
        with self._lock:
            self._refused[kind] = self._refused.get(kind, 0) + 1
        self._later.ask()

    def flush(self) -> None:
        """Add what was counted since the last flush to the metrics (from any thread)."""
        with self._lock:
            counts, self._counts = self._counts, {}
            refused, self._refused = self._refused, {}
            buckets, self._buckets = self._buckets, [0] * len(self._bounds)
            total, self._sum = self._sum, 0.0
        for (outcome, status), n in counts.items():
            self.metrics.deliveries.labels(outcome, str(status)).inc(n)
        for kind, n in refused.items():
            self.metrics.refusals.labels(kind).inc(n)
        if any(buckets):
            hist = self.metrics.ack_seconds
            hist._sum.inc(total)
            for series, n in zip(hist._buckets, buckets, strict=True):
                if n:
                    series.inc(n)


_tallies: weakref.WeakSet[DeliveryTally] = weakref.WeakSet()


def flush_tallies() -> None:
    """Add every receiver's tally in this process to the metrics, as a scrape does first.

    >>> flush_tallies()
    """
    for tally in list(_tallies):
        tally.flush()


class _Tallies:
    """Flushes the tallies when the default registry is collected; yields no metric."""

    def collect(self) -> Iterator[Any]:
        flush_tallies()
        yield from ()


def metrics() -> Metrics | None:
    """This process's metrics (created on first use), or None without prometheus_client.

    >>> metrics() is metrics()
    True
    """
    global _metrics
    if _metrics is None and prometheus_client is not None:
        _metrics = Metrics()
    return _metrics


def handler_label(handlers: Iterator[Any]) -> str:
    """The label of the handlers that ran for one entry: their names, sorted and joined.

    >>> handler_label(iter([print, len]))
    'len,print'
    """
    names = {getattr(h, "__qualname__", None) or type(h).__name__ for h in handlers}
    return ",".join(sorted(names)) or "none"


class _Backlog:
    """Reads the inbox's counts at scrape time."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    def collect(self) -> Iterator[Any]:
        up = GaugeMetricFamily("eventmask_inbox_up", "1 when the inbox answered the scrape.")
        entries = GaugeMetricFamily(
            "eventmask_inbox_entries", "Inbox entries by state.", labels=["state"]
        )
        oldest = GaugeMetricFamily(
            "eventmask_inbox_oldest_pending_seconds", "Age of the oldest pending entry."
        )
        try:
            stats = self.inbox.stats(done=False)
        except Exception:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for state in ("pending", "claimed", "dead"):
            entries.add_metric([state], stats[state])
        oldest.add_metric([], stats["oldest_pending_age_s"] or 0.0)
        yield from (up, entries, oldest)
        yield from self._revisions()

    def _revisions(self) -> Iterator[Any]:
        """Booking revisions not yet acked, and the age of the oldest (docs/deployment.md)."""
        try:
            status = self.inbox.revision_status()
        except Exception:  # an inbox without revisions, or one that failed just now
            return
        unacked = GaugeMetricFamily(
            "eventmask_revisions_unacked",
            "Booking revisions stored and not yet acked, by state.",
            labels=["state"],
        )
        oldest = GaugeMetricFamily(
            "eventmask_revisions_oldest_unacked_seconds",
            "Age of the oldest booking revision not yet acked (Channex emails at 30 min).",
        )
        for state in ("pending", "dead", "handled_not_acked"):
            unacked.add_metric([state], sum(row[state] for row in status.values()))
        ages = [row["oldest_unacked_age_s"] or 0.0 for row in status.values()]
        oldest.add_metric([], max(ages, default=0.0))
        yield from (unacked, oldest)


class _Local:
    """This process's own metrics, when not in multiprocess mode."""

    def collect(self) -> Iterator[Any]:
        assert prometheus_client is not None
        yield from prometheus_client.REGISTRY.collect()


class _Workers:
    """How many worker processes run, against how many were configured (``eventmask serve``)."""

    def __init__(self, workers: Callable[[], tuple[int, int]]) -> None:
        self.workers = workers

    def collect(self) -> Iterator[Any]:
        running, configured = self.workers()
        up = GaugeMetricFamily("eventmask_workers_running", "Worker processes alive now.")
        want = GaugeMetricFamily("eventmask_workers_configured", "Worker processes asked for.")
        up.add_metric([], running)
        want.add_metric([], configured)
        yield from (up, want)


def exposition(
    inbox: Inbox | None, workers: Callable[[], tuple[int, int]] | None = None
) -> tuple[bytes, str]:
    """The text a scrape gets, and its content type (call it from a thread: it reads the inbox).

    >>> body, kind = exposition(None)
    >>> kind.startswith("text/plain")
    True
    """
    assert prometheus_client is not None
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROC_ENV):
        flush_tallies()  # the default registry, whose collector flushes, is not read here
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Local())
    if inbox is not None:
        backlog: Collector = _Backlog(inbox)
        registry.register(backlog)
    if workers is not None:
        supervised: Collector = _Workers(workers)
        registry.register(supervised)
    return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST
