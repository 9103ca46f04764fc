"""A group commit's deliveries into SQLite: each lookup once a batch, the inserts in one call.

One delivery at a time costs a body lookup, perhaps a revision lookup, and an
insert: two or three statements, and with each a release and a retaking of the
GIL by the writer thread, which shares the GIL with the receiver's event loop.
A batch here costs one lookup by body, one by revision when any delivery has a
revision key, and one ``executemany`` of the new rows, whatever its size
(docs/receiver.md, "The inbox").

The answers are those of the deliveries stored one after another, in order:
a delivery is a duplicate of the oldest entry within the window that holds
its body, else of the oldest that holds its revision key, and an earlier
delivery of the same batch counts (`tests/inbox/test_sqlite_puts.py` holds
the two ways against each other).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from .._envelope import Envelope
from .._json import dumps_text
from .engine import dedup_keys, idempotency_key
from .settings import InboxSettings
from .sqlite_sql import FIND_BODIES, FIND_REVISIONS, INSERT_WITH_ID, LAST_ID
from .values import PutResult

__all__ = ["insert_batch"]

# What an entry already stored answers a duplicate with: its id and idempotency key.
_Stored = tuple[int, str]


def insert_batch(
    conn: sqlite3.Connection,
    deliveries: Sequence[Envelope],
    now: float,
    settings: InboxSettings,
) -> list[PutResult]:
    """Store what is new among `deliveries`, in the open write transaction; a result each.

    >>> import os, tempfile
    >>> from eventmask.inbox import SQLiteInbox
    >>> inbox = SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> batch = [Envelope.read(b'{"event":"message"}')] * 2
    >>> with inbox.connection() as conn:
    ...     _ = conn.execute("BEGIN IMMEDIATE")
    ...     results = insert_batch(conn, batch, 1000.0, inbox.settings)
    ...     _ = conn.execute("COMMIT")
    >>> [(r.id, r.duplicate) for r in results]
    [(1, False), (1, True)]
    >>> inbox.close()
    """
    since = now - settings.dedup_window
    keys = [dedup_keys(delivery, settings.dedup_revisions) for delivery in deliveries]
    by_body = _oldest(conn, FIND_BODIES, {digest for digest, _ in keys}, since)
    revisions = {revision for _, revision in keys if revision is not None}
    by_revision = _oldest(conn, FIND_REVISIONS, revisions, since) if revisions else {}
    (last,) = conn.execute(LAST_ID).fetchone()
    next_id = (last or 0) + 1
    rows: list[tuple[Any, ...]] = []
    results: list[PutResult] = []
    for delivery, (digest, revision) in zip(deliveries, keys, strict=True):
        found = by_body.get(digest)
        if found is None and revision is not None:
            found = by_revision.get(revision)
        if found is not None:
            results.append(PutResult(found[0], True, found[1]))
            continue
        key = idempotency_key(digest, revision)
        event, property_id, body = delivery.event, delivery.property_id, delivery.body
        rows.append((next_id, now, event, property_id, body, digest, revision, key, now))
        # Neither key was found: this delivery is now the oldest holder of both.
        by_body[digest] = (next_id, key)
        if revision is not None:
            by_revision[revision] = (next_id, key)
        results.append(PutResult(next_id, False, key))
        next_id += 1
    if rows:
        conn.executemany(INSERT_WITH_ID, rows)
    return results


def _oldest(
    conn: sqlite3.Connection, statement: str, keys: Iterable[str], since: float
) -> dict[str, _Stored]:
    """The oldest entry since `since` holding each of `keys` (ids ascend: the first seen)."""
    oldest: dict[str, _Stored] = {}
    for key, entry_id, idempotency in conn.execute(statement, (dumps_text(list(keys)), since)):
        oldest.setdefault(key, (entry_id, idempotency))
    return oldest
