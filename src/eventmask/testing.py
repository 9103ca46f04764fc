"""Test your Channex handlers without writing JSON by hand (docs/testing.md).

Build notifications in the shapes Channex documents, deliver them the way
Channex does (retries, duplicates, out-of-order arrival) to a router, an
ASGI app or a URL, and run a receiver with a temporary inbox:

>>> from eventmask import Notification, Router
>>> from eventmask.testing import booking_revision, deliver
>>> router = Router()
>>> pulled: list[str | None] = []
>>> @router.on("booking")
... def pull(n: Notification) -> None:
...     pulled.append(n.booking.revision_id)
>>> deliver(router, booking_revision("booking_new", revision_id="R1")).acknowledged
2
>>> pulled
['R1']

Installing eventmask registers a pytest plugin with the fixtures
``eventmask_router``, ``eventmask_harness``, ``eventmask_inbox``,
``eventmask_receiver``, ``eventmask_worker`` and ``eventmask_sender``.
Delivery over HTTP needs httpx: ``pip install 'eventmask[client]'``.
"""

from ._errors import DeliveryFailed
from ._testing.builders import (
    RateForm,
    ari,
    ari_item,
    booking,
    booking_revision,
    matching,
    new_id,
    notification,
)
from ._testing.channex import ChannexFeed, serve_channex
from ._testing.clock import ManualClock
from ._testing.harness import TEST_SETTINGS, Harness, drain, harness
from ._testing.revisions import revision_attributes, revision_chain
from ._testing.sender import Delivered, Notifications, Sender, Sent, deliver

__all__ = [  # noqa: RUF022 - plain sorted order, checked by tests/test_api.py
    "ChannexFeed",
    "Delivered",
    "DeliveryFailed",
    "Harness",
    "ManualClock",
    "Notifications",
    "RateForm",
    "Sender",
    "Sent",
    "TEST_SETTINGS",
    "ari",
    "ari_item",
    "booking",
    "booking_revision",
    "deliver",
    "drain",
    "harness",
    "matching",
    "new_id",
    "notification",
    "revision_attributes",
    "revision_chain",
    "serve_channex",
]
