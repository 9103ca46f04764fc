"""The pool of forked processes behind ``filter --jobs``: answers in order, no process idle.

`Forked` hands tasks to processes and gives the answers back in the order
the tasks were given (tests/cli/test_parallel.py holds whole runs to one
process). Here: that a process which finished its tasks is given more while
the oldest answer is still being worked on, within the pool's bound, and
that what goes wrong in a process reaches the parent.
"""

from __future__ import annotations

import os
import time

import pytest

from eventmask._cli.forked import Forked
from eventmask._errors import ProcessDied

SLOW = 1.0  # seconds the first task takes; every other task is quick


def timed_task(n: int) -> tuple[int, int, float, float]:
    """Task `n` in a process of the pool: (n, the process, when it began, when it ended)."""
    began = time.monotonic()  # one clock for every process of the machine
    time.sleep(SLOW if n == 0 else 0.01)
    return n, os.getpid(), began, time.monotonic()


def test_a_process_is_given_more_while_the_oldest_answer_is_awaited() -> None:
    """With the answers taken in their order only, the second process answered its two
    tasks and then sat idle until the first process's slow task was done."""
    tasks = list(range(12))
    answers = []
    with Forked(timed_task, 2) as pool:

        def refill() -> None:
            while tasks and pool.room:
                pool.submit(tasks.pop(0))

        refill()
        while len(answers) < 12:
            answers.append(pool.next(refill))
            refill()
    assert [n for n, *_ in answers] == list(range(12))
    _, slow_process, _, slow_end = answers[0]
    done_meanwhile = [n for n, pid, _, end in answers[1:] if pid != slow_process and end < slow_end]
    # The bound: at most count * (depth + 1) = 6 tasks given and not yet taken. Task 2
    # waits behind the slow task in its process; the other process does 1 and 3, as
    # before, and now 4 and 5 too.
    assert pool.limit == 6
    assert done_meanwhile == [1, 3, 4, 5], answers


def fail_on_three(n: int) -> int:
    if n == 3:
        raise ValueError("three")
    return n * 10


def test_an_exception_is_raised_in_its_turn_after_the_answers_before_it() -> None:
    with Forked(fail_on_three, 2) as pool:
        for n in range(4):  # two in each process's hands
            pool.submit(n)
        assert [pool.next() for _ in range(3)] == [0, 10, 20]
        with pytest.raises(ValueError, match="three"):
            pool.next()


def die_on_two(n: int) -> int:
    time.sleep(0.2)
    if n == 2:  # after the answers before it, which the parent takes in first
        time.sleep(0.5)
        os._exit(9)
    return n


def test_a_process_that_dies_is_an_error_not_a_hang() -> None:
    started = time.monotonic()
    with Forked(die_on_two, 2) as pool:
        for n in range(4):
            pool.submit(n)
        assert [pool.next(), pool.next()] == [0, 1]
        with pytest.raises(ProcessDied, match="exit 9"):
            pool.next()
    assert time.monotonic() - started < 5
