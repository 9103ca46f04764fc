"""The operator's questions and their answers: a search, a page, a timeline, dead-letter groups.

Typed values, so that the command line and the operator's page ask the
inbox the same question the same way (docs/dashboard.md).
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

from .._errors import InboxError
from .states import STATES, State
from .values import Entry

__all__ = [
    "RANGES",
    "AttemptRecord",
    "DeadGroup",
    "EntryPage",
    "EntryQuery",
    "Range",
    "Timeline",
]

Range = Literal["hour", "day", "week"]
# A range's span and its bucket, in seconds: 60 bars of a minute, 48 of half an
# hour, 84 of two hours.  Bucket edges are multiples of the bucket (whole
# minutes), as the refusal counts' minute buckets are.
RANGES: Final[dict[Range, tuple[float, float]]] = {
    "hour": (3_600.0, 60.0),
    "day": (86_400.0, 1_800.0),
    "week": (604_800.0, 7_200.0),
}


def _states(value: tuple[str, ...]) -> None:
    unknown = [s for s in value if s not in STATES]
    if unknown:
        raise InboxError(f"unknown state {unknown[0]!r}; expected one of {', '.join(STATES)}")


@attrs.frozen(slots=True, kw_only=True)
class EntryQuery:
    """Which entries to list: every filter given must hold (AND), several states are OR.

    ``text`` finds an entry id, or any id within a body: a booking, a
    revision, an OTA reservation code.  ``since``/``until`` bound the time
    received (epoch seconds).  ``after`` is the cursor of the previous
    page: the next page continues past that id, in the order asked.

    >>> EntryQuery(states=("dead", "pending"), event="booking").newest_first
    True
    """

    states: tuple[State, ...] = attrs.field(default=(), validator=lambda _, __, v: _states(v))
    event: str | None = None
    property_id: str | None = None
    since: float | None = None
    until: float | None = None
    error_class: str | None = None
    text: str | None = None
    newest_first: bool = True
    after: int | None = None
    limit: int = 50


@attrs.frozen(slots=True)
class EntryPage:
    """One page of a search: its entries, and where the next page starts (None at the end).

    ``partial`` is true when the search stopped at its time budget before
    the page was full: ``next_after`` then says where to go on looking.

    >>> EntryPage((), None).next_after is None
    True
    """

    entries: tuple[Entry, ...]
    next_after: int | None
    partial: bool = False
    scanned_to: int | None = None


@attrs.frozen(slots=True)
class Timeline:
    """Counts per bucket: entries received, by their state now; refusals, by kind.

    Bucket ``i`` covers ``[start + i * step, start + (i + 1) * step)``.

    >>> t = Timeline(0.0, 60.0, {"done": (1, 2)}, {"wrong secret": (0, 3)})
    >>> t.edges()
    [0.0, 60.0]
    """

    start: float
    step: float
    entries: dict[str, tuple[int, ...]]
    refusals: dict[str, tuple[int, ...]]

    def edges(self) -> list[float]:
        """The start of each bucket."""
        size = max((len(v) for v in (*self.entries.values(), *self.refusals.values())), default=0)
        return [self.start + i * self.step for i in range(size)]


@attrs.frozen(slots=True)
class DeadGroup:
    """Dead letters that failed the same way: the exception class and the handler.

    ``last_id`` is the newest entry of the group when it was counted; a
    retry of the group touches no entry above it, so a confirmation means
    what it showed.

    >>> DeadGroup("KeyError", "on_x <- message", 3, 10, 42, "'x'").count
    3
    """

    error_class: str
    handler: str | None
    count: int
    first_id: int
    last_id: int
    example: str


@attrs.frozen(slots=True)
class AttemptRecord:
    """One failed attempt at an entry: when, which attempt, by which worker, why.

    >>> AttemptRecord(0.0, 1, "w1", "KeyError: 'x'").attempt
    1
    """

    at: float
    attempt: int
    owner: str | None
    error: str
