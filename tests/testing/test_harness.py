"""The harness: a receiver over a temporary inbox, worker threads or none, and drain."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventmask import Notification, Router
from eventmask.testing import TEST_SETTINGS, drain, harness, matching, notification


def test_worker_threads_handle_what_the_receiver_stored(tmp_path: Path) -> None:
    """Two worker threads drain what was delivered; the inbox file lives in `directory`."""
    seen: list[str] = []
    router = Router()
    router.add("booking_new;message", lambda n: seen.append(n.event))
    with harness(router, directory=tmp_path, workers=2) as h:
        h.deliver(matching("booking_new;message") * 3)
        stats = h.drain()
    assert (stats["done"], sorted(seen)) == (2, ["booking_new", "message"])
    assert (tmp_path / "inbox.db").exists()


def test_a_failing_handler_becomes_a_dead_letter_quickly() -> None:
    """TEST_SETTINGS retry within a second: the entry is dead after 3 attempts, error kept."""
    router = Router()

    @router.on("message")
    def broken(n: Notification) -> None:
        raise KeyError("thread")

    with harness(router, workers=0) as h:
        h.deliver([notification("message")])
        stats = h.drain(timeout=5)
        (entry,) = h.inbox.entries("dead")
    assert (stats["dead"], entry.attempts) == (1, TEST_SETTINGS.max_attempts)
    assert "KeyError" in (entry.last_error or "")


def test_drain_times_out_with_the_counts() -> None:
    """Nobody works on a pending entry: TimeoutError says how many were left."""
    with harness(Router(), workers=0) as h:
        h.deliver([notification("message")])
        with pytest.raises(TimeoutError, match="'pending': 1"):
            drain(h.inbox, timeout=0.2)


def test_receiver_options_pass_through() -> None:
    """Options such as `path` reach the Receiver, and the harness's sender posts there."""
    with harness(Router(), path="/channex", max_body=64) as h:
        assert h.sender.path == h.receiver.path == "/channex"
        assert h.deliver([notification("message")], check=False).refused == {413: 1}
        assert h.deliver([b'{"event": "message"}']).acknowledged == 1
    with pytest.raises(ValueError, match="workers"), harness(Router(), workers=-1):
        pass
