"""Exact set algebra over masks: covers, overlaps, union, intersection, witnesses.

The functions take and return canonical item tuples (``Mask.items``), so
that `Mask` can wrap them without this module knowing `Mask`
(docs/algebra.md has the rules).

A mask denotes two things: which notifications it matches and, for ``ari``
notifications, which items it selects.  An ARI item is characterised by its
room type id, its rate plan id and the set of keys it carries; a filter
selects it when the ids are in its lists and the keys meet its restriction
list.  Everything below follows from three facts:

* The universe is open: unknown events, unmentioned ids, null ids and keys
  no mask names all exist.  Only ``*`` matches every event; only ``ari``
  (or ``*``) selects every item and matches an empty ARI payload.
* Ids matter only through which filters accept them, so a dimension splits
  into at most ``len(filters) + 1`` classes of equivalent ids; covering is
  checked class by class, never id by id (no blow-up on 500-id lists).
* An item may carry several keys, so two filters whose id lists meet always
  select a common item (one key from each restriction list).

The brute-force oracle in the tests checks these functions against explicit
evaluation over a finite universe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from .items import AriFilter, EventItem, Item, canonical_items, is_wildcard

Items = tuple[Item, ...]

__all__ = [
    "covers",
    "intersection",
    "overlap_example",
    "overlaps",
    "uncovered_example",
    "union",
]

# A value no mask mentions: stands for every unmentioned id.
_OTHER: Final = "\x00other"
EXAMPLE_PROPERTY: Final = "00000000-0000-4000-8000-000000000000"
EXAMPLE_ROOM_TYPE: Final = "00000000-0000-4000-8000-0000000000aa"
EXAMPLE_RATE_PLAN: Final = "00000000-0000-4000-8000-0000000000bb"
_EXAMPLE_VALUES: Final[dict[str, Any]] = {
    "rate": "100.00",
    "availability": 1,
    "availability_offset": 0,
    "booked": 1,
    "max_availability": 1,
    "max_stay": 30,
    "min_stay": 1,
    "min_stay_arrival": 1,
    "min_stay_through": 1,
    "closed_to_arrival": False,
    "closed_to_departure": False,
    "stop_sell": False,
    "stop_sell_manual": False,
}


def _events(items: Items) -> frozenset[str]:
    return frozenset(i.name for i in items if isinstance(i, EventItem))


def _filters(items: Items) -> list[AriFilter]:
    return [i for i in items if isinstance(i, AriFilter)]


def _classes(
    own: frozenset[str] | None, lists: Sequence[frozenset[str] | None]
) -> dict[frozenset[int], str]:
    """The distinct ways the filters accept an id that `own` allows.

    Each class (the set of filter positions accepting its ids) maps to one
    representative id; `_OTHER` stands for ids nobody mentions.
    """
    if own is not None:
        values: Iterable[str] = sorted(own)
    else:
        mentioned: set[str] = set()
        for ids in lists:
            if ids is not None:
                mentioned |= ids
        values = [*sorted(mentioned), _OTHER]
    classes: dict[frozenset[int], str] = {}
    for value in values:
        key = frozenset(i for i, ids in enumerate(lists) if ids is None or value in ids)
        classes.setdefault(key, value)
    return classes


def _escape(f: AriFilter, others: Sequence[AriFilter]) -> dict[str, Any] | None:
    """An ARI item `f` selects and no filter of `others` does, or None."""
    if any(g.is_all for g in others):
        return None
    rooms = _classes(f.room_type_ids, [g.room_type_ids for g in others])
    rates = _classes(f.rate_plan_ids, [g.rate_plan_ids for g in others])
    for room_class, room in rooms.items():
        for rate_class, rate in rates.items():
            applicable = room_class & rate_class
            if any(others[i].restrictions is None for i in applicable):
                continue
            union: set[str] = set()
            for i in applicable:
                union |= others[i].restrictions or frozenset()
            if f.restrictions is None:
                keys: list[str] = []  # an item that carries no restriction key
            elif not f.restrictions <= union:
                keys = [min(f.restrictions - union)]
            else:
                continue
            return _item(
                EXAMPLE_ROOM_TYPE if room == _OTHER else room,
                EXAMPLE_RATE_PLAN if rate == _OTHER else rate,
                keys,
            )
    return None


def filter_covered(f: AriFilter, others: Sequence[AriFilter]) -> bool:
    """Whether the union of `others` selects every item `f` selects.

    >>> filter_covered(AriFilter({"rate", "booked"}), [AriFilter({"rate"}), AriFilter({"booked"})])
    True
    """
    return _escape(f, others) is None


def _item(room: str, rate: str, keys: Iterable[str]) -> dict[str, Any]:
    item: dict[str, Any] = {"date": "2026-01-01", "room_type_id": room, "rate_plan_id": rate}
    for key in keys:
        item[key] = _EXAMPLE_VALUES.get(key, 1)
    return item


def uncovered_example(a: Items, b: Items) -> dict[str, Any] | None:
    """A notification `b` delivers (or an item it selects) that `a` misses; None if `a` covers `b`.

    >>> from eventmask import parse
    >>> uncovered_example(parse("ari:rate:*:*").items, parse("ari:booked,rate:*:*").items)[
    ...     "payload"][0]["booked"]
    1
    """
    if is_wildcard(a):
        return None
    if is_wildcard(b):
        named = _events(a)
        event = next(
            n for n in ("booking", "message", "review", "a_future_event") if n not in named
        )
        return _notification(event, {})
    missing = _events(b) - _events(a)
    if missing:
        return _notification(min(missing), {})
    fa, fb = _filters(a), _filters(b)
    if not fb or any(f.is_all for f in fa):
        return None
    if not fa:
        return _ari_example(fb[0], fb[0])
    for f in fb:
        item = _escape(f, fa)
        if item is not None:
            return _notification("ari", [item])
    return None


def covers(a: Items, b: Items) -> bool:
    """Whether `a` matches every notification `b` matches and selects what `b` selects.

    >>> from eventmask import parse
    >>> covers(parse("ari:rate:*:*;ari:booked:*:*").items, parse("ari:booked,rate:*:*").items)
    True
    >>> covers(parse("ari:availability,rate:*:*").items, parse("ari").items)
    False
    """
    if is_wildcard(a):
        return True
    if is_wildcard(b):
        return False  # only '*' matches events nobody has named yet
    if not _events(b) <= _events(a):
        return False
    fb = _filters(b)
    if not fb:
        return True
    fa = _filters(a)
    if not fa:
        return False  # b matches signal-only ARI notifications, a does not
    if any(f.is_all for f in fa):
        return True
    if any(f.is_all for f in fb):
        return False  # an empty ARI payload, or an item no filter of a takes
    return all(filter_covered(f, fa) for f in fb)


def _meet(x: frozenset[str] | None, y: frozenset[str] | None) -> bool:
    return x is None or y is None or not x.isdisjoint(y)


def _pair_overlaps(f: AriFilter, g: AriFilter) -> bool:
    # Restrictions never separate two filters: an item may carry a key of each.
    return _meet(f.room_type_ids, g.room_type_ids) and _meet(f.rate_plan_ids, g.rate_plan_ids)


def overlaps(a: Items, b: Items) -> bool:
    """Whether some notification with data is matched by both (and an item selected by both).

    >>> from eventmask import parse
    >>> overlaps(parse("booking;message").items, parse("message;review").items)
    True
    >>> overlaps(parse("ari:rate:27e24739-239c-4619-9c30-0dc390f5d7ac:*").items,
    ...          parse("booking").items)
    False
    """
    return overlap_example(a, b) is not None


def _pick(x: frozenset[str] | None, y: frozenset[str] | None, default: str) -> str:
    if x is None and y is None:
        return default
    if x is None:
        assert y is not None
        return min(y)
    if y is None:
        return min(x)
    return min(x & y)


def _example_keys(f: AriFilter, g: AriFilter) -> list[str]:
    rf, rg = f.restrictions, g.restrictions
    if rf is None and rg is None:
        return ["availability"]
    if rf is None or rg is None:
        known = rf if rf is not None else rg
        assert known is not None
        return [min(known)]
    common = rf & rg
    if common:
        return [min(common)]
    return sorted({min(rf), min(rg)})


def _notification(event: str, payload: Any) -> dict[str, Any]:
    return {
        "event": event,
        "property_id": EXAMPLE_PROPERTY,
        "user_id": None,
        "timestamp": "2026-01-01T00:00:00.000000Z",
        "payload": payload,
    }


def _ari_example(f: AriFilter, g: AriFilter) -> dict[str, Any]:
    room = _pick(f.room_type_ids, g.room_type_ids, EXAMPLE_ROOM_TYPE)
    rate = _pick(f.rate_plan_ids, g.rate_plan_ids, EXAMPLE_RATE_PLAN)
    return _notification("ari", [_item(room, rate, _example_keys(f, g))])


def _any_example(items: Items) -> dict[str, Any]:
    """A data-carrying notification `items` match (and, for ARI, select an item of)."""
    for item in items:
        if isinstance(item, EventItem):
            return _notification(item.name, {})
        if isinstance(item, AriFilter):
            return _ari_example(item, item)
    return _notification("booking", {})  # the wildcard: any event will do


def overlap_example(a: Items, b: Items) -> dict[str, Any] | None:
    """A notification both masks match and select an item of, or None when none exists.

    >>> from eventmask import parse
    >>> example = overlap_example(parse("ari:rate:*:*").items, parse("ari:booked:*:*").items)
    >>> sorted(example["payload"][0])
    ['booked', 'date', 'rate', 'rate_plan_id', 'room_type_id']
    """
    if is_wildcard(a):
        return _any_example(b)
    if is_wildcard(b):
        return _any_example(a)
    common = _events(a) & _events(b)
    if common:
        return _notification(min(common), {})
    for f in _filters(a):
        for g in _filters(b):
            if _pair_overlaps(f, g):
                return _ari_example(f, g)
    return None


def _merge(filters: list[AriFilter]) -> list[AriFilter]:
    """Merge filters that differ in one dimension only (an exact rewrite).

    Two filters equal in two dimensions select the union of their third
    dimension: ``ari:rate:X:*`` and ``ari:booked:X:*`` are ``ari:booked,rate:X:*``.
    """
    changed = True
    while changed and len(filters) > 1:
        changed = False
        for dim in range(3):
            groups: dict[tuple[Any, ...], list[AriFilter]] = {}
            for f in filters:
                dims = (f.restrictions, f.room_type_ids, f.rate_plan_ids)
                groups.setdefault(dims[:dim] + dims[dim + 1 :], []).append(f)
            merged = []
            for group in groups.values():
                if len(group) == 1:
                    merged.append(group[0])
                    continue
                changed = True
                values = [(g.restrictions, g.room_type_ids, g.rate_plan_ids)[dim] for g in group]
                joined: frozenset[str] | None = None
                if None not in values:
                    joined = frozenset().union(*(v for v in values if v is not None))
                r, rooms, rates = (
                    group[0].restrictions,
                    group[0].room_type_ids,
                    group[0].rate_plan_ids,
                )
                if dim == 0:
                    r = joined
                elif dim == 1:
                    rooms = joined
                else:
                    rates = joined
                merged.append(AriFilter(r, rooms, rates))
            filters = merged
    return filters


def _minimal(items: Iterable[Item]) -> Items:
    """Canonical `items`, filters merged and every covered filter dropped."""
    canonical = canonical_items(items)
    filters = _filters(canonical)
    if len(filters) < 2:
        return canonical
    filters = _filters(canonical_items(_merge(filters)))
    kept = list(filters)
    for f in filters:
        rest = [g for g in kept if g is not f]
        if filter_covered(f, rest):
            kept = rest
    events = [i for i in canonical if not isinstance(i, AriFilter)]
    return canonical_items([*events, *kept])


def union(a: Items, b: Items) -> Items:
    """``a | b``: everything either mask delivers, canonical and minimized.

    >>> from eventmask import parse
    >>> union(parse("ari:rate:*:*;ari:booked:*:*").items, parse("ari:booked,rate:*:*").items)
    (AriFilter(restrictions=frozenset({...}), room_type_ids=None, rate_plan_ids=None),)
    """
    return _minimal([*a, *b])


def _intersect(x: frozenset[str] | None, y: frozenset[str] | None) -> frozenset[str] | None:
    if x is None:
        return y
    if y is None:
        return x
    return x & y


def _filter_meet(f: AriFilter, g: AriFilter) -> AriFilter | None:
    """The largest single filter inside both, or None."""
    rooms = _intersect(f.room_type_ids, g.room_type_ids)
    rates = _intersect(f.rate_plan_ids, g.rate_plan_ids)
    restrictions = _intersect(f.restrictions, g.restrictions)
    if any(dim is not None and not dim for dim in (rooms, rates, restrictions)):
        return None
    return AriFilter(restrictions, rooms, rates)


def intersection(a: Items, b: Items) -> Items | None:
    """``a & b``: the largest mask both masks cover, or None when there is none.

    Exact whenever the common part can be written as a mask.  It cannot when
    two filters share only items that carry keys from both restriction lists
    (``ari:rate:*:*`` and ``ari:availability:*:*`` both select an item with
    ``rate`` and ``availability``): no mask selects "items with both keys".
    Then the result is None although `overlaps` is true; `overlap_example`
    shows such an item.

    >>> from eventmask import parse
    >>> [str(i) for i in intersection(parse("booking;ari:rate,booked:*:*").items,
    ...                                parse("ari:rate:*:*;message").items)]
    ['ari:rate:*:*']
    """
    if is_wildcard(a):
        return b
    if is_wildcard(b):
        return a
    items: list[Item] = [EventItem(name) for name in _events(a) & _events(b)]
    for f in _filters(a):
        for g in _filters(b):
            meet = _filter_meet(f, g)
            if meet is not None:
                items.append(meet)
    if not items:
        return None
    return _minimal(items)
