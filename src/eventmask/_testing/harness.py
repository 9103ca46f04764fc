"""A receiver over a temporary SQLite inbox, its workers and a sender, for tests.

`harness` is what the pytest fixtures are made of (docs/testing.md); it
works without pytest too.  The inbox retries quickly (`TEST_SETTINGS`), so
a test of a failing handler ends in a dead letter within a second rather
than after hours of production backoff.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from typing import Any, Final

import attrs

from .._inbox.settings import InboxSettings
from .._inbox.sqlite import SQLiteInbox
from .._routing.router import Router
from .._service.receiver import Receiver
from .._service.worker import Worker
from .sender import Delivered, Notifications, Sender

__all__ = ["TEST_SETTINGS", "Harness", "drain", "harness"]

# Production's retry timing, shortened: 3 attempts, 50 ms then 100 ms apart.
TEST_SETTINGS: Final = InboxSettings(max_attempts=3, backoff=0.05, max_backoff=0.2, lease=5.0)


def drain(
    inbox: SQLiteInbox, router: Router | None = None, timeout: float = 10.0
) -> dict[str, Any]:
    """Wait until no entry of `inbox` is pending or claimed; return the inbox's counts.

    With a `router`, a worker runs in this thread meanwhile (no worker
    thread needed); without one, the workers already running do the work.
    Raise `TimeoutError` after `timeout` seconds.

    >>> from eventmask.testing import harness, notification
    >>> from eventmask import Router
    >>> with harness(Router(), workers=0) as h:
    ...     _ = h.deliver([notification("message")])
    ...     drain(h.inbox, h.router)["done"]
    1
    """
    worker = Worker(inbox, router, idle=0.01) if router is not None else None
    deadline = time.monotonic() + timeout
    while True:
        if worker is not None:
            worker.run_once()
        stats = inbox.stats()
        if stats["pending"] == 0 and stats["claimed"] == 0:
            return stats
        if time.monotonic() > deadline:
            raise TimeoutError(f"the inbox did not drain within {timeout:g} s: {stats}")
        time.sleep(0.01)


@attrs.define
class Harness:
    """A router behind a receiver with a temporary inbox; deliver, then `drain`.

    ``sender`` posts to the receiver as Channex does, with the right secret.

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

        Without worker threads, a worker runs in this thread meanwhile.

        >>> from eventmask import Router
        >>> with harness(Router(), workers=0) as h:
        ...     _ = h.deliver([b'{"event": "message"}'])
        ...     h.drain()["done"]
        1
        """
        return drain(self.inbox, None if self.workers else self.router, timeout)


@contextlib.contextmanager
def harness(
    router: Router,
    *,
    directory: str | os.PathLike[str] | None = None,
    workers: int = 1,
    secret: str | None = None,
    settings: InboxSettings = TEST_SETTINGS,
    **receiver_options: Any,
) -> Iterator[Harness]:
    """A `Harness` for `router`: inbox file in `directory` (a temporary one if None).

    `workers` worker threads run until the block ends (0: `drain` works in
    the calling thread).  `receiver_options` go to `Receiver`.

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
        inbox = SQLiteInbox(os.path.join(directory, "inbox.db"), settings)
        stack.callback(inbox.close)
        secret = secret or secrets.token_urlsafe(24)
        receiver = Receiver(router, secrets=[secret], inbox=inbox, **receiver_options)
        stack.callback(receiver.refusals.flush)  # before the inbox closes
        started = [Worker(inbox, router, idle=0.01).start() for _ in range(workers)]
        for worker in started:
            stack.callback(worker.stop)
        yield Harness(router, inbox, receiver, secret, started)
