"""Processing claimed entries: no lock is held while a handler runs, unless it writes.

A handler runs *outside* any transaction until it first touches
`current_delivery().connection`.  That first touch begins the entry's
transaction and locks the entry (SQLite: the write lock; PostgreSQL: its
row), and the entry is settled and committed as soon as the handler returns,
so that a handler's writes and the entry's ``done`` mark commit together, or
not at all.  Entries whose handlers never touched the connection are marked
in one short transaction per ``batch_budget``.

Why: a handler that hangs (a slow network call, a stopped process) must not
hold intake or the other workers.  Held inside a write transaction, it did:
SQLite has one writer, so every receiver waited for it (docs/receiver.md,
"Guarantees", has the trade-off: a handler that writes through the inbox
pays one commit per entry).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from .._errors import LeaseLost
from .context import Attempt, DeliveryContext, delivery_context
from .revisions import REVISION_ENTRY, RevisionStore
from .search_sql import SearchStatements
from .settings import InboxSettings
from .values import AttemptOutcome, Entry, State

__all__ = ["BatchProcessing"]

log = logging.getLogger("eventmask.inbox")

# The most of a failure's description kept in `last_error`.
MAX_ERROR: int = 4000


class _Marks:
    """What a batch has to record, and the transaction it is recorded in.

    Outcomes wait here until the next commit: the done marks of handlers
    that never opened a transaction, failures, and entries given back.
    """

    def __init__(self, engine: BatchProcessing, conn: Any, owner: str, states: dict[int, State]):
        self.engine = engine
        self.conn = conn
        self.owner = owner
        self.states = states
        self.done: list[Entry] = []
        self.failed: list[tuple[Entry, AttemptOutcome]] = []
        self.returned: list[Entry] = []
        self.owned: set[int] = set()
        self.open = False
        self.commits = 0
        self.since = time.monotonic()

    def waiting(self) -> list[int]:
        return [e.id for e in (*self.done, *self.returned)] + [e.id for e, _ in self.failed]

    def begin(self, ids: Sequence[int] = ()) -> None:
        """Begin a transaction that locks the waiting entries and `ids` (those still ours)."""
        if self.commits:  # SQLite's lock has no queue: let a waiting receiver in first
            self.engine.yield_lock()
        self.owned = self.engine.open_batch(self.conn, self.owner, [*self.waiting(), *ids])
        self.open = True

    def rollback(self) -> None:
        """Undo the open transaction (a handler's writes); what waits here is kept."""
        self.engine.rollback(self.conn)
        self.open = False

    def due(self) -> bool:
        """Whether marks have waited a whole batch budget."""
        budget = self.engine.settings.batch_budget
        return bool(self.waiting()) and time.monotonic() - self.since > budget

    def commit(self) -> None:
        """Record every waiting outcome (beginning a transaction if none is open); commit."""
        if not (self.open or self.waiting()):
            return
        if not self.open:
            self.begin()
        engine, conn, owned = self.engine, self.conn, self.owned
        try:
            for entry, outcome in self.failed:
                if entry.id in owned:
                    self.states[entry.id] = engine.record_failure(conn, entry, self.owner, outcome)
            back = [e.id for e in self.returned if e.id in owned]
            if back:
                conn.execute(engine.statements.give_back_some, (self.owner, engine.id_list(back)))
            done = [e.id for e in self.done if e.id in owned]
            revisions = [e.id for e in self.done if e.id in owned and e.event == REVISION_ENTRY]
            if revisions:  # the acks they owe Channex, in the transaction of their done mark
                engine.record_acks(conn, revisions, engine.clock())
            engine.finish_batch(conn, done, engine.clock())
        except BaseException:
            self.rollback()
            raise
        # An entry no longer ours: its lease ran out, and it is another worker's now.
        for entry in self.done:
            self.states[entry.id] = "done" if entry.id in owned else "claimed"
        for entry in self.returned:
            self.states[entry.id] = "pending" if entry.id in owned else "claimed"
        for entry, _ in self.failed:
            if entry.id not in owned:
                self.states[entry.id] = "claimed"
        self.done, self.failed, self.returned = [], [], []
        self.open = False
        self.commits += 1
        self.since = time.monotonic()


class BatchProcessing(RevisionStore):
    """The worker side of the shared engine."""

    settings: InboxSettings
    clock: Callable[[], float]
    search_sql: ClassVar[SearchStatements]

    def process(self, entry: Entry, owner: str, attempt: Attempt) -> State:
        """Run `attempt` for a claimed entry; commit with 'done' or record the failure."""
        (state,) = self.process_batch([entry], owner, attempt)
        return state

    def process_batch(
        self,
        entries: Sequence[Entry],
        owner: str,
        attempt: Attempt,
        stopping: Callable[[], bool] | None = None,
    ) -> list[State]:
        """Process claimed entries; return their new states.

        A handler that touches `current_delivery().connection` opens its
        entry's transaction, which commits (with the ``done`` mark) as soon
        as it returns; the others are marked in one short transaction every
        ``batch_budget`` seconds.  When `stopping()` turns true, the entries
        not yet started are given back (pending again, the claim not counted).
        """
        states: dict[int, State] = {}
        todo = list(entries)
        with self.connection() as conn:
            marks = _Marks(self, conn, owner, states)
            try:
                while todo:
                    if stopping is not None and stopping():
                        marks.returned.extend(todo)
                        break
                    self._run(todo.pop(0), attempt, marks)
                    if marks.due():
                        marks.commit()
                marks.commit()
            except BaseException:
                if marks.open:
                    marks.rollback()
                raise
        return [states.get(e.id, "claimed") for e in entries]

    def _run(self, entry: Entry, attempt: Attempt, marks: _Marks) -> None:
        """Run one entry's handlers; settle at once if they opened its transaction."""
        if entry.event == REVISION_ENTRY and not self._in_turn(entry, marks):
            return
        opened = False

        def transaction() -> Any:
            nonlocal opened
            if not opened:
                marks.begin([entry.id])
                opened = True
            if entry.id not in marks.owned:
                raise LeaseLost(
                    f"entry {entry.id}: its lease ran out and another worker took it "
                    "(a handler must finish within the lease)"
                )
            return marks.conn

        context = DeliveryContext(
            None,
            entry.id,
            entry.idempotency_key,
            entry.attempts,
            entry.event,
            self.backend,
            open=transaction,
        )
        with delivery_context(context):
            outcome = attempt(context)
        if not opened:
            if outcome.ok:
                marks.done.append(entry)
            else:
                marks.failed.append((entry, outcome))
            return
        if entry.id not in marks.owned:
            marks.rollback()
            marks.states[entry.id] = "claimed"
            return
        if outcome.ok and self.aborted(marks.conn):
            # A handler swallowed a database error and left the transaction
            # unusable: that is a failure of this attempt.
            aborted = "the handler's transaction was aborted by a database error it caught"
            outcome = AttemptOutcome(aborted)
        if outcome.ok:
            marks.done.append(entry)
        else:
            marks.rollback()  # the handler's writes go with it
            marks.failed.append((entry, outcome))
        # Settle now: the next handler may hang, and must not do so holding this lock.
        marks.commit()

    def _in_turn(self, entry: Entry, marks: _Marks) -> bool:
        """A booking's revisions go to the handlers in ``inserted_at`` order (docs/bookings.md,
        "Decisions"): one waits while an older one is pending; one older than a revision
        already handled is done without its handlers (it would roll the booking back)."""
        turn = self.revision_turn(entry.id, [e.id for e in marks.done])
        if turn == "wait":
            wait = AttemptOutcome(f"entry {entry.id}: a booking revision waiting for an older one")
            marks.failed.append((entry, wait))
        elif turn == "stale":
            log.warning("entry %d: a booking revision older than one already handled: "
                        "done (and acknowledged) without its handlers", entry.id,
                        extra={"fields": {"entry": entry.id}})  # fmt: skip
            marks.done.append(entry)
        return turn == "now"

    def record_failure(self, conn: Any, entry: Entry, owner: str, outcome: AttemptOutcome) -> State:
        """Record a failed attempt: pending again after a backoff, or dead."""
        dead = outcome.final or entry.attempts >= self.settings.max_attempts
        state: State = "dead" if dead else "pending"
        available = self.clock() + self.settings.retry_delay(entry.attempts)
        error = (outcome.error or "failed")[:MAX_ERROR]
        conn.execute(self.statements.mark_failed, (state, available, error, entry.id, owner))
        # The history the operator's page shows (docs/dashboard.md): failures only,
        # so a handled entry costs no extra row.
        attempt = (entry.id, self.clock(), entry.attempts, owner, error)
        conn.execute(self.search_sql.record_attempt, attempt)
        return state

    def release(self, owner: str) -> int:
        """Give back every entry `owner` has claimed (graceful shutdown)."""
        with self.transaction() as conn:
            return int(conn.execute(self.statements.give_back, (owner,)).rowcount)
