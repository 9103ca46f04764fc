"""`open_inbox`: an inbox for a database URL.

PostgreSQL is imported only when a URL asks for it: psycopg is an optional
extra (``eventmask[postgres]``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .._errors import InboxError
from .engine import SQLInbox
from .settings import InboxSettings
from .sqlite import SQLiteInbox

__all__ = ["is_postgres_url", "open_inbox"]


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database.

    >>> is_postgres_url("postgresql://db/pms"), is_postgres_url("inbox.db")
    (True, False)
    """
    return url.startswith(("postgresql://", "postgres://"))


def open_inbox(
    url: str,
    settings: InboxSettings | None = None,
    *,
    clock: Callable[[], float] | None = None,
    migrate: bool | None = None,
    create: bool = True,
    connect_timeout: float = 3.0,
) -> SQLInbox:
    """An inbox for a database URL.

    A file path or ``sqlite:///path`` opens `SQLiteInbox`;
    ``postgresql://...`` (or ``postgres://``) opens `PostgresInbox`, which
    needs ``pip install 'eventmask[postgres]'``.  ``migrate`` defaults to
    what each backend does on its own: SQLite files are migrated when opened,
    PostgreSQL only by ``eventmask inbox migrate``.  ``create=False`` opens
    only an existing inbox (the read-only commands and workers never create
    one); a file that is not an eventmask inbox is refused either way.

    >>> import os, tempfile
    >>> inbox = open_inbox(f"sqlite:///{tempfile.mkdtemp()}/inbox.db")
    >>> type(inbox).__name__
    'SQLiteInbox'
    >>> inbox.close()
    """
    if is_postgres_url(url):
        from .postgres import PostgresInbox

        return PostgresInbox(
            url,
            settings,
            clock=clock,
            migrate=bool(migrate),
            connect_timeout=connect_timeout,
        )
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
    elif url.startswith("sqlite://"):
        raise InboxError("use sqlite:///PATH (three slashes) for an SQLite inbox")
    elif "://" in url:
        scheme = url.split("://", 1)[0]
        raise InboxError(
            f"unsupported inbox URL scheme {scheme!r}; use a file path, sqlite:///PATH "
            "or postgresql://..."
        )
    else:
        path = url
    return SQLiteInbox(
        path,
        settings,
        clock=clock or time.time,
        migrate=create if migrate is None else migrate,
        create=create,
    )
