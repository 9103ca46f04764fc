"""Forked processes that answer tasks in the order they were given (``filter --jobs``).

Neither of the standard library's pools fits.  Stopping a
`concurrent.futures.ProcessPoolExecutor` early (at a bad line, Ctrl-C, or a
closed pipe) races its threads on Python 3.11: in about one run in ten a
run hung, or printed a traceback at exit.  `multiprocessing.Pool` never
answers a task whose process was killed.  Here the parent has no threads.
Each process has one pipe, and the parent waits on the pipes of every
process with tasks in hand and on the processes themselves, so a killed
process is an error at once.  It takes in each answer as it comes and keeps
the ones ahead of their turn, so that a process is given more work while
the oldest answer is still being worked on.  Stopping early is terminating
the processes.

A pool given `split` takes the bulk of each answer (the lines a piece
selected) out of it: the process writes the bulk to a file in memory
(`os.memfd_create`) and passes that file's descriptor after the answer, so
the parent copies the bulk to its output with `sendfile` and never reads
it (where no such file can be made, the bulk goes in the answer).  A
process is never held up by its bulk: through a pipe, a process that
finished a piece early waited for the parent to take in the pieces before
it.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from .._errors import ProcessDied

if TYPE_CHECKING:
    import socket
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

__all__ = ["Forked"]

T = TypeVar("T")
R = TypeVar("R")


def _serve(
    conn: Connection, work: Callable[[T], R], split: Callable[[R], tuple[R, bytes]] | None
) -> None:
    """A process's life: answer each task sent on `conn`, until None or the parent's end.

    With `split`, an answer with a bulk is followed on `conn` by the descriptor
    of a file in memory that holds the bulk."""
    import signal

    # Ctrl-C reaches the whole process group: the parent stops the run, and a
    # process must not print a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return  # the parent is gone
        if task is None:
            return
        held = -1
        try:
            done = work(task)
            inline: bytes | None = None  # a bulk sent in the answer itself
            if split is not None:
                done, bulk = split(done)
                held = _in_memory(bulk) if bulk else -1
                inline = bulk if bulk and held < 0 else None
            answer: tuple[bool, object, bool | bytes | None] = (True, done, held >= 0 or inline)
        except Exception as exc:  # handed to the parent, which raises it
            answer = (False, exc, None)
        try:
            conn.send(answer)
            if held >= 0:
                from multiprocessing.reduction import sendfds

                with _socket_of(conn) as sock:
                    sendfds(sock, [held])
        except OSError:
            return  # the parent is gone, or stopped the run
        finally:
            if held >= 0:
                os.close(held)


def _in_memory(bulk: bytes) -> int:
    """A file in memory holding `bulk`; -1 where the system makes none (a kernel or a
    sandbox without memfd_create, memory short): the bulk then goes in the answer."""
    try:
        fd = os.memfd_create("eventmask-piece", os.MFD_CLOEXEC)
    except (OSError, AttributeError):
        return -1
    try:
        view = memoryview(bulk)
        while view:
            view = view[os.write(fd, view) :]
    except OSError:
        os.close(fd)
        return -1
    return fd


def _socket_of(conn: Connection) -> socket.socket:
    """The Unix socket under `conn` (a duplex `Pipe`), to pass descriptors on."""
    import socket

    return socket.socket(fileno=os.dup(conn.fileno()))


class Forked(Generic[T, R]):
    """`count` forked processes running `work`, each holding at most `depth` tasks.

    Answers come back in the order the tasks were given.  Used as a context
    manager: leaving it normally ends the processes once they are idle, and
    leaving it by an exception terminates them at once.

    >>> with Forked(abs, 2) as pool:
    ...     for n in (-1, -2, -3):
    ...         pool.submit(n)
    ...     [pool.next() for _ in range(3)]
    [1, 2, 3]
    """

    def __init__(
        self,
        work: Callable[[T], R],
        count: int,
        depth: int = 2,
        *,
        split: Callable[[R], tuple[R, bytes]] | None = None,
    ) -> None:
        self.work = work
        self.count = count
        self.depth = depth
        self.split = split  # in a process: an answer -> (what is sent, its bulk)
        # With `split`: the file in memory holding the latest answer's bulk (-1:
        # none), open until the next answer or the end of the pool; or the bulk
        # itself, where the process could not make the file.
        self.bulk: int | bytes = -1
        self.procs: list[BaseProcess] = []
        self.conns: list[Connection] = []
        self.held = [0] * count  # tasks given to each process and not yet answered
        self.order: deque[int] = deque()  # the process of each task not yet taken, oldest first
        # Answers taken in ahead of their turn, per process, in its order: (ok, value, bulk).
        self.early: list[deque[tuple[bool, object, int | bytes]]] = [deque() for _ in range(count)]
        # The tasks given and not yet taken by `next`, answered or not, are at most this
        # many: answers taken in early wait here, each bulk in its file in memory.
        self.limit = count * (depth + 1)

    def __enter__(self) -> Forked[T, R]:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        for _ in range(self.count):
            ours, theirs = context.Pipe(duplex=True)
            proc = context.Process(target=_serve, args=(theirs, self.work, self.split), daemon=True)
            proc.start()
            theirs.close()
            self.procs.append(proc)
            self.conns.append(ours)
        return self

    @property
    def room(self) -> bool:
        """Whether a process can take another task."""
        return min(self.held) < self.depth and len(self.order) < self.limit

    def submit(self, task: T) -> None:
        """Give `task` to the process holding the fewest (there must be `room`)."""
        index = self.held.index(min(self.held))
        assert self.room, "submit only while there is room"
        self.conns[index].send(task)
        self.held[index] += 1
        self.order.append(index)

    def next(self, refill: Callable[[], None] | None = None) -> R:
        """The answer to the oldest task not yet taken; raise the task's exception, or
        `ProcessDied` if a process ended with tasks in hand.

        Meanwhile the other processes' answers are taken in as they come, and
        `refill` is called after each, so that a process that finished its
        tasks is given more instead of waiting for the oldest answer: with the
        answers taken in their order only, a process sat idle while the other
        finished a piece before its own (docs/filter.md, "Several cores")."""
        from multiprocessing.connection import wait

        self._let_go()
        index = self.order[0]
        while not self.early[index]:
            busy = [n for n, held in enumerate(self.held) if held]
            assert self.held[index], "the oldest task is answered or in its process's hands"
            ready = wait([self.conns[n] for n in busy] + [self.procs[n].sentinel for n in busy])
            for n in busy:
                if self.conns[n] in ready or self.procs[n].sentinel in ready:
                    self.early[n].append(self._take(n))
            if refill is not None:
                refill()
        self.order.popleft()
        ok, value, bulk = self.early[index].popleft()
        self.bulk = bulk
        if not ok:
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[return-value]

    def _take(self, index: int) -> tuple[bool, object, int | bytes]:
        """Receive process `index`'s next answer (it is ready, or the process has ended)."""
        conn, proc = self.conns[index], self.procs[index]
        try:
            if not conn.poll():
                raise EOFError
            ok, value, bulk = conn.recv()
            held: int | bytes = -1
            if bulk is True:
                from multiprocessing.reduction import recvfds

                with _socket_of(conn) as sock:
                    held = recvfds(sock, 1)[0]
            elif bulk is not None:
                held = bulk
        except (EOFError, OSError):
            proc.join(1)
            raise ProcessDied(
                f"a filter process stopped unexpectedly (exit {proc.exitcode})"
            ) from None
        self.held[index] -= 1
        return ok, value, held

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for conn, proc in zip(self.conns, self.procs, strict=True):
            if kind is None and proc.is_alive():
                with contextlib.suppress(OSError):
                    conn.send(None)  # done: it ends once it has read this
            else:
                proc.terminate()  # stopped early: no waiting for the pieces in flight
        for conn, proc in zip(self.conns, self.procs, strict=True):
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join()
            conn.close()
        self._let_go()
        for early in self.early:  # answers taken in and never asked for (stopped early)
            for _, _, bulk in early:
                _close(bulk)
            early.clear()

    def _let_go(self) -> None:
        _close(self.bulk)
        self.bulk = -1


def _close(bulk: int | bytes) -> None:
    """Close the file in memory holding an answer's bulk, if it is one (-1: none)."""
    if isinstance(bulk, int) and bulk >= 0:
        os.close(bulk)
