"""Processing claimed entries: one transaction per batch, one savepoint per entry.

A failing entry rolls back to its savepoint (its handlers' writes go) and
records the failure; the batch commits once, so a busy worker pays one
commit per batch rather than one per delivery.  A crash before the commit
undoes the whole batch, effects included, and the entries are claimed again
after their lease: still exactly once (docs/receiver.md, "Guarantees").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .backend import SQLBackend
from .base import Attempt, DeliveryContext, Entry, Outcome, State, delivery_context
from .settings import InboxSettings

__all__ = ["BatchProcessing"]

# The most of a failure's description kept in `last_error`.
MAX_ERROR: int = 4000


class BatchProcessing(SQLBackend):
    """The worker side of the shared engine."""

    settings: InboxSettings
    clock: Callable[[], float]

    def process(self, entry: Entry, owner: str, attempt: Attempt) -> State:
        """Run `attempt` in the entry's transaction; commit with 'done' or record the failure."""
        (state,) = self.process_batch([entry], owner, attempt)
        return state

    def process_batch(
        self,
        entries: Sequence[Entry],
        owner: str,
        attempt: Attempt,
        stopping: Callable[[], bool] | None = None,
    ) -> list[State]:
        """Process claimed entries in one transaction, each inside its own savepoint.

        When `stopping()` turns true, the entries not yet started are given
        back (pending again, the claim not counted) in the same transaction.
        The batch commits early once it has been open for the settings'
        ``batch_budget``: quick handlers share one commit, slow ones commit
        one by one (and, with SQLite, the receiver is not kept waiting for
        the lock).
        """
        states: dict[int, State] = {}
        todo = list(entries)
        with self.connection() as conn:
            while todo:
                if len(todo) < len(entries):  # committed early: let waiting writers in
                    self.yield_lock()
                owned = self.open_batch(conn, owner, [e.id for e in todo])
                try:
                    todo = self._process_some(conn, todo, owned, owner, attempt, stopping, states)
                except BaseException:
                    self.rollback(conn)
                    raise
        return [states[e.id] for e in entries]

    def _process_some(
        self,
        conn: Any,
        todo: list[Entry],
        owned: set[int],
        owner: str,
        attempt: Attempt,
        stopping: Callable[[], bool] | None,
        states: dict[int, State],
    ) -> list[Entry]:
        """Process entries in the open transaction until the budget is spent; commit.

        Return the entries left for the next transaction.
        """
        held = time.monotonic()
        done: list[int] = []
        savepoint = False  # an entry's savepoint is open (released lazily, with the next)
        while todo:
            if stopping is not None and stopping():
                self._give_back_rest(conn, todo, owned, owner, states)
                todo = []
                break
            entry = todo.pop(0)
            if entry.id not in owned:
                # The lease ran out and another worker owns the entry now.
                states[entry.id] = "claimed"
                continue
            self.savepoint(conn, release_previous=savepoint)
            savepoint = True
            outcome = self._attempt(conn, entry, attempt)
            if outcome.ok:
                done.append(entry.id)
                states[entry.id] = "done"
            else:
                self.undo_entry(conn)
                savepoint = False
                states[entry.id] = self._record_failure(conn, entry, owner, outcome)
            if todo and time.monotonic() - held > self.settings.batch_budget:
                break
        self.finish_batch(conn, done, self.clock())
        return todo

    def _attempt(self, conn: Any, entry: Entry, attempt: Attempt) -> Outcome:
        context = DeliveryContext(
            conn, entry.id, entry.idempotency_key, entry.attempts, entry.event, self.backend
        )
        with delivery_context(context):
            outcome = attempt(context)
        if outcome.ok and self.aborted(conn):
            # A handler swallowed a database error and left the transaction
            # unusable: that is a failure of this attempt.
            return Outcome("the handler's transaction was aborted by a database error it caught")
        return outcome

    def _give_back_rest(
        self,
        conn: Any,
        todo: list[Entry],
        owned: set[int],
        owner: str,
        states: dict[int, State],
    ) -> None:
        ids = [e.id for e in todo if e.id in owned]
        if ids:
            conn.execute(self.statements.give_back_some, (owner, self.id_list(ids)))
        states.update((e.id, "pending" if e.id in owned else "claimed") for e in todo)

    def _record_failure(self, conn: Any, entry: Entry, owner: str, outcome: Outcome) -> State:
        dead = outcome.final or entry.attempts >= self.settings.max_attempts
        state: State = "dead" if dead else "pending"
        available = self.clock() + self.settings.retry_delay(entry.attempts)
        error = (outcome.error or "failed")[:MAX_ERROR]
        conn.execute(self.statements.mark_failed, (state, available, error, entry.id, owner))
        return state

    def release(self, owner: str) -> int:
        """Give back every entry `owner` has claimed (graceful shutdown)."""
        with self.transaction() as conn:
            return int(conn.execute(self.statements.give_back, (owner,)).rowcount)
