"""The pytest plugin, as a user's project meets it: a test suite in a temporary directory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from ..helpers import python_output

CONFTEST = '''
import pytest
from eventmask import Notification, Router
from eventmask.channex import BookingRevision

PULLED: list[str | None] = []


@pytest.fixture
def eventmask_router() -> Router:
    """The app's router replaces the plugin's empty one."""
    router = Router()

    @router.on("booking")
    def pull(n: Notification) -> None:
        PULLED.append(n.booking.revision_id)

    @router.on("message")
    def broken(n: Notification) -> None:
        raise KeyError("message_thread_id")

    @router.on_revision()
    def save(revision: BookingRevision) -> None:
        PULLED.append(revision.status.value)

    return router
'''

TESTS = """
from eventmask.testing import booking, notification
from conftest import PULLED


def test_stored_then_handled_in_this_thread(eventmask_sender, eventmask_harness, eventmask_inbox):
    done = eventmask_sender.deliver([booking(revision_id="R1")])
    assert done.acknowledged == 1
    assert eventmask_harness.drain()["done"] == 1
    assert PULLED == ["R1"]
    assert eventmask_inbox.stats()["done"] == 1


def test_a_worker_thread(eventmask_worker, eventmask_sender, eventmask_harness):
    eventmask_sender.deliver([booking(revision_id="R2")])
    eventmask_harness.drain()
    assert "R2" in PULLED and eventmask_worker.processed == 1


def test_revisions_from_the_stand_in_are_saved_and_acked(eventmask_channex):
    from eventmask.testing import revision_chain

    chain = revision_chain(property_id="716305c4-561a-4561-a187-7f5b8aeb5920")
    eventmask_channex.channex.add(*chain)
    assert eventmask_channex.pull() == 3
    eventmask_channex.drain()
    assert PULLED[-3:] == ["new", "modified", "cancelled"]
    assert eventmask_channex.channex.acks == {r["id"]: 1 for r in chain}


def test_the_receiver_is_asgi(eventmask_receiver):
    assert eventmask_receiver.inbox is not None and eventmask_receiver.path == "/"


def test_handler_bug_is_visible(eventmask_router):
    from eventmask.testing import deliver

    deliver(eventmask_router, [notification("message")])
"""


def test_a_project_uses_the_fixtures_without_configuration(tmp_path: Path) -> None:
    """Installed eventmask is enough: the fixtures work and a handler bug shows its KeyError."""
    (tmp_path / "conftest.py").write_text(textwrap.dedent(CONFTEST), encoding="utf-8")
    (tmp_path / "test_app.py").write_text(textwrap.dedent(TESTS), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", tmp_path],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout + run.stderr
    assert "1 failed, 4 passed" in out, out
    assert "KeyError: 'message_thread_id'" in out, out
    assert "test_handler_bug_is_visible" in out


def test_the_plugin_loads_nothing_of_eventmask_until_a_fixture_is_used() -> None:
    """Every pytest run of a user loads the plugin: it must not import the receiver or inbox."""
    code = (
        "import sys, eventmask._testing.plugin; "
        "print(sorted(m for m in sys.modules if m.startswith('eventmask.')))"
    )
    loaded = python_output(code)
    assert "eventmask._testing.plugin" in loaded
    for heavy in ("_service", "_inbox", "_routing", "_testing.harness", "_language"):
        assert f"eventmask.{heavy}" not in loaded
