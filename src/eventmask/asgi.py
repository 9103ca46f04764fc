"""The webhook receiver as an ASGI application, and its durable inbox.

from eventmask.asgi import Receiver, SQLiteInbox, Worker

inbox = SQLiteInbox("inbox.db")       # or open_inbox("postgresql://...") / PostgresInbox
app = Receiver(router, secrets=["..."], inbox=inbox)   # mount in Starlette/FastAPI
Worker(inbox, router).start()                          # or: eventmask serve
"""

from typing import Any

from ._inbox import (
    DeliveryContext,
    Entry,
    Inbox,
    InboxError,
    PutResult,
    SQLInbox,
    SQLiteInbox,
    current_delivery,
    open_inbox,
)
from ._receiver import Receiver
from ._worker import Worker

__all__ = [
    "DeliveryContext",
    "Entry",
    "Inbox",
    "InboxError",
    "PutResult",
    "Receiver",
    "SQLInbox",
    "SQLiteInbox",
    "Worker",
    "current_delivery",
    "open_inbox",
]


def __getattr__(name: str) -> Any:
    # PostgresInbox needs psycopg (eventmask[postgres]): imported on first use.
    if name == "PostgresInbox":
        from ._postgres import PostgresInbox

        return PostgresInbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
