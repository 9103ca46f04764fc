"""The inbox's values: an entry, what a put returned, how an attempt ended, refusals, health.

An inbox stores each accepted delivery as an `Entry` before Channex gets
its 2xx, and hands entries to workers.  Entries move ``pending -> claimed ->
done``; a failed attempt goes back to ``pending`` after a backoff, and after
``max_attempts`` attempts (or at once, for a failure no retry can fix)
becomes ``dead``: a dead letter an operator can inspect and retry
(docs/receiver.md, "The inbox").
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from .._errors import InvalidJSON
from .._json import loads
from .counts import BUCKET
from .states import STATES, State

__all__ = [
    "REFUSAL_BUCKET",
    "REFUSAL_SAMPLES",
    "STATES",
    "SUCCESS",
    "AttemptOutcome",
    "Entry",
    "Health",
    "PutResult",
    "Refusal",
    "RefusalBatch",
    "State",
]


@attrs.frozen(slots=True)
class PutResult:
    """What happened to an accepted delivery: its entry id, and whether it was a duplicate.

    ``id`` is None while the delivery waits in a SQLite inbox's intake spool
    (docs/receiver.md, "Intake no handler can hold"): it is durable, and gets
    its id when it moves into the inbox.

    >>> PutResult(7, False, "body:ab12").duplicate
    False
    """

    id: int | None
    duplicate: bool
    idempotency_key: str


@attrs.frozen(slots=True)
class Entry:
    """One delivery stored in the inbox, with its processing state.

    >>> Entry(1, "message", None, b"{}", "body:x", "pending", 0, 0.0, 0.0).state
    'pending'
    """

    id: int
    event: str
    property_id: str | None
    body: bytes = attrs.field(repr=False)
    idempotency_key: str
    state: State
    attempts: int
    received_at: float
    available_at: float
    lease_owner: str | None = None
    lease_until: float | None = None
    last_error: str | None = None
    done_at: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the body decoded when it is JSON).

        >>> Entry(1, "message", None, b'{"a": 1}', "k", "done", 1, 0.0, 0.0).as_dict()["body"]
        {'a': 1}
        """
        out = attrs.asdict(self)
        try:
            out["body"] = loads(self.body)
        except InvalidJSON:
            out["body"] = self.body.decode("utf-8", "replace")
        return out


@attrs.frozen(slots=True)
class AttemptOutcome:
    """How one attempt at an entry ended: success, a failure to retry, or a final one.

    A worker returns it for each entry it processes.  ``final`` marks a
    failure no retry can fix (a payload that fails validation): the entry
    goes dead at once instead of after ``max_attempts``.

    >>> AttemptOutcome().ok, AttemptOutcome("KeyError: 'x'").ok
    (True, False)
    >>> AttemptOutcome("bad date", final=True).final
    True
    """

    error: str | None = None
    final: bool = False

    @property
    def ok(self) -> bool:
        """True when the attempt succeeded."""
        return self.error is None


SUCCESS: Final = AttemptOutcome()

# Refusals are counted per minute (`counts.BUCKET`).
REFUSAL_BUCKET: Final = BUCKET
# The most refused requests kept one by one; beyond it only counts grow.
REFUSAL_SAMPLES: Final = 1_000


@attrs.frozen(slots=True)
class Refusal:
    """One refused request as an operator sees it: when, what answer, why, from where.

    ``kind`` is the short, stable name it is counted under (``wrong secret``,
    ``too large``...); ``reason`` says it in full; ``body`` holds the first
    bytes of a body that was read and kept (a 400's), else None.

    >>> Refusal(0.0, 401, "wrong secret", "missing or wrong secret header", "1.2.3.4:5").kind
    'wrong secret'
    """

    at: float
    status: int
    kind: str
    reason: str
    remote: str | None = None
    body: bytes | None = attrs.field(default=None, repr=False)


@attrs.frozen(slots=True)
class RefusalBatch:
    """Refusals to record at once: counts per (minute, status, kind), and samples to keep.

    >>> RefusalBatch(((60.0, 401, "wrong secret", 3),), ()).counts[0][3]
    3
    """

    counts: tuple[tuple[float, int, str, int], ...]
    samples: tuple[Refusal, ...]


@attrs.frozen(slots=True)
class Health:
    """Whether the inbox can store a delivery right now, and why not.

    >>> Health(False, "the inbox file was deleted or replaced").ok
    False
    """

    ok: bool
    reason: str | None = None
