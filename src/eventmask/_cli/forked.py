"""Forked processes that answer tasks in the order they were given (``filter --jobs``).

Neither of the standard library's pools fits.  Stopping a
`concurrent.futures.ProcessPoolExecutor` early (at a bad line, Ctrl-C, or a
closed pipe) races its threads on Python 3.11: in about one run in ten a
run hung, or printed a traceback at exit.  `multiprocessing.Pool` never
answers a task whose process was killed.  Here the parent has no threads.
Each process has one pipe, and the parent waits on the pipe of the answer
it needs next and on the process itself, so a killed process is an error at
once.  Stopping early is terminating the processes.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Generic, TypeVar

from .._errors import ProcessDied

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

__all__ = ["Forked"]

T = TypeVar("T")
R = TypeVar("R")


def _serve(conn: Connection, work: Callable[[T], R]) -> None:
    """A process's life: answer each task sent on `conn`, until None or the parent's end."""
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
        try:
            answer: tuple[bool, object] = (True, work(task))
        except Exception as exc:  # handed to the parent, which raises it
            answer = (False, exc)
        conn.send(answer)


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

    def __init__(self, work: Callable[[T], R], count: int, depth: int = 2) -> None:
        self.work = work
        self.count = count
        self.depth = depth
        self.procs: list[BaseProcess] = []
        self.conns: list[Connection] = []
        self.held = [0] * count  # tasks given to each process and not yet answered
        self.order: deque[int] = deque()  # the process of each unanswered task, oldest first

    def __enter__(self) -> Forked[T, R]:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        for _ in range(self.count):
            ours, theirs = context.Pipe(duplex=True)
            proc = context.Process(target=_serve, args=(theirs, self.work), daemon=True)
            proc.start()
            theirs.close()
            self.procs.append(proc)
            self.conns.append(ours)
        return self

    @property
    def room(self) -> bool:
        """Whether a process can take another task."""
        return min(self.held) < self.depth

    def submit(self, task: T) -> None:
        """Give `task` to the process holding the fewest (there must be `room`)."""
        index = self.held.index(min(self.held))
        assert self.held[index] < self.depth, "submit only while there is room"
        self.conns[index].send(task)
        self.held[index] += 1
        self.order.append(index)

    def next(self) -> R:
        """The answer to the oldest unanswered task; raise the task's exception, or
        `ProcessDied` if its process ended first."""
        from multiprocessing.connection import wait

        index = self.order.popleft()
        conn, proc = self.conns[index], self.procs[index]
        wait([conn, proc.sentinel])
        try:
            if not conn.poll():
                raise EOFError
            ok, value = conn.recv()
        except (EOFError, OSError):
            proc.join(1)
            raise ProcessDied(
                f"a filter process stopped unexpectedly (exit {proc.exitcode})"
            ) from None
        self.held[index] -= 1
        if not ok:
            assert isinstance(value, BaseException)
            raise value
        return value  # type: ignore[no-any-return]

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
