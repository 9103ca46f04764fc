"""A receiver over a temporary SQLite inbox, its workers and a sender, for tests.

`harness` is what the pytest fixtures are made of (docs/testing.md); it
works without pytest too.  The inbox retries quickly (`TEST_SETTINGS`), so
a test of a failing handler ends in a dead letter within a second rather
than after hours of production backoff.  With ``channex=True`` it runs the
whole booking revision flow (docs/bookings.md) against the testing kit's
Channex stand-in: webhook, fetch, inbox, revision handler, ack.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

import attrs

from .._inbox.settings import InboxSettings
from .._inbox.sqlite import SQLiteInbox
from .._routing.router import Router
from .._service.receiver import Receiver
from .._service.revisions import RevisionFlow
from .._service.worker import Worker
from .channex import ChannexFeed, serve_channex
from .sender import Delivered, Notifications, Sender

__all__ = ["TEST_SETTINGS", "Harness", "drain", "harness"]

# Production's retry timing, shortened: 3 attempts, 50 ms then 100 ms apart.
TEST_SETTINGS: Final = InboxSettings(max_attempts=3, backoff=0.05, max_backoff=0.2, lease=5.0)


def drain(
    inbox: SQLiteInbox,
    router: Router | None = None,
    timeout: float = 10.0,
    *,
    revisions: RevisionFlow | None = None,
) -> dict[str, Any]:
    """Wait until no entry of `inbox` is pending or claimed; return the inbox's counts.

    With a `router`, a worker runs in this thread meanwhile (no worker
    thread needed); without one, the workers already running do the work.
    With `revisions`, the acks handled revisions owe are sent too (in this
    thread with a `router`), and drained means none is owed that was never
    tried: one that failed waits for its backoff, and `drain` does not.
    Raise `TimeoutError` after `timeout` seconds.

    >>> from eventmask.testing import harness, notification
    >>> from eventmask import Router
    >>> with harness(Router(), workers=0) as h:
    ...     _ = h.deliver([notification("message")])
    ...     drain(h.inbox, h.router)["done"]
    1
    """
    worker = None if router is None else Worker(inbox, router, idle=0.01, revisions=revisions)
    deadline = time.monotonic() + timeout
    while True:
        if worker is not None:
            worker.run_once()
        if revisions is not None and worker is not None:  # else the harness's acker sends them
            revisions.ack_due()
        stats = inbox.stats()
        unsent = revisions is not None and inbox.unsent_acks() > 0
        if stats["pending"] == 0 and stats["claimed"] == 0 and not unsent:
            return stats
        if time.monotonic() > deadline:
            raise TimeoutError(f"the inbox did not drain within {timeout:g} s: {stats}")
        time.sleep(0.01)


_WORKER_LOG: Final = logging.getLogger("eventmask.worker")


class _Failures(logging.Handler):
    """The exceptions handlers raised under the harness's workers, from their ERROR records."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.caught: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.caught.append(record.exc_info[1])

    def raise_them(self) -> None:
        caught, self.caught = self.caught, []
        kinds = {(type(e), str(e)): e for e in caught}  # a retried failure counts once
        if len(kinds) == 1:
            raise next(iter(kinds.values()))
        if kinds:
            errors = [e if isinstance(e, Exception) else RuntimeError(repr(e))
                      for e in kinds.values()]  # fmt: skip
            raise ExceptionGroup(f"{len(errors)} kinds of handler failure", errors)


@attrs.define
class Harness:
    """A router behind a receiver with a temporary inbox; deliver, then `drain`.

    ``sender`` posts to the receiver as Channex does, with the right secret.
    With ``harness(..., channex=True)``, ``channex`` is the Channex stand-in
    the workers fetch revisions from and ack to, and ``revisions`` their flow.

    >>> from eventmask import Router
    >>> with harness(Router()) as h:
    ...     h.deliver([b'{"event": "message"}']).acknowledged
    1
    """

    router: Router
    inbox: SQLiteInbox
    receiver: Receiver
    secret: str
    workers: list[Worker]
    channex: ChannexFeed | None = None
    revisions: RevisionFlow | None = None
    failures: _Failures | None = attrs.field(default=None, repr=False)

    @property
    def sender(self) -> Sender:
        """A `Sender` to the receiver's path, with its secret.

        >>> from eventmask import Router
        >>> with harness(Router()) as h:
        ...     h.sender.headers["x-channex-webhook-secret"] == h.secret
        True
        """
        receiver = self.receiver
        return Sender(receiver, secret=self.secret, header=receiver.header, path=receiver.path)

    def deliver(self, notifications: Notifications, **options: Any) -> Delivered:
        """Deliver to the receiver as Channex does (`Sender.deliver`'s options).

        >>> from eventmask import Router
        >>> with harness(Router()) as h:
        ...     h.deliver([b'{"event": "message"}'], duplicates=1.0).duplicates
        1
        """
        return self.sender.deliver(notifications, **options)

    def drain(self, timeout: float = 10.0) -> dict[str, Any]:
        """Wait until every stored delivery was handled or given up on (`drain`).

        Without worker threads, a worker runs in this thread meanwhile.  Under
        ``harness(..., raise_errors=True)`` it then raises what the handlers
        raised: the exception itself when there was one kind, else an
        `ExceptionGroup` of one of each.

        >>> from eventmask import Router
        >>> with harness(Router(), workers=0) as h:
        ...     _ = h.deliver([b'{"event": "message"}'])
        ...     h.drain()["done"]
        1
        """
        router = None if self.workers else self.router
        stats = drain(self.inbox, router, timeout, revisions=self.revisions)
        if self.failures is not None:
            self.failures.raise_them()
        return stats

    def pull(self, property_id: str | None = None) -> int:
        """Poll the stand-in's feed (one property's, or the account's): how many new revisions.

        >>> from eventmask import Router
        >>> from eventmask.testing import revision_attributes
        >>> router = Router()
        >>> @router.on_revision()
        ... def save(revision): pass
        >>> with harness(router, workers=0, channex=True) as h:
        ...     h.channex.add(revision_attributes(property_id="716305c4-..."))
        ...     h.pull(), h.drain()["done"], len(h.channex.acks)
        (1, 1, 1)
        """
        if self.revisions is None:
            raise RuntimeError("this harness has no Channex: harness(..., channex=True)")
        return self.revisions.pull(property_id)


