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
from typing import Any, Final

from .._errors import NotificationError
from .._inbox.context import DeliveryContext
from .._inbox.interface import Inbox
from .._inbox.revisions import REVISION_ENTRY
from .._inbox.values import SUCCESS, AttemptOutcome, Entry, State
from .._json import loads
from .._routing.router import Router
from .._routing.routes import DispatchResult
from .ari_pull import AriPull, is_signal
from .metrics import handler_label, metrics
from .revision_work import handle_revision, pull_for
from .revisions import RevisionFlow

__all__ = ["Worker"]

log = logging.getLogger("eventmask.worker")


# How much of a traceback `last_error` keeps (the inbox keeps at most 4,000
# characters of the whole description).
_TRACEBACK_LINES: Final = 12


def _traceback(exc: BaseException) -> str:
    """The exception and the innermost frames of its traceback, bounded."""
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(lines).rstrip().splitlines()
    if len(text) > _TRACEBACK_LINES:
        text = [text[0], "  ...", *text[-(_TRACEBACK_LINES - 2) :]]
    return "\n".join(text)


def _final(exc: BaseException) -> bool:
    """Whether a failure is one no retry can fix: the notification fails eventmask's checks."""
    return isinstance(exc, NotificationError)


def _describe(entry: Entry, result: DispatchResult) -> AttemptOutcome:
    """The outcome of a dispatch; every failure logged at ERROR with its traceback."""
    if result.ok:
        return SUCCESS
    parts = []
    for failure in result.errors:
        where = failure.route.name if failure.route is not None else "on_unmatched"
        exc = failure.exception
        fields = {"entry": entry.id, "event": entry.event, "route": where,
                  "attempt": entry.attempts}  # fmt: skip
        log.error("handler failed: %s", where, exc_info=exc, extra={"fields": fields, **fields})
        parts.append(f"{where}: {_traceback(exc)}")
    final = all(_final(f.exception) for f in result.errors)
    return AttemptOutcome("\n".join(parts), final=final)


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
        revisions: RevisionFlow | None = None,
        ari: AriPull | None = None,
    ) -> None:
        if not isinstance(batch, int) or batch < 1:
            raise ValueError(f"batch must be a whole number of at least 1, not {batch!r}")
        if not 0 < idle < float("inf"):
            raise ValueError(f"idle must be a finite number of seconds above 0, not {idle!r}")
        if revisions is not None and not router.revisions.routes:
            raise ValueError(
                "a revision flow needs a handler to save revisions (router.on_revision): "
                "without one every revision would be acknowledged unsaved"
            )
        self.inbox = inbox
        self.router = router
        self.revisions = revisions
        self.ari = ari
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.batch = batch
        self.idle = idle
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.processed = 0
        self._metrics = metrics()

    def _run_async(self, work: Any) -> Any:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        return self._loop.run_until_complete(work)

    def _dispatch(self, entry: Entry, context: DeliveryContext) -> AttemptOutcome:
        del context  # handlers reach it through current_delivery()
        if entry.event == REVISION_ENTRY:
            return handle_revision(entry, self.router.revisions, self._run_async)
        started = time.perf_counter()
        body: Any = entry.body
        try:
            if self.revisions is not None or self.ari is not None:
                body = loads(entry.body)  # read once, for the pulls and for the router
            if self.revisions is not None:
                pulled = pull_for(entry, body, self.revisions, self.router)
                if pulled is not None:
                    return pulled
            if self.ari is not None and is_signal(body):
                body = self.ari.pull(body)  # a ChannexError: retried after the backoff
                if body is None:
                    return SUCCESS  # a later read already gave its values to the handlers
            if self.router.needs_async:
                result = self._run_async(self.router.adispatch(body))
            else:
                result = self.router.dispatch(body)
        except Exception as exc:  # a bad body, or a handler the router refused
            fields = {"entry": entry.id, "event": entry.event, "attempt": entry.attempts}
            log.error("dispatch failed", exc_info=exc, extra={"fields": fields, **fields})
            return AttemptOutcome(f"{type(exc).__name__}: {exc}", final=_final(exc))
        if self._metrics is not None:
            label = handler_label(call.handler for call in result.deliveries)
            self._metrics.handler_seconds.labels(label).observe(time.perf_counter() - started)
        return _describe(entry, result)

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
            fields = {"entry": entry.id, "event": entry.event, "state": state,
                      "attempt": entry.attempts, "worker": self.name}  # fmt: skip
            if self._metrics is not None:
                self._metrics.attempts.labels("retry" if state == "pending" else state).inc()
            if state == "dead":
                if self._metrics is not None:
                    self._metrics.dead_letters.inc()
                log.error("dead letter: %d", entry.id, extra={"fields": fields, **fields})
            else:
                log.info("entry processed", extra={"fields": fields, **fields})
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
