"""What an inbox URL names: a PostgreSQL database, or an SQLite file's path.

Standard library only, as `sqlite_file` (docs/architecture.md, "Start-up").
"""

from __future__ import annotations

from .._errors import InboxError

__all__ = ["is_postgres_url", "sqlite_path"]


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database.

    >>> is_postgres_url("postgresql://db/pms"), is_postgres_url("inbox.db")
    (True, False)
    """
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> str:
    """The file an SQLite inbox URL names: a path, or ``sqlite:///PATH`` (`InboxError`).

    >>> sqlite_path("sqlite:///srv/inbox.db"), sqlite_path("inbox.db")
    ('srv/inbox.db', 'inbox.db')
    >>> sqlite_path("mysql://db")
    Traceback (most recent call last):
    ...
    eventmask._errors.InboxError: unsupported inbox URL scheme 'mysql'; use a file path, sqlite:///PATH or postgresql://...
    """  # noqa: E501
    if url.startswith("sqlite:///"):
        return url.removeprefix("sqlite:///")
    if url.startswith("sqlite://"):
        raise InboxError("use sqlite:///PATH (three slashes) for an SQLite inbox")
    if "://" in url:
        scheme = url.split("://", 1)[0]
        raise InboxError(
            f"unsupported inbox URL scheme {scheme!r}; use a file path, sqlite:///PATH "
            "or postgresql://..."
        )
    return url
