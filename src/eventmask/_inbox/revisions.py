"""Booking revisions in the inbox: entries of their own kind, each once, and their acks.

A revision pulled from Channex (because a webhook named it, or a feed poll
found it) is stored as an inbox entry whose event is `REVISION_ENTRY`, keyed
``booking_revision:<revision id>``: a unique index makes it one entry
however often, and by whatever way, it arrives.  Workers hand it to the
router's revision handlers.  When such an entry is marked done, the same
transaction writes its *ack intent* (``eventmask_acks``, pending): an ack is
sent to Channex only after the handler's writes committed, and an ack that
failed, or was never sent because the process died, is sent later, without
handling the revision again (docs/bookings.md, "Ack after commit").
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Final

import attrs

from .._channex.revision import BookingRevision
from .backend import SQLBackend
from .settings import InboxSettings

__all__ = [
    "REVISION_ENTRY",
    "PendingAck",
    "RevisionStatements",
    "RevisionStore",
    "order_key",
    "revision_key",
]

# The event of an inbox entry that holds a booking revision (not a Channex event).
REVISION_ENTRY: Final = "booking_revision"
# Seconds an acker holds the acks it took: far above an ack's round trip and
# the client's retries; a dead acker's acks wait this long.
ACK_LEASE: Final = 30.0
_PREFIX: Final = f"{REVISION_ENTRY}:"


def revision_key(revision_id: str) -> str:
    """The key that makes a revision one entry.

    >>> revision_key("03DD7198-c5b7-493c-a889-74d0c2211de7")
    'booking_revision:03dd7198-c5b7-493c-a889-74d0c2211de7'
    """
    return f"{_PREFIX}{revision_id.lower()}"


def order_key(revision: BookingRevision) -> str:
    """``<booking id>|<inserted_at in UTC, microseconds>``: a booking's revisions sort by it.

    >>> import datetime as dt
    >>> rev = BookingRevision(id="r", booking_id="B1", property_id="p", status="new",
    ...     arrival_date=dt.date(2026, 5, 1), departure_date=dt.date(2026, 5, 2),
    ...     amount=0, currency="EUR", inserted_at=dt.datetime(2026, 4, 1, tzinfo=dt.UTC))
    >>> order_key(rev)
    'b1|2026-04-01T00:00:00.000000'
    """
    stamp = revision.inserted_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{revision.booking_id.lower()}|{stamp}"


@attrs.frozen(slots=True, kw_only=True)
class RevisionStatements:
    """The statements of revisions and acks, in a backend's own dialect."""

    # (received_at, property_id, body, body_hash, revision_key, idempotency_key,
    #  available_at) -> rowcount: 0 when the revision is stored already
    insert: str
    record_acks: str  # (created_at, next_at, ids): the ack intents of done revision entries
    # (lease_until, now, limit) -> revision_id, entry_id, property_id, attempts: taken
    due_acks: str
    unsent_acks: str  # () -> count of pending acks never tried
    settle_ack: str  # (state, done_at, last_error, revision_id)
    retry_ack: str  # (next_at, last_error, revision_id)
    pause_acks: str  # (next_at, property_id): a property's pending acks wait
    ack_states: str  # () -> property_id, state, count, min(created_at)
    entry_states: str  # () -> property_id, state, count, min(received_at), not done
    order_of: str  # (id) -> booking_key
    # (low, high, ids): a row when an older revision of the booking waits (`ids` excepted)
    older_waiting: str
    # (low, high, ids): a row when a newer revision of the booking is done (or in `ids`)
    newer_done: str
    record_poll: str  # {scope, at, stored, error}: a feed was read (error None) or failed
    polls: str  # () -> scope, polled_at, ok_at, stored, error


@attrs.frozen(slots=True)
class PendingAck:
    """An ack to send: the revision, its entry, its property, the attempts so far.

    >>> PendingAck("r1", 7, "p1", 0).revision_id
    'r1'
    """

    revision_id: str
    entry_id: int
    property_id: str | None
    attempts: int


