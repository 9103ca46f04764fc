"""The compiled index behind `Router`: routes in, matching with no scan over routes.

An `Index` is an immutable snapshot built from a tuple of routes.  Lookups
are dictionary hits keyed by what a notification carries:

* non-ARI events: ``(property, event)``, plus the ``*`` routes per property;
* ARI items: ``(property, rate plan, room type)`` where each id may be the
  wildcard branch ``*``.  Each key leads to a short list of leaves; a leaf
  holds its restriction list as a bitmask and, when the id lists were too
  long to expand as a cross product, the id set it still has to verify.

``property`` is the route's scope or None for unscoped routes, so a
notification looks up at most two properties, two rate plans and two room
types: eight dictionary probes per *group* of items, whatever the number of
routes.  Items are grouped by (room type, rate plan, keys) first, because an
ARI notification usually repeats one combination over many dates.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from itertools import compress, count
from typing import Any, Final, NamedTuple

import attrs

from .._catalogue import ARI, Catalogue
from .._envelope import check_ari_array, check_ari_items
from .._language.items import AriFilter, EventItem, Wildcard
from .routes import Route

__all__ = ["ALL_ITEMS", "NO_ITEMS", "Index", "ItemChoice", "PatternLayout", "chosen_items"]

# Above this many (rate plan, room type) pairs, a filter is indexed on one
# dimension only and its leaves verify the other; 500 x 500 ids would
# otherwise expand to 250,000 keys.
EXPANSION_LIMIT: Final = 64
STAR: Final = "*"

MEMO_LIMIT: Final = 65_536

# An ARI item's (room type id, rate plan id, *keys), values as sent.
Pattern = tuple[Any, ...]
# Which ARI items a route selects: ALL_ITEMS, or the ids of the items' patterns.
ItemChoice = frozenset[int] | None
ALL_ITEMS: Final = None
NO_ITEMS: Final[frozenset[int]] = frozenset()
_DICT_ONLY: Final = frozenset({dict})
_ODD: Final = ("not a string",)


class PatternLayout(enum.Enum):
    """What an item's pattern holds, decided once per index from what its filters look at.

    Fewer parts make cheaper patterns: no filter names an id (KEYS), or
    every filter takes any restriction (IDS).
    """

    IDS_AND_KEYS = "ids and keys"
    KEYS = "keys"
    IDS = "ids"


# Building a named tuple through tuple.__new__ skips its Python-level
# __new__ and halves the cost; the match path builds one per notification.
_new: Final = tuple.__new__


class Selection(NamedTuple):
    """The result of `Index.match` for one notification.

    ``matches`` holds ``(route position, item choice)`` in registration order;
    ``ids`` holds each ARI item's pattern id (None when there are no items
    to select from: other events, signal-only notifications).
    """

    matches: Sequence[tuple[int, ItemChoice]]
    ids: list[int] | None = None


@attrs.frozen(slots=True)
class _Leaf:
    route: int  # position in Index.routes
    bits: int  # restriction bitmask; 0 means '*'
    rooms: frozenset[str] | None  # room types to verify (None: nothing to verify)
    rates: frozenset[str] | None  # rate plans to verify


def _first(entry: tuple[int, ItemChoice]) -> int:
    return entry[0]


class Index:
    """An immutable, compiled snapshot of a router's routes.

    >>> from eventmask import Route
    >>> index = Index([Route("ari:rate:*:*", print)])
    >>> index.match({"event": "ari", "payload": [{"booked": 1}, {"rate": 2}]}).matches
    [(0, frozenset({1}))]
    """

    __slots__ = (
        "_memo",
        "ari_all",
        "bits",
        "by_event",
        "catalogue",
        "filter_routes",
        "has_async",
        "layout",
        "leaves",
        "routes",
        "scoped",
    )

    def __init__(self, routes: Sequence[Route], catalogue: Catalogue | None = None) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self.catalogue = catalogue or Catalogue.default()
        events: dict[tuple[str | None, str], list[int]] = {}
        star: dict[str | None, list[int]] = {}
        ari_all: dict[str | None, list[int]] = {}
        filter_routes: dict[str | None, list[int]] = {}
        leaves: dict[str | None, dict[tuple[str, str], list[_Leaf]]] = {}
        bits: dict[str, int] = {}
        for position, route in enumerate(self.routes):
            prop = route.property_id
            has_filter = False
            for item in route.mask.items:
                if isinstance(item, Wildcard):
                    star.setdefault(prop, []).append(position)
                    ari_all.setdefault(prop, []).append(position)
                elif isinstance(item, EventItem):
                    events.setdefault((prop, item.name), []).append(position)
                elif item.is_all:
                    ari_all.setdefault(prop, []).append(position)
                else:
                    has_filter = True
                    self._add_filter(leaves, bits, prop, position, item)
            if has_filter:
                filter_routes.setdefault(prop, []).append(position)
        # (property, event) -> matches for that event, '*' routes included;
        # (property, None) -> the '*' routes alone, for events nobody names.
        by_event: dict[tuple[str | None, str | None], tuple[tuple[int, ItemChoice], ...]] = {}
        for (prop, name), found in events.items():
            merged = sorted({*found, *star.get(prop, ())})
            by_event[prop, name] = tuple((r, NO_ITEMS) for r in merged)
        for prop, found in star.items():
            by_event[prop, None] = tuple((r, NO_ITEMS) for r in found)
        self.by_event = by_event
        self.scoped = any(route.property_id is not None for route in self.routes)
        self.has_async = any(route.is_async for route in self.routes)
        self.ari_all = {k: tuple(v) for k, v in ari_all.items()}
        self.filter_routes = {k: tuple(v) for k, v in filter_routes.items()}
        self.leaves = {
            prop: {key: tuple(found) for key, found in table.items()}
            for prop, table in leaves.items()
        }
        self.bits = bits
        every = [
            leaf for table in self.leaves.values() for found in table.values() for leaf in found
        ]
        uses_ids = any(
            key != (STAR, STAR) for table in self.leaves.values() for key in table
        ) or any(leaf.rooms is not None or leaf.rates is not None for leaf in every)
        uses_keys = any(leaf.bits for leaf in every)
        self.layout = (
            PatternLayout.IDS_AND_KEYS
            if uses_ids and uses_keys
            else PatternLayout.KEYS
            if uses_keys
            else PatternLayout.IDS
        )
        # Pattern -> routes, per property: real streams repeat the same room
        # type, rate plan and keys over many dates and notifications.  The
        # memo belongs to this immutable snapshot, so it can never go stale.
        self._memo: dict[tuple[str | None, Pattern], tuple[int, ...]] = {}

    @staticmethod
    def _add_filter(
        leaves: dict[str | None, dict[tuple[str, str], list[_Leaf]]],
        bits: dict[str, int],
        prop: str | None,
        position: int,
        f: AriFilter,
    ) -> None:
        mask = 0
        for name in f.restrictions or ():
            bit = bits.get(name)
            if bit is None:
                bit = bits[name] = 1 << len(bits)
            mask |= bit
        rates = sorted(f.rate_plan_ids) if f.rate_plan_ids is not None else [STAR]
        rooms = sorted(f.room_type_ids) if f.room_type_ids is not None else [STAR]
        verify_rooms = verify_rates = None
        if len(rates) * len(rooms) > EXPANSION_LIMIT:
            # Index on the longer list (more selective keys), verify the other.
            if len(rates) >= len(rooms):
                verify_rooms, rooms = f.room_type_ids, [STAR]
            else:
                verify_rates, rates = f.rate_plan_ids, [STAR]
        leaf = _Leaf(position, mask, verify_rooms, verify_rates)
        table = leaves.setdefault(prop, {})
        for rate in rates:
            for room in rooms:
                table.setdefault((rate, room), []).append(leaf)

    def match(self, doc: Mapping[str, Any]) -> Selection:
        """The routes matching a loaded notification, in registration order."""
        event = self.catalogue.resolve(doc["event"])
        prop = doc.get("property_id")
        if event != ARI:
            # Precomputed per (property, event), '*' routes merged in.
            found = self.by_event.get((None, event)) or self.by_event.get((None, None), ())
            if not self.scoped or prop.__class__ is not str:
                return _new(Selection, (found, None))
            scope = prop.lower()
            mine = self.by_event.get((scope, event)) or self.by_event.get((scope, None), ())
            if not mine:
                return _new(Selection, (found, None))
            if not found:
                return _new(Selection, (mine, None))
            return _new(Selection, (sorted(found + mine, key=_first), None))
        props: tuple[str | None, ...] = (prop.lower(), None) if isinstance(prop, str) else (None,)
        everything: list[int] = []
        filtered: list[int] = []
        for p in props:
            everything += self.ari_all.get(p, ())
            filtered += self.filter_routes.get(p, ())
        payload = doc.get("payload")
        if payload is None:
            # Signal-only: every ari filter matches and selects nothing.
            signal: list[tuple[int, ItemChoice]] = [(r, None) for r in everything]
            signal += [(r, NO_ITEMS) for r in filtered]
            signal.sort(key=_first)
            return Selection(signal)
        if not filtered:
            check_ari_array(payload)
            everything.sort()
            return Selection([(r, None) for r in everything])
        ids, distinct = _patterns(payload, self.layout)
        out: list[tuple[int, ItemChoice]] = [(r, None) for r in everything]
        out += self._select(distinct, props)
        out.sort(key=_first)
        return Selection(out, ids)

    def _select(
        self, distinct: dict[Pattern, int], props: tuple[str | None, ...]
    ) -> list[tuple[int, ItemChoice]]:
        tables = [t for t in (self.leaves.get(p) for p in props) if t]
        memo = self._memo
        if len(memo) > MEMO_LIMIT:
            memo.clear()
        chosen: dict[int, list[int]] = {}
        for pattern, number in distinct.items():
            key = (props[0], pattern)
            routes = memo.get(key)
            if routes is None:
                routes = memo[key] = self._routes_for(tables, pattern)
            for route in routes:
                found = chosen.get(route)
                if found is None:
                    chosen[route] = [number]
                else:
                    found.append(number)
        whole = len(distinct)
        return [
            (route, None if len(found) == whole else frozenset(found))
            for route, found in chosen.items()
        ]

    def _routes_for(
        self, tables: list[dict[tuple[str, str], tuple[_Leaf, ...]]], pattern: Pattern
    ) -> tuple[int, ...]:
        """The filter routes that select items of one (room, rate plan, keys) pattern."""
        layout = self.layout
        if layout is PatternLayout.IDS_AND_KEYS:
            room, rate, keys = pattern[0], pattern[1], pattern[2:]
        elif layout is PatternLayout.KEYS:
            room = rate = None
            keys = pattern
        else:
            room, rate, keys = pattern[0], pattern[1], ()
        room = room.lower() if room.__class__ is str else STAR
        rate = rate.lower() if rate.__class__ is str else STAR
        probes = [(rate, room)]
        if room is not STAR:
            probes.append((rate, STAR))
        if rate is not STAR:
            probes.append((STAR, room))
            if room is not STAR:
                probes.append((STAR, STAR))
        have = 0
        bits = self.bits
        for name in keys:
            have |= bits.get(name, 0)
        found: dict[int, None] = {}
        for table in tables:
            for probe in probes:
                for leaf in table.get(probe, ()):
                    if leaf.bits and not leaf.bits & have:
                        continue
                    if leaf.rooms is not None and room not in leaf.rooms:
                        continue
                    if leaf.rates is not None and rate not in leaf.rates:
                        continue
                    found[leaf.route] = None
        return tuple(found)


def _patterns(payload: object, layout: PatternLayout) -> tuple[list[int], dict[Pattern, int]]:
    """Each ARI item's pattern id, and the distinct patterns with their ids.

    The common case is one comprehension with C-level dict operations; odd
    input falls back to a careful loop that names the bad item.
    """
    if payload.__class__ is not list:
        check_ari_array(payload)
        payload = list(payload)  # type: ignore[call-overload]
    assert isinstance(payload, list)
    # A pattern's id is the position of its first item; C-level map and
    # setdefault keep the per-item cost to one tuple and one hash.
    seen: dict[Pattern, int] = {}
    patterns: list[Pattern]
    try:
        if layout is PatternLayout.IDS_AND_KEYS:
            patterns = [(i.get("room_type_id"), i.get("rate_plan_id"), *i) for i in payload]
        elif layout is PatternLayout.KEYS:
            if {*map(type, payload)} - _DICT_ONLY:
                raise TypeError  # map(tuple) would take a list item for a pattern
            patterns = list(map(tuple, payload))
        else:
            patterns = [(i.get("room_type_id"), i.get("rate_plan_id")) for i in payload]
        ids = list(map(seen.setdefault, patterns, count()))
    except (AttributeError, TypeError):
        seen.clear()
        patterns = [_cut(p, layout) for p in _patterns_carefully(payload)]
        ids = list(map(seen.setdefault, patterns, count()))
    return ids, seen


def _cut(pattern: Pattern, layout: PatternLayout) -> Pattern:
    if layout is PatternLayout.KEYS:
        return pattern[2:]
    if layout is PatternLayout.IDS:
        return pattern[:2]
    return pattern


def _patterns_carefully(payload: list[Any]) -> list[Pattern]:
    check_ari_items(payload)  # the one item-shape check names a bad item
    patterns: list[Pattern] = []
    for item in payload:
        room, rate = item.get("room_type_id"), item.get("rate_plan_id")
        # Ids that are not strings never equal a listed id; keep them hashable.
        room = room if room is None or room.__class__ is str else _ODD
        rate = rate if rate is None or rate.__class__ is str else _ODD
        patterns.append((room, rate, *(k if isinstance(k, str) else repr(k) for k in item)))
    return patterns


def chosen_items(items: Sequence[Any], selection: Selection, choice: ItemChoice) -> tuple[Any, ...]:
    """The ARI items a route's `choice` takes, in payload order.

    >>> chosen_items(["a", "b", "c"], Selection((), [0, 1, 0]), frozenset({0}))
    ('a', 'c')
    """
    if choice is ALL_ITEMS:
        return tuple(items)
    if not choice or selection.ids is None:
        return ()
    return tuple(compress(items, map(choice.__contains__, selection.ids)))
