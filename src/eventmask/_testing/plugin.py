"""The pytest plugin of eventmask: fixtures for testing handlers (docs/testing.md).

Registered through the ``pytest11`` entry point, so installing eventmask is
enough.  Only pytest's own names are imported up front: the fixtures import
eventmask's receiver and inbox when a test first asks for one.

Fixtures: ``eventmask_router`` (override it in your conftest.py to return
your app's router), ``eventmask_harness``, ``eventmask_inbox``,
``eventmask_receiver``, ``eventmask_worker``, ``eventmask_sender`` and
``eventmask_channex`` (the booking revision flow against a Channex stand-in).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .._inbox.sqlite import SQLiteInbox
    from .._routing.router import Router
    from .._service.receiver import Receiver
    from .._service.worker import Worker
    from .harness import Harness
    from .sender import Sender


@pytest.fixture
def eventmask_router() -> Router:
    """The router under test: an empty one unless your conftest.py overrides this fixture."""
    from .._routing.router import Router

    return Router()


@pytest.fixture
def eventmask_harness(eventmask_router: Router, tmp_path: Path) -> Iterator[Harness]:
    """`eventmask_router` behind a receiver with a temporary SQLite inbox; no worker thread."""
    from .harness import harness

    with harness(eventmask_router, directory=tmp_path, workers=0) as made:
        yield made


@pytest.fixture
def eventmask_channex(eventmask_router: Router, tmp_path: Path) -> Iterator[Harness]:
    """A harness that also runs the booking revision flow against the Channex stand-in
    (``harness(eventmask_router, workers=0, channex=True)``); ``.channex`` is the stand-in."""
    from .harness import harness

    directory = tmp_path / "channex"  # its own inbox, beside eventmask_harness's
    directory.mkdir(exist_ok=True)
    with harness(eventmask_router, directory=directory, workers=0, channex=True) as h:
        yield h


@pytest.fixture
def eventmask_inbox(eventmask_harness: Harness) -> SQLiteInbox:
    """The harness's temporary SQLite inbox (closed after the test)."""
    return eventmask_harness.inbox


@pytest.fixture
def eventmask_receiver(eventmask_harness: Harness) -> Receiver:
    """The ASGI receiver of the harness: `eventmask_router` over `eventmask_inbox`."""
    return eventmask_harness.receiver


@pytest.fixture
def eventmask_worker(eventmask_harness: Harness) -> Iterator[Worker]:
    """A worker thread draining `eventmask_inbox` through `eventmask_router` (stopped after)."""
    from .._service.worker import Worker

    worker = Worker(eventmask_harness.inbox, eventmask_harness.router, idle=0.01).start()
    eventmask_harness.workers.append(worker)
    yield worker
    worker.stop()


@pytest.fixture
def eventmask_sender(eventmask_harness: Harness) -> Sender:
    """Delivers to `eventmask_receiver` as Channex does, with the receiver's secret."""
    return eventmask_harness.sender
