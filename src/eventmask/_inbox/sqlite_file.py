"""An SQLite inbox file: what is one, its schema version, its spool, its counts.

`SQLiteInbox` opens files through `claim_file`, names its spool with
`spool_path` and reads its version with `READ_VERSION`; `read_stats` reads
`stats` from a file without an `SQLiteInbox`.  The module stands on the
standard library alone, so that ``eventmask inbox stats`` (a health check
that may run every few seconds) imports neither attrs nor msgspec
(docs/architecture.md, "Start-up").
"""

from __future__ import annotations

import os
import sqlite3

from .._errors import InboxError, InboxUnavailable, NotAnInbox
from .counts import SQLITE_COUNTS, read_counts
from .schema import schema_problem

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: see _cli/common.py
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "READ_VERSION",
    "SCHEMA_VERSION",
    "claim_file",
    "file_uri",
    "identity",
    "read_stats",
    "spool_path",
    "spooled_in",
]

# The schema version this eventmask writes: `SQLiteInbox.MIGRATIONS` has this
# many steps (tests/inbox/test_sqlite_file.py checks it; this module cannot
# import sqlite.py, which stands on attrs).
SCHEMA_VERSION = 8

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~/")
READ_VERSION = "SELECT max(version) FROM eventmask_schema"
_SPOOLED = "SELECT count(*), min(received_at) FROM eventmask_intake"


def file_uri(path: str, mode: str) -> str:
    """The SQLite URI of `path` opened in `mode` (``ro``, ``rw`` or ``rwc``).

    The path is percent-encoded as `urllib.parse.quote` does (whose import took
    4.5 ms of the 67 of `inbox stats`): every byte but letters, digits and
    ``_.-~/``, so that a ``?``, ``#`` or ``%`` in a file name stays a name.

    >>> file_uri("/srv/inbox ?#%é.db", "ro")
    'file:/srv/inbox%20%3F%23%25%C3%A9.db?mode=ro'
    """
    quoted = "".join(
        char if char in _SAFE else "".join(f"%{byte:02X}" for byte in char.encode())
        for char in os.path.abspath(path)
    )
    return f"file:{quoted}?mode={mode}"


def identity(path: str) -> tuple[int, int]:
    """The file's device and inode: a file deleted or replaced has another."""
    stat = os.stat(path)
    return (stat.st_dev, stat.st_ino)


def claim_file(path: str, create: bool) -> bool:
    """Check that `path` is an eventmask inbox, or create one there; True when created.

    Nothing is written to a file that is not an inbox: another application's
    database, or a file that is no database at all, is refused untouched.

    >>> import tempfile
    >>> claim_file(tempfile.mkdtemp() + "/none.db", create=False)
    Traceback (most recent call last):
    ...
    eventmask._errors.NotAnInbox: no inbox at .../none.db
    """
    if os.path.isdir(path):
        raise NotAnInbox(f"{path} is a directory, not an inbox file")
    if not os.path.exists(path):
        if not create:
            raise NotAnInbox(f"no inbox at {path}")
        try:
            sqlite3.connect(path).close()
        except sqlite3.Error as exc:
            raise InboxError(f"cannot create an inbox at {path}: {exc}") from exc
        import logging  # only here: the command line's read-only path never creates

        log = logging.getLogger("eventmask.inbox")
        log.info("created a new inbox", extra={"fields": {"path": path}})
        return True
    try:
        conn = sqlite3.connect(file_uri(path, "ro"), uri=True)
        try:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise NotAnInbox(f"{path} is not an eventmask inbox ({exc})") from None
    # An empty file (no table, no byte) may become a new inbox, but only when asked to.
    fresh = not tables and os.path.getsize(path) == 0
    if "eventmask_schema" not in tables and not (create and fresh):
        raise NotAnInbox(f"{path} is not an eventmask inbox (it has no eventmask_schema table)")
    return False


def spool_path(inbox_path: str) -> str:
    """The intake spool beside an inbox file (docs/receiver.md, "Intake no handler can hold").

    >>> spool_path("/srv/inbox.db")
    '/srv/inbox.db-intake'
    """
    return f"{inbox_path}-intake"


def spooled_in(conn: Any) -> tuple[int, float | None]:
    """How many deliveries wait in a spool, and the receipt time of the oldest."""
    row = conn.execute(_SPOOLED).fetchone()
    return int(row[0]), row[1]


def read_stats(path: str, now: float) -> dict[str, Any]:
    """`SQLiteInbox.stats` of the inbox file at `path`, which must exist (`NotAnInbox`).

    A schema of another version raises `InboxError`, a file SQLite cannot
    read `InboxUnavailable`.

    >>> import tempfile
    >>> from eventmask._inbox.sqlite import SQLiteInbox
    >>> inbox = SQLiteInbox(tempfile.mkdtemp() + "/inbox.db")
    >>> inbox.close()
    >>> read_stats(inbox.path, 0.0)["pending"]
    0
    """
    claim_file(path, create=False)
    spooled: tuple[int, float | None] = (0, None)
    spool = spool_path(path)
    try:
        # The spool first (see `read_counts`); read-write, as every reader of a
        # WAL file: it may have to recover the file's index.
        if os.path.exists(spool):
            conn = sqlite3.connect(file_uri(spool, "rw"), uri=True)
            try:
                spooled = spooled_in(conn)
            finally:
                conn.close()
        conn = sqlite3.connect(file_uri(path, "rw"), uri=True)
        try:
            problem = schema_problem(_version(conn), SCHEMA_VERSION, path)
            if problem is not None:
                raise InboxError(problem)
            return read_counts(conn, SQLITE_COUNTS, spooled, now)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise InboxUnavailable(f"cannot read the inbox at {path}: {exc}") from exc


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute(READ_VERSION).fetchone()[0] or 0)
