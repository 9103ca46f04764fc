"""The items of a mask's AST, and their canonical order.

An item is the `Wildcard`, an `EventItem`, or an `AriFilter`.  Items compare
by value; their source spans ride along outside equality.  This module is
the leaf of the mask language: the algebra, the reference matcher and
`Mask` all build on it (docs/language.md, "Canonical form").
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

__all__ = [
    "AriFilter",
    "EventItem",
    "Item",
    "Span",
    "Wildcard",
    "canonical_items",
    "is_wildcard",
    "item_covers",
    "render",
]

Span = tuple[int, int]


@attrs.frozen(slots=True)
class Wildcard:
    """``*``: every notification, every ARI item.

    >>> str(Wildcard())
    '*'
    """

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

    @property
    def names_ids(self) -> bool:
        """Whether this names room type or rate plan ids (else only restrictions, or none).

        >>> AriFilter(restrictions={"rate"}).names_ids, AriFilter(rate_plan_ids={"r1"}).names_ids
        (False, True)
        """
        return self.room_type_ids is not None or self.rate_plan_ids is not None

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

    >>> item_covers(AriFilter(), AriFilter(restrictions={"rate"}))
    True

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
    """Deduplicate, drop items covered by another single item, sort by text.

    >>> items = [EventItem("message"), AriFilter(), AriFilter(restrictions={"rate"})]
    >>> [str(i) for i in canonical_items(items)]
    ['ari', 'message']
    """
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


def render(items: Iterable[Item]) -> str:
    """The canonical text of canonical `items`: joined by ``;``.

    >>> render(canonical_items([EventItem("message"), EventItem("booking")]))
    'booking;message'
    """
    return ";".join(str(i) for i in items)


def is_wildcard(items: tuple[Item, ...]) -> bool:
    """Whether canonical `items` are the mask ``*``.

    >>> is_wildcard((Wildcard(),))
    True
    """
    return len(items) == 1 and isinstance(items[0], Wildcard)
