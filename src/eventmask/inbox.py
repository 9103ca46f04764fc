"""The durable inbox and its workers.

>>> import os, tempfile
>>> from eventmask import Router
>>> from eventmask.inbox import Envelope, SQLiteInbox, Worker
>>> inbox = SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
>>> _ = inbox.put(Envelope.read(b'{"event": "message"}'))
>>> Worker(inbox, Router()).run_once()
1
>>> inbox.close()

`open_inbox` takes a file path, ``sqlite:///PATH`` or ``postgresql://...``;
`PostgresInbox` needs ``pip install 'eventmask[postgres]'`` and is imported
on first use (docs/receiver.md, docs/deployment.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._envelope import Envelope
from ._errors import InboxError, InboxUnavailable, NotAnInbox
from ._inbox.context import DeliveryContext, current_delivery, delivery_context
from ._inbox.factory import open_inbox
from ._inbox.interface import Inbox
from ._inbox.queries import AttemptRecord, DeadGroup, EntryPage, EntryQuery, Timeline
from ._inbox.settings import InboxSettings
from ._inbox.sqlite import SQLiteInbox
from ._inbox.values import AttemptOutcome, Entry, PutResult
from ._service.ari_pull import AriPull
from ._service.worker import Worker

if TYPE_CHECKING:
    from ._inbox.postgres import PostgresInbox
    from ._inbox.values import AttemptOutcome as Outcome  # noqa: F401 - renamed, deprecated

__all__ = [
    "AriPull",
    "AttemptOutcome",
    "AttemptRecord",
    "DeadGroup",
    "DeliveryContext",
    "Entry",
    "EntryPage",
    "EntryQuery",
    "Envelope",
    "Inbox",
    "InboxError",
    "InboxSettings",
    "InboxUnavailable",
    "NotAnInbox",
    "PostgresInbox",
    "PutResult",
    "SQLiteInbox",
    "Timeline",
    "Worker",
    "current_delivery",
    "delivery_context",
    "open_inbox",
]


# Hidden from type checkers, which see the import above: a visible
# `__getattr__` would type every misspelt name as its return type.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        # PostgresInbox needs psycopg (eventmask[postgres]): imported on first use.
        if name == "PostgresInbox":
            from ._inbox.postgres import PostgresInbox

            return PostgresInbox
        from ._deprecated import renamed

        return renamed(__name__, name, globals().__getitem__)