class RevisionStore(SQLBackend):
    """The inbox's side of booking revisions (mixed into the SQL engine)."""

    revision_sql: ClassVar[RevisionStatements]
    settings: InboxSettings
    clock: Callable[[], float]

    def store_revisions(self, revisions: Sequence[tuple[Any, ...]], conn: Any = None) -> int:
        """Store revisions, ``(revision id, property id, body[, order key])``, each once;
        how many were new.  The order key (`order_key`) puts a booking's revisions in order.

        With `conn` (a worker's transaction) they commit with it, or not at all.
        """
        if conn is None:
            with self.transaction() as own:
                return self._store(own, revisions)
        return self._store(conn, revisions)

    def _store(self, conn: Any, revisions: Sequence[tuple[Any, ...]]) -> int:
        now = self.clock()
        new = 0
        for revision_id, property_id, body, *order in revisions:
            key = revision_key(revision_id)
            digest = hashlib.sha256(body).hexdigest()
            row = (now, property_id, body, digest, key, key, now, order[0] if order else None)
            new += max(conn.execute(self.revision_sql.insert, row).rowcount, 0)
        return new

    def revision_turn(self, entry: int, settled: Sequence[int]) -> str:
        """Whether a revision entry is handled ``now``, must ``wait`` for an older one of its
        booking still pending, or is ``stale``: a newer one of its booking was handled.

        `settled` are the entries this batch handled whose done marks are not
        committed yet: done, for this question.
        """
        sql = self.revision_sql
        with self.connection() as conn:
            row = conn.execute(sql.order_of, (entry,)).fetchone()
            order = row[0] if row else None
            if order is None:
                return "now"
            booking, _, _ = order.partition("|")
            low, high = f"{booking}|", f"{booking}|\U0010ffff"
            waiting = (low, order, self.id_list([entry, *settled]))
            if conn.execute(sql.older_waiting, waiting).fetchone():
                return "wait"
            if conn.execute(sql.newer_done, (order, high, self.id_list(settled))).fetchone():
                return "stale"
        return "now"

    def record_acks(self, conn: Any, entry_ids: Sequence[int], now: float) -> None:
        """In the transaction that marks these entries done: the acks their revisions need."""
        conn.execute(self.revision_sql.record_acks, (now, now, self.id_list(entry_ids)))

    def due_acks(self, limit: int = 100) -> list[PendingAck]:
        """The acks to send now, oldest first, taken for `ACK_LEASE` seconds.

        Every worker process acks: taking them keeps two from sending one ack
        at once.  An ack taken by a process that died is due again after the
        lease, and sent then (an ack is sent at least once, docs/bookings.md).
        """
        now = self.clock()
        with self.transaction() as conn:
            rows = conn.execute(self.revision_sql.due_acks, (now + ACK_LEASE, now, limit))
            return [PendingAck(*row) for row in rows.fetchall()]

    def unsent_acks(self) -> int:
        """How many acks are owed and were never tried (taken ones included)."""
        with self.connection() as conn:
            return int(conn.execute(self.revision_sql.unsent_acks).fetchone()[0])

    def acks_settled(self, settled: Sequence[tuple[str, str, str | None]]) -> None:
        """Acks that went through (``acked``) or are final (``gone``), with an error or None:
        ``(revision id, state, error)``, recorded in one transaction."""
        if not settled:
            return
        now = self.clock()
        with self.transaction() as conn:
            for revision_id, state, error in settled:
                conn.execute(self.revision_sql.settle_ack, (state, now, error, revision_id))

    def ack_later(self, revision_id: str, delay: float, error: str) -> None:
        """The ack failed: try again after `delay` seconds."""
        with self.transaction() as conn:
            conn.execute(self.revision_sql.retry_ack, (self.clock() + delay, error, revision_id))

    def pause_acks(self, property_id: str | None, seconds: float) -> None:
        """Channex said 429 for this property: its pending acks wait `seconds`."""
        with self.transaction() as conn:
            conn.execute(self.revision_sql.pause_acks, (self.clock() + seconds, property_id))

    def record_poll(self, property_id: str | None, stored: int, error: str | None = None) -> None:
        """A feed was read (``error`` None, `stored` new revisions) or failed with `error`.

        `property_id` None is the account's feed.  The last poll of each feed is
        what ``eventmask revisions status`` shows (docs/bookings.md).
        """
        row = {"scope": property_id or "", "at": self.clock(), "stored": stored, "error": error}
        with self.transaction() as conn:
            conn.execute(self.revision_sql.record_poll, row)

    def revision_status(self) -> dict[str, dict[str, Any]]:
        """Per property: revisions waiting, dead, handled but not acked, acked, gone; ages;
        the last poll of its feed.

        ``unacked`` counts every revision stored and not yet acked (waiting,
        being handled, dead, or handled with its ack pending);
        ``oldest_unacked_age_s`` is the age of the oldest of them.  The key ``""``
        is the account's feed (a poll without a property filter), shown when
        it was polled.
        """
        now = self.clock()
        out: dict[str, dict[str, Any]] = {}

        def of(prop: str | None) -> dict[str, Any]:
            return out.setdefault(prop or "", {"pending": 0, "dead": 0, "handled_not_acked": 0,
                                               "acked": 0, "gone": 0, "unacked": 0,
                                               "oldest_unacked_age_s": None,
                                               "last_poll_age_s": None, "last_poll_error": None,
                                               "last_good_poll_age_s": None})  # fmt: skip

        def older(row: dict[str, Any], since: float | None) -> None:
            if since is None:
                return
            age = round(now - since, 3)
            if row["oldest_unacked_age_s"] is None or age > row["oldest_unacked_age_s"]:
                row["oldest_unacked_age_s"] = age

        with self.connection() as conn:
            entries = conn.execute(self.revision_sql.entry_states).fetchall()
            acks = conn.execute(self.revision_sql.ack_states).fetchall()
            polls = conn.execute(self.revision_sql.polls).fetchall()
        for prop, state, count, since in entries:
            row = of(prop)
            row["dead" if state == "dead" else "pending"] += count
            row["unacked"] += count
            older(row, since)
        for prop, state, count, since in acks:
            row = of(prop)
            key = "handled_not_acked" if state == "pending" else state
            row[key] += count
            if state == "pending":
                row["unacked"] += count
                older(row, since)
        _add_polls(out, of, polls, now)
        return out


def _add_polls(out: dict[str, dict[str, Any]], of: Callable[[str | None], dict[str, Any]],
               polls: Sequence[Any], now: float) -> None:  # fmt: skip
    """Each feed's last poll into its row.  A poll of the account's feed reads every
    property's revisions, so it counts for each property too."""
    seen = {scope: (at, ok_at, error) for scope, at, ok_at, _stored, error in polls}
    account = seen.get("")
    for scope in set(out) | set(seen):
        mine = [p for p in (seen.get(scope), account if scope else None) if p is not None]
        if not mine:
            continue
        at, _, error = max(mine, key=lambda p: p[0])
        good = [p[1] for p in mine if p[1] is not None]
        row = of(scope)
        row["last_poll_age_s"] = round(now - at, 3)
        row["last_poll_error"] = error
        row["last_good_poll_age_s"] = round(now - max(good), 3) if good else None
