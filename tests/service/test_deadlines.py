"""Deadlines swept by one timer per loop: never early, late by at most a tick, exact
about whose cancellation is whose."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

from eventmask._service.deadlines import TICK, _wheels, deadline

# asyncio runs a timer up to its clock's resolution early.
_TIMER_SLACK = time.get_clock_info("monotonic").resolution

# A loaded 2-core machine can hold a loop up for a while: the bound on lateness
# is a tick plus this, generous on purpose (it is correctness, not speed).
LAG = 0.5


async def _timed(seconds: float, sleep: float) -> tuple[bool, float]:
    """Whether a block sleeping `sleep` under `deadline(seconds)` timed out, and when."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        with deadline(seconds):
            await asyncio.sleep(sleep)
    except TimeoutError:
        return True, loop.time() - start
    return False, loop.time() - start


def test_a_block_past_its_deadline_raises_timeout_error_never_early() -> None:
    async def many() -> list[tuple[float, bool, float]]:
        rng = random.Random(7)
        limits = [rng.uniform(0.01, 0.3) for _ in range(200)]
        results = await asyncio.gather(*(_timed(s, 10) for s in limits))
        return [(s, out, took) for s, (out, took) in zip(limits, results, strict=True)]

    for seconds, timed_out, took in asyncio.run(many()):
        assert timed_out
        assert took >= seconds - _TIMER_SLACK, (seconds, took)
        assert took <= seconds + TICK + LAG, (seconds, took)


def test_a_block_that_finishes_in_time_is_left_alone_afterwards() -> None:
    async def finish_then_wait() -> tuple[bool, float, bool]:
        timed_out, _ = await _timed(0.1, 0.01)
        await asyncio.sleep(0.1 + 3 * TICK)  # past the deadline: nothing cancels this
        loop = asyncio.get_running_loop()
        wheel = _wheels[loop]
        return timed_out, len(wheel.due), wheel.timer is None

    timed_out, pending_ticks, idle = asyncio.run(finish_then_wait())
    assert not timed_out
    assert pending_ticks == 0
    assert idle  # the loop's timer stops when nothing is armed


def test_somebody_elses_cancellation_stays_a_cancellation() -> None:
    async def cancelled_from_outside() -> str:
        async def inner() -> str:
            try:
                with deadline(5):
                    await asyncio.sleep(10)
            except TimeoutError:
                return "timeout"
            return "finished"

        task = asyncio.create_task(inner())
        await asyncio.sleep(0.01)
        task.cancel()
        try:
            return await task
        except asyncio.CancelledError:
            return "cancelled"

    assert asyncio.run(cancelled_from_outside()) == "cancelled"


def test_both_cancellations_at_once_leave_as_a_cancellation() -> None:
    async def both() -> str:
        async def inner() -> str:
            with deadline(0.05):
                try:
                    await asyncio.sleep(10)
                except asyncio.CancelledError:
                    # The deadline's cancel arrived; another one arrives before the block
                    # ends: the task is being cancelled, so the block must not swallow it.
                    current = asyncio.current_task()
                    assert current is not None
                    current.cancel()
                    raise
            return "finished"

        task = asyncio.create_task(inner())
        try:
            return await task
        except asyncio.CancelledError:
            return "cancelled"
        except TimeoutError:
            return "timeout"

    assert asyncio.run(both()) == "cancelled"


def test_arm_moves_the_deadline() -> None:
    async def moved() -> tuple[bool, float]:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            with deadline(0.05) as limit:
                limit.arm(0.4)
                await asyncio.sleep(10)
        except TimeoutError:
            return True, loop.time() - start
        return False, loop.time() - start

    timed_out, took = asyncio.run(moved())
    assert timed_out
    assert took >= 0.4 - _TIMER_SLACK


def test_a_deadline_needs_a_task() -> None:
    with pytest.raises(RuntimeError, match="no running event loop"):
        deadline(1)


def test_loops_in_several_threads_keep_their_own_deadlines() -> None:
    results: list[tuple[bool, float]] = []

    def run(seconds: float) -> None:
        results.append(asyncio.run(_timed(seconds, 10)))

    threads = [threading.Thread(target=run, args=(0.05 * (n + 1),)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all(out for out, _ in results)


def test_a_wheel_idle_for_long_starts_again_at_the_present() -> None:
    async def later() -> tuple[bool, bool]:
        first, _ = await _timed(0.05, 1)
        await asyncio.sleep(5 * TICK)  # idle: the timer stopped
        second, took = await _timed(0.05, 1)
        return first and second, took < 0.05 + TICK + LAG

    assert asyncio.run(later()) == (True, True)
