"""The inbox interface: what the receiver, the worker and the command line call.

One abstract class, `Inbox`; the shared SQL engine (`engine`) implements
it, and each backend module (`sqlite`, `postgres`) gives the engine its
connections and its SQL, as httpx's transports do for its client.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Self

from .._envelope import Envelope
from .context import Attempt
from .queries import AttemptRecord, DeadGroup, EntryPage, EntryQuery, Range, Timeline
from .settings import InboxSettings
from .values import Entry, Health, PutResult, RefusalBatch, State

__all__ = ["Inbox"]


# size: an interface of 34 methods, each one signature and one docstring; no code.
class Inbox(abc.ABC):
    """The interface every inbox provides (`SQLiteInbox`, `PostgresInbox`).

    Every operation is abstract, so an inbox that leaves one out cannot be
    made; only `wait_for_work` (a plain wait), the context manager and the
    deprecated `rejections` have a body.

    >>> import os, tempfile
    >>> from eventmask.inbox import Envelope, SQLiteInbox
    >>> with SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db")) as inbox:
    ...     stored = inbox.put(Envelope.read(b'{"event": "message"}'))
    ...     isinstance(inbox, Inbox), inbox.get(stored.id).state
    (True, 'pending')
    """

    backend: ClassVar[str]
    settings: InboxSettings

    @abc.abstractmethod
    def put(self, delivery: Envelope) -> PutResult:
        """Store an accepted delivery durably; return once it is committed."""
        ...

    @abc.abstractmethod
    async def aput(self, delivery: Envelope) -> PutResult:
        """`put` for async code: waits for the group commit without blocking the loop."""
        ...

    @abc.abstractmethod
    def record_refusals(self, batch: RefusalBatch) -> None:
        """Add refusal counts and keep samples (best effort, not awaited; never raises)."""
        ...

    @abc.abstractmethod
    def health(self) -> Health:
        """Whether the inbox can store a delivery right now (recent writes, or a probe)."""
        ...

    @abc.abstractmethod
    def claim(self, owner: str, limit: int = 16) -> list[Entry]:
        """Claim up to `limit` ready entries (pending and due, or with an expired lease)."""
        ...

    @abc.abstractmethod
    def process(self, entry: Entry, owner: str, attempt: Attempt) -> State:
        """Run `attempt` in the entry's transaction; commit with 'done' or record the failure."""
        ...

    @abc.abstractmethod
    def process_batch(
        self,
        entries: Sequence[Entry],
        owner: str,
        attempt: Attempt,
        stopping: Callable[[], bool] | None = None,
    ) -> list[State]:
        """Run `attempt` for each claimed entry in its transaction; return the new states."""
        ...

    @abc.abstractmethod
    def release(self, owner: str) -> int:
        """Give back every entry `owner` has claimed (graceful shutdown)."""
        ...

    def wait_for_work(self, timeout: float, stop: threading.Event) -> None:
        """Wait up to `timeout` seconds for new entries, or until `stop` is set.

        Workers call this when a claim came back empty.  This default just
        waits; PostgreSQL is woken as soon as a receiver commits a delivery.
        """
        stop.wait(timeout)

    @abc.abstractmethod
    def stats(self, *, done: bool = True) -> dict[str, Any]:
        """Counts per state, the oldest pending entry's age, recent refusals.

        ``done=False`` leaves out the count of done entries (None), the one
        that grows with the table: what a frequent health check wants.
        """
        ...

    @abc.abstractmethod
    def entries(
        self,
        state: str | None = None,
        limit: int = 50,
        *,
        before: int | None = None,
        event: str | None = None,
    ) -> list[Entry]:
        """Entries, newest first, optionally of one state and of one event.

        Pages by key: ``before`` is the smallest id of the previous page, and
        the next page starts below it, at the same cost at any depth.
        """
        ...

    @abc.abstractmethod
    def get(self, entry_id: int) -> Entry:
        """One entry (raise InboxError if there is none)."""
        ...

    @abc.abstractmethod
    def revision_entry(self, revision_id: str) -> Entry:
        """The entry of one booking revision, by its Channex id (raise InboxError if none)."""
        ...

    @abc.abstractmethod
    def retry(self, entry_id: int) -> None:
        """Make a dead (or failed) entry pending again, attempts reset."""
        ...

    @abc.abstractmethod
    def retry_matching(
        self, state: str = "dead", *, since: float | None = None, event: str | None = None
    ) -> int:
        """Make every `state` entry (received since `since`, of `event`) pending again."""
        ...

    @abc.abstractmethod
    def replay(self, entry_id: int) -> int:
        """Store a done entry's body again as a new entry, with its own key; return its id."""
        ...

    @abc.abstractmethod
    def purge(self, older_than: float) -> int:
        """Delete done entries and refusals older than `older_than` seconds."""
        ...

    @abc.abstractmethod
    def refusals(self, limit: int = 50) -> list[dict[str, Any]]:
        """Recent refused requests (the kept samples), newest first."""
        ...

    def rejections(self, limit: int = 50) -> list[dict[str, Any]]:
        """Deprecated: `refusals`, under its old name."""
        import warnings

        message = "Inbox.rejections() is deprecated: use Inbox.refusals()"
        warnings.warn(message, DeprecationWarning, stacklevel=2)
        return self.refusals(limit)

    @abc.abstractmethod
    def refusal_counts(self, since: float) -> list[dict[str, Any]]:
        """Refusals since `since` (epoch seconds), counted per status and kind.

        Counts are kept per minute: those of the minute that holds `since` count
        whole (`counts.bucket_of`), as in the receiver's inline mode."""
        ...

    # -- the operator's page (docs/dashboard.md) ------------------------------------------

    @abc.abstractmethod
    def search(self, query: EntryQuery) -> EntryPage:
        """One page of the entries `query` asks for, paged by key, in bounded time."""
        ...

    @abc.abstractmethod
    def timeline(self, span: Range = "hour") -> Timeline:
        """Entries received per bucket (by their state now) and refusals per bucket (by kind)."""
        ...

    @abc.abstractmethod
    def dead_letter_groups(self) -> list[DeadGroup]:
        """Dead letters grouped by exception class and handler, largest first."""
        ...

    @abc.abstractmethod
    def retry_dead_group(self, error_class: str, handler: str | None, last_id: int) -> int:
        """Make one group's dead letters, up to `last_id`, pending again; how many changed."""
        ...

    @abc.abstractmethod
    def attempts(self, entry_id: int) -> list[AttemptRecord]:
        """The failed attempts at one entry, oldest first."""
        ...

    @abc.abstractmethod
    def ack(self, entry_id: int) -> dict[str, Any] | None:
        """The ack a booking revision's entry owes Channex (state, attempts...), or None."""
        ...

    @abc.abstractmethod
    def migrate(self) -> tuple[int, int]:
        """Create or upgrade the schema; return the versions before and after."""
        ...

    # -- booking revisions (docs/bookings.md) ------------------------------------------

    @abc.abstractmethod
    def store_revisions(self, revisions: Sequence[tuple[Any, ...]], conn: Any = None) -> int:
        """Store revisions, ``(revision id, property id, body[, order key])``, each once;
        how many were new."""
        ...

    @abc.abstractmethod
    def due_acks(self, limit: int = 100) -> list[Any]:
        """The acks committed handlers owe Channex, due now (`PendingAck`), taken for a lease."""
        ...

    @abc.abstractmethod
    def unsent_acks(self) -> int:
        """How many acks are owed and were never tried."""
        ...

    @abc.abstractmethod
    def acks_settled(self, settled: Sequence[tuple[str, str, str | None]]) -> None:
        """Acks that went through (``acked``) or are final (``gone``), in one transaction."""
        ...

    @abc.abstractmethod
    def ack_later(self, revision_id: str, delay: float, error: str) -> None:
        """An ack failed: send it again after `delay` seconds."""
        ...

    @abc.abstractmethod
    def pause_acks(self, property_id: str | None, seconds: float) -> None:
        """A property's pending acks wait `seconds` (Channex said 429)."""
        ...

    @abc.abstractmethod
    def record_poll(self, property_id: str | None, stored: int, error: str | None = None) -> None:
        """A feed was read, `stored` new revisions, or failed with `error` (None: the account's)."""
        ...

    @abc.abstractmethod
    def revision_status(self) -> dict[str, dict[str, Any]]:
        """Per property: revisions waiting, dead, handled but not acked; the oldest age;
        the last poll."""
        ...

    @abc.abstractmethod
    def close(self) -> None:
        """Stop the writer and close connections."""
        ...

    def __enter__(self) -> Self:
        """The inbox itself; leaving the block closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