@contextlib.contextmanager
def harness(
    router: Router,
    *,
    directory: str | os.PathLike[str] | None = None,
    workers: int = 1,
    secret: str | None = None,
    settings: InboxSettings = TEST_SETTINGS,
    channex: ChannexFeed | bool = False,
    clock: Callable[[], float] = time.time,
    raise_errors: bool = False,
    **receiver_options: Any,
) -> Iterator[Harness]:
    """A `Harness` for `router`: inbox file in `directory` (a temporary one if None).

    `workers` worker threads run until the block ends (0: `drain` works in
    the calling thread).  The inbox reads the time from `clock` (a
    `ManualClock` steps past backoffs and the deduplication window); with
    `raise_errors`, `Harness.drain` raises the handlers' own exceptions
    rather than leaving them in the log and the dead letters.
    `receiver_options` go to `Receiver`.  With `channex` (True, or a
    `ChannexFeed` to serve), the stand-in runs on loopback and the workers
    run the booking revision flow against it: a booking delivery fetches
    the revision it names, ``non_acked_booking`` pulls the feed, and each
    revision handled is acked (the router needs an ``on_revision``
    handler).  Needs ``eventmask[server,client]``.

    >>> from eventmask import Router
    >>> with harness(Router(), workers=2) as h:
    ...     len(h.workers), len(h.secret) >= 16
    (2, True)
    """
    if workers < 0:
        raise ValueError(f"workers must be 0 or more, not {workers}")
    with contextlib.ExitStack() as stack:
        if directory is None:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="eventmask-"))
        inbox = SQLiteInbox(os.path.join(directory, "inbox.db"), settings, clock=clock)
        stack.callback(inbox.close)
        secret = secret or secrets.token_urlsafe(24)
        receiver = Receiver(router, secrets=[secret], inbox=inbox, **receiver_options)
        receiver.started = True  # the harness runs the workers itself, with no lifespan
        stack.callback(receiver.flush)  # before the inbox closes
        feed, flow = _channex(stack, inbox, channex, acker=workers > 0)
        started = [Worker(inbox, router, idle=0.01, revisions=flow).start() for _ in range(workers)]
        for worker in started:
            stack.callback(worker.stop)
        failures = _Failures() if raise_errors else None
        if failures is not None:
            _WORKER_LOG.addHandler(failures)
            stack.callback(_WORKER_LOG.removeHandler, failures)
        yield Harness(router, inbox, receiver, secret, started, feed, flow, failures)


def _channex(
    stack: contextlib.ExitStack, inbox: SQLiteInbox, channex: ChannexFeed | bool, *, acker: bool
) -> tuple[ChannexFeed | None, RevisionFlow | None]:
    """The stand-in served, a client and a revision flow; with `acker`, a thread sending the
    acks every 20 ms (production's flow sends them every second)."""
    if channex is False:
        return None, None
    from .._channex.client import ChannexClient

    feed = stack.enter_context(serve_channex(None if channex is True else channex))
    client = stack.enter_context(ChannexClient(feed.url, feed.api_key, attempts=3, backoff=0.01))
    flow = RevisionFlow(inbox, client)
    if acker:
        stop = threading.Event()
        thread = threading.Thread(target=_ack_loop, args=(flow, stop), daemon=True)
        thread.start()
        stack.callback(thread.join, 10)
        stack.callback(stop.set)
    return feed, flow


def _ack_loop(flow: RevisionFlow, stop: threading.Event) -> None:
    while not stop.wait(0.02):
        flow.ack_due()
