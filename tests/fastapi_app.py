"""A PMS written in FastAPI with eventmask's receiver mounted in it, as docs/embedding.md shows.

Served by a real uvicorn in tests/service/test_embedding.py, as an app factory
(``uvicorn --factory tests.fastapi_app:create_app``); the inbox file comes from
``EVENTMASK_DB``.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from eventmask import Notification, Router
from eventmask.asgi import Receiver, lifespan, mount
from eventmask.inbox import InboxSettings, SQLiteInbox

from .apps import record

router = Router()
router.add("*", record)


@router.on("message")
def broken(n: Notification) -> None:
    if n.message.message == "break":
        _ = n.raw["payload"]["missing"]  # a KeyError, as a real handler bug has


def rooms() -> dict[str, int]:
    return {"rooms": 12}


def create_app() -> FastAPI:
    inbox = SQLiteInbox(os.environ["EVENTMASK_DB"], InboxSettings(max_attempts=1))
    receiver = Receiver(router, secrets=[os.environ["EVENTMASK_SECRET"]], inbox=inbox)
    app = FastAPI(lifespan=lifespan(receiver, workers=1))
    mount(app, "/channex", receiver)
    app.get("/rooms")(rooms)
    return app
