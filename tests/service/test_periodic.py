"""`Later`: one call a delay after the first ask, on whichever event loop asks."""

from __future__ import annotations

import asyncio

from eventmask._service.periodic import Later


def test_many_asks_make_one_call_and_a_later_ask_another() -> None:
    calls: list[float] = []
    later = Later(lambda: calls.append(asyncio.get_running_loop().time()), 0.05)

    async def asking() -> None:
        start = asyncio.get_running_loop().time()
        for _ in range(1_000):
            later.ask()
        await asyncio.sleep(0.15)
        assert len(calls) == 1
        assert calls[0] - start >= 0.05
        later.ask()
        await asyncio.sleep(0.15)

    asyncio.run(asking())
    assert len(calls) == 2


def test_a_call_pending_on_an_ended_loop_is_armed_again_on_the_next() -> None:
    calls: list[str] = []
    later = Later(lambda: calls.append("called"), 0.05)

    async def ask(wait: float) -> None:
        later.ask()
        await asyncio.sleep(wait)

    asyncio.run(ask(0.0))  # ends before its call is due: that call never comes
    assert calls == []
    asyncio.run(ask(0.15))
    assert calls == ["called"]


def test_outside_an_event_loop_the_action_runs_at_once() -> None:
    calls: list[str] = []
    Later(lambda: calls.append("called"), 60).ask()
    assert calls == ["called"]
