"""`open_inbox`: an inbox for a database URL.

PostgreSQL is imported only when a URL asks for it: psycopg is an optional
extra (``eventmask[postgres]``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .engine import SQLInbox
from .settings import InboxSettings
from .sqlite import SQLiteInbox
from .urls import is_postgres_url, sqlite_path

__all__ = ["is_postgres_url", "open_inbox"]


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
    return SQLiteInbox(
        sqlite_path(url),
        settings,
        clock=clock or time.time,
        migrate=create if migrate is None else migrate,
        create=create,
    )
