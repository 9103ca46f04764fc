"""Workers: claim inbox entries, dispatch them through the router, mark them done.

A worker runs in its own thread with its own event loop, so async handlers
work as well as sync ones.  Each entry is processed inside a database
transaction that the handlers can write through (`current_delivery()`); the
same transaction marks the entry done, which makes those effects exactly-once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
import traceback
import uuid

from .._inbox.base import SUCCESS, DeliveryContext, Entry, Inbox, Outcome, State
from .._routing.router import Router
from .._routing.routes import DispatchResult

__all__ = ["Worker"]

log = logging.getLogger("eventmask.worker")


def _describe(result: DispatchResult) -> Outcome:
    if result.ok:
        return SUCCESS
    parts = []
    for failure in result.errors:
        where = failure.route.name if failure.route is not None else "on_unmatched"
        exc = failure.exception
        tb = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        parts.append(f"{where}: {tb}")
    return Outcome("; ".join(parts))


class Worker:
    """Drains an inbox through a router.

    >>> import os, tempfile
    >>> from eventmask import Router
    >>> from eventmask.inbox import Envelope, SQLiteInbox
    >>> inbox = SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> seen = []
    >>> router = Router()
    >>> _ = router.add("message", lambda n: seen.append(n.event))
    >>> _ = inbox.put(Envelope.read(b'{"event":"message"}'))
    >>> Worker(inbox, router).run_once()
    1
    >>> seen
    ['message']
    >>> inbox.close()
    """

    def __init__(
        self,
        inbox: Inbox,
        router: Router,
        *,
        name: str | None = None,
        batch: int = 16,
        idle: float = 0.2,
    ) -> None:
        self.inbox = inbox
        self.router = router
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.batch = batch
        self.idle = idle
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.processed = 0

    def _dispatch(self, entry: Entry, context: DeliveryContext) -> Outcome:
        del context  # handlers reach it through current_delivery()
        try:
            if self.router.needs_async:
                if self._loop is None:
                    self._loop = asyncio.new_event_loop()
                result = self._loop.run_until_complete(self.router.adispatch(entry.body))
            else:
                result = self.router.dispatch(entry.body)
        except Exception as exc:  # a bad body, or a handler the router refused
            return Outcome(f"{type(exc).__name__}: {exc}")
        return _describe(result)

    def process(self, entry: Entry) -> State:
        """Process one claimed entry; return its new state.

        >>> Worker.process.__name__
        'process'
        """
        state = self.inbox.process(entry, self.name, lambda ctx: self._dispatch(entry, ctx))
        self._record([entry], [state])
        return state

    def _record(self, entries: list[Entry], states: list[State]) -> None:
        for entry, state in zip(entries, states, strict=True):
            log.info(
                "entry processed",
                extra={
                    "fields": {
                        "id": entry.id,
                        "event": entry.event,
                        "state": state,
                        "attempt": entry.attempts,
                        "worker": self.name,
                    }
                },
            )
        self.processed += len(entries)

    def run_once(self) -> int:
        """Claim and process one batch; return how many entries it processed."""
        entries = self.inbox.claim(self.name, self.batch)
        if not entries:
            return 0
        if self._stop.is_set():
            self.inbox.release(self.name)  # stopping: give them back now
            return 0
        by_id = {entry.id: entry for entry in entries}
        states = self.inbox.process_batch(
            entries,
            self.name,
            lambda ctx: self._dispatch(by_id[ctx.entry_id], ctx),
            stopping=self._stop.is_set,
        )
        self._record(entries, states)
        return len(entries)

    def run(self) -> None:
        """Process entries until `stop` is called."""
        while not self._stop.is_set():
            try:
                if not self.run_once():
                    self.inbox.wait_for_work(self.idle, self._stop)
                else:
                    # Hand the GIL over between batches: in `eventmask serve` the
                    # receiver's event loop shares this process, and acknowledging
                    # deliveries matters more than draining them a little sooner.
                    time.sleep(0.0005)
            except Exception:
                log.exception(
                    "worker loop failed; retrying", extra={"fields": {"worker": self.name}}
                )
                self._stop.wait(1.0)
        self.inbox.release(self.name)

    def start(self) -> Worker:
        """Run in a background thread."""
        self._thread = threading.Thread(
            target=self.run, name=f"eventmask-worker-{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the entry in hand, give back claimed entries, and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._loop is not None and not self._loop.is_running():
            self._loop.close()
            self._loop = None
