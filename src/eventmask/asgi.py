"""The webhook receiver as an ASGI application, and its durable inbox.

from eventmask.asgi import Receiver, SQLiteInbox, Worker

inbox = SQLiteInbox("inbox.db")
app = Receiver(router, secrets=["..."], inbox=inbox)   # mount in Starlette/FastAPI
Worker(inbox, router).start()                          # or: eventmask serve
"""

from ._inbox import (
    DeliveryContext,
    Entry,
    Inbox,
    InboxError,
    PutResult,
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
    "SQLiteInbox",
    "Worker",
    "current_delivery",
    "open_inbox",
]
