"""`InboxSettings`: every tunable of an inbox, with its default, in one place.

The backends, `eventmask serve`, `eventmask worker` and the receiver all
read their defaults from here (docs/receiver.md, "The inbox").
"""

from __future__ import annotations

import attrs

__all__ = ["InboxSettings"]


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not 0 < value < float("inf"):  # also refuses NaN
        raise ValueError(f"{attribute.name} must be a finite number above 0, not {value!r}")


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be a whole number, not {value!r}")
    if value < 1:
        raise ValueError(f"{attribute.name} must be at least 1, not {value!r}")


@attrs.frozen(slots=True, kw_only=True)
class InboxSettings:
    """How an inbox deduplicates, leases, retries and records refusals.

    ``dedup_window``: seconds during which an identical body (and, with
    ``dedup_revisions``, the same booking revision) is acknowledged again
    without a new entry.  ``lease``: seconds a worker's claim lasts.
    ``max_attempts``: attempts before an entry is a dead letter.  ``backoff``
    and ``max_backoff``: the first retry's delay and the cap of its doubling.
    ``max_rejected_body``: bytes of a refused body kept for the operator.
    ``batch_budget``: seconds a worker's batch may hold its transaction open
    before it commits early.  ``write_timeout``: seconds a delivery may wait
    for storage before the receiver answers 503.  ``spill_after``: seconds a
    delivery waits for a SQLite inbox's write lock before it goes to the
    intake spool instead (a handler writing through the inbox holds it).
    ``min_free_bytes``: free disk space a SQLite inbox keeps in reserve;
    below it deliveries are answered 503 and health says so (8 MiB).

    >>> InboxSettings(lease=30).lease, InboxSettings().max_attempts
    (30.0, 10)
    >>> InboxSettings(max_attempts=0)
    Traceback (most recent call last):
    ...
    ValueError: max_attempts must be at least 1, not 0
    """

    dedup_window: float = attrs.field(default=86_400.0, converter=float, validator=_positive)
    dedup_revisions: bool = False
    lease: float = attrs.field(default=60.0, converter=float, validator=_positive)
    max_attempts: int = attrs.field(default=10, validator=_at_least_one)
    backoff: float = attrs.field(default=1.0, converter=float, validator=_positive)
    max_backoff: float = attrs.field(default=3_600.0, converter=float, validator=_positive)
    max_rejected_body: int = 4_096
    batch_budget: float = attrs.field(default=0.02, converter=float, validator=_positive)
    write_timeout: float = attrs.field(default=5.0, converter=float, validator=_positive)
    spill_after: float = attrs.field(default=0.25, converter=float, validator=_positive)
    min_free_bytes: int = attrs.field(default=8 * 1_048_576, validator=attrs.validators.ge(0))

    def retry_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based).

        >>> [InboxSettings().retry_delay(n) for n in (1, 2, 3)]
        [1.0, 2.0, 4.0]
        """
        return min(self.backoff * 2.0 ** min(max(attempt - 1, 0), 64), self.max_backoff)
