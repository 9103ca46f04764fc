"""The typed, immutable AST of a mask.

A `Mask` is a canonical, minimized tuple of items: the `Wildcard`, an
`EventItem`, or an `AriFilter`.  Items compare by value; their source spans
ride along outside equality.  ``str(mask)`` is the canonical form of SPEC 1.4
and two masks are equal exactly when their canonical forms are.

The set algebra lives in `_algebra`, the matching semantics in `_matching`;
the methods here only delegate, so that this module stays the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

import attrs

from ._diagnostics import Diagnostic

if TYPE_CHECKING:
    from ._notification import NotificationInput

__all__ = ["AriFilter", "EventItem", "Item", "Mask", "Span", "Wildcard"]

Span = tuple[int, int]


@attrs.frozen(slots=True)
class Wildcard:
    """``*``: every notification, every ARI item."""

    span: Span | None = attrs.field(default=None, eq=False, repr=False)

    def __str__(self) -> str:
        return "*"


@attrs.frozen(slots=True)
class EventItem:
    """A single event name such as ``booking_new`` (aliases already resolved).

    >>> str(EventItem("booking_new"))
    'booking_new'
    """

    name: str
    span: Span | None = attrs.field(default=None, eq=False, repr=False)

    def __str__(self) -> str:
        return self.name


def _ids(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(v.lower() for v in value)


def _names(value: Iterable[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@attrs.frozen(slots=True)
class AriFilter:
    """An ``ari`` item: restrictions, room type ids, rate plan ids.

    ``None`` in a dimension stands for ``*``.  Ids are kept in lower case.

    >>> str(AriFilter(restrictions={"rate"}))
    'ari:rate:*:*'
    >>> str(AriFilter())
    'ari'
    """

    restrictions: frozenset[str] | None = attrs.field(default=None, converter=_names)
    room_type_ids: frozenset[str] | None = attrs.field(default=None, converter=_ids)
    rate_plan_ids: frozenset[str] | None = attrs.field(default=None, converter=_ids)
    span: Span | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def is_all(self) -> bool:
        """Whether this is plain ``ari`` (all three segments ``*``)."""
        return (
            self.restrictions is None and self.room_type_ids is None and self.rate_plan_ids is None
        )

    def __str__(self) -> str:
        if self.is_all:
            return "ari"
        return "ari:" + ":".join(
            "*" if seg is None else ",".join(sorted(seg))
            for seg in (self.restrictions, self.room_type_ids, self.rate_plan_ids)
        )


Item = Wildcard | EventItem | AriFilter


def item_covers(a: Item, b: Item) -> bool:
    """Whether single item `a` matches and selects everything `b` does.

    Dimension-wise inclusion is exact for single ARI filters: a restriction
    (or id) that `b` names and `a` does not yields an item only `b` selects.
    """
    if isinstance(a, Wildcard):
        return True
    if isinstance(a, EventItem):
        return isinstance(b, EventItem) and a.name == b.name
    if isinstance(b, AriFilter):
        return all(
            x is None or (y is not None and y <= x)
            for x, y in (
                (a.restrictions, b.restrictions),
                (a.room_type_ids, b.room_type_ids),
                (a.rate_plan_ids, b.rate_plan_ids),
            )
        )
    return False


def canonical_items(items: Iterable[Item]) -> tuple[Item, ...]:
    """Deduplicate, drop items covered by another single item, sort by text."""
    unique: dict[Item, None] = dict.fromkeys(items)
    for item in unique:
        if isinstance(item, Wildcard):
            return (item,)
    events = [i for i in unique if not isinstance(i, AriFilter)]
    filters = [i for i in unique if isinstance(i, AriFilter)]
    if any(f.is_all for f in filters):
        filters = [next(f for f in filters if f.is_all)]
    elif len(filters) > 1:
        filters = [f for f in filters if not any(g is not f and item_covers(g, f) for g in filters)]
    return tuple(sorted([*events, *filters], key=str))


@attrs.frozen(slots=True, eq=False)
class Mask:
    """A parsed event mask: canonical, immutable, hashable.

    Build one with `eventmask.parse`.  ``str()`` gives the canonical form;
    ``==`` and ``hash`` follow it; `warnings` (outside equality) holds the
    diagnostics of the parse that produced it.

    >>> from eventmask import parse
    >>> m = parse("booking_new;booking_cancellation;booking_new")
    >>> str(m)
    'booking_cancellation;booking_new'
    >>> m == parse("booking_cancellation;booking_new")
    True
    """

    items: tuple[Item, ...] = attrs.field(converter=canonical_items)
    warnings: tuple[Diagnostic, ...] = attrs.field(default=())
    source: str | None = attrs.field(default=None)

    @cached_property
    def text(self) -> str:
        """The canonical form (same as ``str(mask)``)."""
        return ";".join(str(i) for i in self.items)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Mask({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mask):
            return self.text == other.text
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Mask):
            return self.text != other.text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)

    @property
    def is_wildcard(self) -> bool:
        """Whether the mask is ``*``."""
        return len(self.items) == 1 and isinstance(self.items[0], Wildcard)

    # -- matching (SPEC 3) -------------------------------------------------

    def matches(self, notification: NotificationInput) -> bool:
        """Whether the mask matches `notification` (a mapping, or JSON bytes/str).

        >>> from eventmask import parse
        >>> parse("booking;message").matches({"event": "message", "payload": {}})
        True
        >>> parse("ari:rate:*:*").matches(b'{"event": "ari", "payload": [{"booked": 1}]}')
        False
        """
        from ._matching import reference_matches

        return reference_matches(self, notification)

    def select(self, notification: NotificationInput) -> list[Mapping[str, Any]]:
        """The ARI items of `notification` the mask selects, in payload order.

        >>> from eventmask import parse
        >>> n = {"event": "ari", "payload": [{"date": "2026-01-01", "rate": 100},
        ...                                  {"date": "2026-01-01", "availability": 2}]}
        >>> parse("ari:availability:*:*").select(n)
        [{'date': '2026-01-01', 'availability': 2}]
        """
        from ._matching import reference_select

        return reference_select(self, notification)

    # -- algebra (SPEC 4), in eventmask._algebra -----------------------------

    def covers(self, other: Mask) -> bool:
        """Whether this mask matches and selects everything `other` does.

        >>> from eventmask import parse
        >>> parse("ari:rate:*:*;ari:availability:*:*").covers(parse("ari:availability,rate:*:*"))
        True
        """
        from ._algebra import covers

        return covers(self, other)

    def overlaps(self, other: Mask) -> bool:
        """Whether some notification with data is selected by both masks.

        >>> from eventmask import parse
        >>> parse("ari:rate:*:*").overlaps(parse("ari:availability:*:*"))
        True
        """
        from ._algebra import overlaps

        return overlaps(self, other)

    def equivalent(self, other: Mask) -> bool:
        """Whether each mask covers the other.

        >>> from eventmask import parse
        >>> parse("ari:rate:*:*;ari:booked:*:*").equivalent(parse("ari:booked,rate:*:*"))
        True
        """
        return self.covers(other) and other.covers(self)

    def __or__(self, other: Mask) -> Mask:
        from ._algebra import union

        return union(self, other)

    def __and__(self, other: Mask) -> Mask | None:
        from ._algebra import intersection

        return intersection(self, other)


def mask_of(items: Sequence[Item], source: str | None = None) -> Mask:
    """Build a mask from items (canonicalized), with no warnings."""
    return Mask(tuple(items), (), source)
