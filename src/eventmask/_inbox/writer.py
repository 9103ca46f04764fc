"""The group-commit writer: one thread commits whatever writes are waiting, together.

Concurrent deliveries share one transaction, one commit and one fsync
instead of paying one each, and each event loop waiting on the batch is
woken once, not once per delivery (docs/receiver.md, "The inbox").
"""

from __future__ import annotations

import concurrent.futures
import enum
import queue
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any, Final, NamedTuple, TypeAlias

__all__ = ["GroupWriter", "Waiter", "Write", "WriteKind"]

# The most writes one transaction takes.
BATCH_LIMIT: Final = 512


class WriteKind(enum.Enum):
    """What a queued write asks the writer to do."""

    PUT = "put"  # store a delivery (its result is a PutResult)
    REFUSALS = "refusals"  # add refusal counts and keep samples (a RefusalBatch)
    FLUSH = "flush"  # nothing: resolves once everything queued before it is committed


if TYPE_CHECKING:
    # asyncio (and the ssl it imports) is loaded by whoever awaits a write;
    # an operator command that only reads does not pay for it (about 12 ms).
    import asyncio

# Who waits for a write: a thread's future, or an asyncio future with its loop.
Waiter: TypeAlias = (
    "concurrent.futures.Future[Any] | tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]"
)


class Write(NamedTuple):
    """One queued write: its kind, its arguments and who waits for it."""

    kind: WriteKind
    args: Any
    waiter: Waiter | None


# The writer's commit function: the writes of one batch -> one result per
# write, in order, or an exception for all of them.
Commit = Callable[[Sequence[Write]], list[Any]]

_STOP: Final = object()


class GroupWriter:
    """A thread that commits queued writes in batches through `commit`.

    >>> writer = GroupWriter(lambda batch: [len(batch)] * len(batch), lambda: None)
    >>> writer.submit(WriteKind.FLUSH, ()).result(timeout=5)
    1
    >>> writer.stop()
    """

    def __init__(
        self,
        commit: Commit,
        on_exit: Callable[[], None],
        wrap_error: Callable[[BaseException], BaseException] = lambda exc: exc,
    ) -> None:
        self._commit = commit
        self._on_exit = on_exit
        self._wrap_error = wrap_error
        # SimpleQueue, not Queue: its put is C, without Queue's Condition and its locks
        # (0.2 us a put and get against 3.5 us, on the receiver's path of every delivery).
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.closed = False

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._loop, name="eventmask-inbox-writer", daemon=True
                    )
                    self._thread.start()

    def submit(self, kind: WriteKind, args: Any) -> concurrent.futures.Future[Any]:
        """Queue a write for a thread; the future resolves when it is committed."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._put(Write(kind, args, future))
        return future

    def submit_async(self, kind: WriteKind, args: Any) -> asyncio.Future[Any]:
        """Queue a write for the running event loop; await the result."""
        import asyncio  # loaded already: the caller awaits in a running loop

        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._put(Write(kind, args, (loop, future)))
        return future

    def _put(self, write: Write) -> None:
        self._ensure_thread()
        self._queue.put(write)

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then end the thread."""
        self.closed = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout=timeout)

    def _loop(self) -> None:
        try:
            while True:
                first = self._queue.get()
                if first is _STOP:
                    break
                batch = [first]
                while len(batch) < BATCH_LIMIT:
                    try:
                        more = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        self._queue.put(_STOP)
                        break
                    batch.append(more)
                self._run(batch)
        finally:
            self._on_exit()

    def _run(self, batch: list[Write]) -> None:
        outcomes: list[tuple[Waiter | None, Any, BaseException | None]]
        try:
            results = self._commit(batch)
            outcomes = [(w.waiter, r, None) for w, r in zip(batch, results, strict=True)]
        except BaseException as exc:
            failure = self._wrap_error(exc)
            outcomes = [(w.waiter, None, failure) for w in batch]
        settle(outcomes)


def settle(outcomes: Sequence[tuple[Waiter | None, Any, BaseException | None]]) -> None:
    """Resolve the waiters: thread futures directly, asyncio ones once per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[Any, Any, BaseException | None]]] = {}
    for waiter, value, error in outcomes:
        if waiter is None:
            continue
        if isinstance(waiter, tuple):
            by_loop.setdefault(waiter[0], []).append((waiter[1], value, error))
        elif error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(value)
    for loop, settled in by_loop.items():
        with suppress(RuntimeError):  # a loop that closed meanwhile has nobody waiting
            loop.call_soon_threadsafe(_settle_in_loop, settled)


def _settle_in_loop(settled: list[tuple[Any, Any, BaseException | None]]) -> None:
    for future, value, error in settled:
        if future.done():
            continue  # the request was cancelled (client gone): nothing to tell
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
