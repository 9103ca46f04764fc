"""The ARI plan of one property: which of its routes select which items, in one pass.

A plan numbers the routes that can see a property's ARI items (its own
scoped routes and the unscoped ones, in registration order) as *slots*.
Each item is reduced to a pattern, (room type, rate plan, key names), and a
memo maps the pattern to the slots whose filters select such an item; one
pass over the payload appends every item to its slots' lists.  Real streams
repeat a few patterns over many dates, so after the first notifications of
a property a pattern costs one dictionary probe (docs/routing.md, "How the
index works").

Resolving a pattern the first time probes leaves keyed by ``(rate plan,
room type)``, where either may be the wildcard branch ``*``: at most four
probes, whatever the number of routes.  A leaf holds its filter's
restriction list as a bitmask and, when the id lists were too long to expand
as a cross product, the id set it still has to verify.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, Final, NamedTuple

from .._envelope import check_ari_array, check_ari_items
from .._language.items import AriFilter

__all__ = ["EXPANSION_LIMIT", "Plan", "PlanRoute"]

# Above this many (rate plan, room type) pairs, a filter is indexed on one
# dimension only and its leaves verify the other; 500 x 500 ids would
# otherwise expand to 250,000 keys.
EXPANSION_LIMIT: Final = 64
# Patterns a plan remembers before it starts again; a few hundred cover a
# property's real streams.
MEMO_LIMIT: Final = 16_384
STAR: Final = "*"
_ODD: Final = ("not a string",)
_DICT: Final = frozenset({dict})

# An ARI item's (room type id, rate plan id, *keys), values as sent.
Pattern = tuple[Any, ...]


class PatternLayout(enum.Enum):
    """What an item's pattern holds, decided per plan from what its filters look at.

    Fewer parts make cheaper patterns: no filter names an id (KEYS), or
    every filter takes any restriction (IDS).
    """

    IDS_AND_KEYS = "ids and keys"
    KEYS = "keys"
    IDS = "ids"


class PlanRoute(NamedTuple):
    """A route as a plan sees it: its position in the index and what it takes."""

    position: int
    takes_all: bool  # `*` or `ari`: every item
    filters: tuple[AriFilter, ...]  # otherwise, the items these select


class _Leaf(NamedTuple):
    slot: int
    bits: int  # restriction bitmask; 0 means '*'
    rooms: frozenset[str] | None  # room types to verify (None: nothing to verify)
    rates: frozenset[str] | None  # rate plans to verify


class Plan:
    """Which routes select which ARI items, for one property.

    >>> from eventmask import parse
    >>> f = parse("ari:rate:*:*").items[0]
    >>> plan = Plan([PlanRoute(0, False, (f,)), PlanRoute(1, True, ())])
    >>> plan.select([{"booked": 1}, {"rate": 2}])
    [(0, ({'rate': 2},)), (1, ({'booked': 1}, {'rate': 2}))]
    """

    __slots__ = (
        "_bits",
        "_leaves",
        "_memo",
        "_slots",
        "everything",
        "layout",
        "positions",
    )

    def __init__(self, routes: Iterable[PlanRoute]) -> None:
        ordered = sorted(routes)
        self.everything = tuple(r.position for r in ordered if r.takes_all)
        # The filter routes are the slots, in registration order.
        self.positions = tuple(r.position for r in ordered if not r.takes_all)
        self._bits: dict[str, int] = {}
        leaves: dict[tuple[str, str], list[_Leaf]] = {}
        for slot, route in enumerate(r for r in ordered if not r.takes_all):
            for f in route.filters:
                self._add(leaves, slot, f)
        self._leaves = {key: tuple(found) for key, found in leaves.items()}
        self._slots = range(len(self.positions))
        self.layout = _layout(self._leaves)
        self._memo: dict[Pattern, tuple[int, ...]] = {}

    def _add(self, leaves: dict[tuple[str, str], list[_Leaf]], slot: int, f: AriFilter) -> None:
        mask = 0
        for name in f.restrictions or ():
            bit = self._bits.get(name)
            if bit is None:
                bit = self._bits[name] = 1 << len(self._bits)
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
        leaf = _Leaf(slot, mask, verify_rooms, verify_rates)
        for rate in rates:
            for room in rooms:
                leaves.setdefault((rate, room), []).append(leaf)

    def select(self, payload: Any) -> list[tuple[int, tuple[Any, ...]]]:
        """``(route position, selected items)`` for each route that selects any, in order.

        `payload` is the notification's ARI payload (a list of item objects);
        a malformed one raises `NotificationError` naming the bad item.
        """
        if payload.__class__ is not list:
            check_ari_array(payload)
            payload = list(payload)
        if self.everything and {*map(type, payload)} - _DICT:
            check_ari_items(payload)  # every item of an ARI payload is an object
        found = [(p, tuple(payload)) for p in self.everything] if self.everything else []
        if not self.positions:
            return found
        buckets = self._fill(payload)
        positions = self.positions
        found += [(positions[s], tuple(b)) for s, b in enumerate(buckets) if b]
        if self.everything:
            found.sort(key=_first)
        return found

    def _fill(self, payload: list[Any]) -> list[list[Any]]:
        """Each slot's selected items: one memo probe per item, one append per selection.

        The per-item work is only building the pattern, probing the memo and
        appending, so there is one loop per layout.  The first loop reads the
        ids by subscript (the cheapest read); an item without one sends the
        payload to `_fill_by_get`, and an odd item to `_fill_carefully`.
        """
        memo = self._memo
        if len(memo) > MEMO_LIMIT:
            memo.clear()
        if self.layout is not PatternLayout.IDS_AND_KEYS:
            return self._fill_by_get(payload)
        buckets: list[list[Any]] = [[] for _ in self._slots]
        appends = [b.append for b in buckets]
        probe = memo.get
        try:
            for item in payload:
                key = (item["room_type_id"], item["rate_plan_id"], *item)
                slots = probe(key)
                if slots is None:
                    slots = memo[key] = self._slots_for(key)
                for slot in slots:
                    appends[slot](item)
        except KeyError:  # an item without an id (availability often has no rate plan)
            return self._fill_by_get(payload)
        except TypeError:
            return self._fill_carefully(payload)
        return buckets

    def _fill_by_get(self, payload: list[Any]) -> list[list[Any]]:
        """`_fill` for items that may lack an id, and for the other layouts."""
        buckets: list[list[Any]] = [[] for _ in self._slots]
        appends = [b.append for b in buckets]
        memo = self._memo
        resolve = self._slots_for
        try:
            if self.layout is PatternLayout.IDS_AND_KEYS:
                for item in payload:
                    key = (item.get("room_type_id"), item.get("rate_plan_id"), *item)
                    slots = memo.get(key)
                    if slots is None:
                        slots = memo[key] = resolve(key)
                    for slot in slots:
                        appends[slot](item)
            elif self.layout is PatternLayout.KEYS:
                for item in payload:
                    if item.__class__ is not dict:
                        raise TypeError  # tuple() would take a list for a pattern
                    key = tuple(item)
                    slots = memo.get(key)
                    if slots is None:
                        slots = memo[key] = resolve(key)
                    for slot in slots:
                        appends[slot](item)
            else:
                for item in payload:
                    key = (item.get("room_type_id"), item.get("rate_plan_id"))
                    slots = memo.get(key)
                    if slots is None:
                        slots = memo[key] = resolve(key)
                    for slot in slots:
                        appends[slot](item)
        except (AttributeError, TypeError):
            return self._fill_carefully(payload)
        return buckets

    def _fill_carefully(self, payload: list[Any]) -> list[list[Any]]:
        """`_fill` for odd payloads: names a bad item, tolerates odd ids and keys."""
        check_ari_items(payload)  # the one item-shape check names a bad item
        buckets: list[list[Any]] = [[] for _ in self._slots]
        for item in payload:
            room, rate = item.get("room_type_id"), item.get("rate_plan_id")
            # Ids that are not strings never equal a listed id; keep them hashable.
            room = room if room is None or room.__class__ is str else _ODD
            rate = rate if rate is None or rate.__class__ is str else _ODD
            keys = tuple(k if isinstance(k, str) else repr(k) for k in item)
            pattern = _cut((room, rate, *keys), self.layout)
            for slot in self._slots_for(pattern):
                buckets[slot].append(item)
        return buckets

    def _slots_for(self, pattern: Pattern) -> tuple[int, ...]:
        """The slots whose filters select items of one pattern (the memo's miss path)."""
        layout = self.layout
        if layout is PatternLayout.IDS_AND_KEYS:
            room, rate, keys = pattern[0], pattern[1], pattern[2:]
        elif layout is PatternLayout.KEYS:
            room, rate, keys = None, None, pattern
        else:
            room, rate, keys = pattern[0], pattern[1], ()
        room = room.lower() if room.__class__ is str else STAR
        rate = rate.lower() if rate.__class__ is str else STAR
        have = 0
        for name in keys:
            have |= self._bits.get(name, 0)
        found: dict[int, None] = {}
        for probe in _probes(rate, room):
            for leaf in self._leaves.get(probe, ()):
                if leaf.bits and not leaf.bits & have:
                    continue
                if leaf.rooms is not None and room not in leaf.rooms:
                    continue
                if leaf.rates is not None and rate not in leaf.rates:
                    continue
                found[leaf.slot] = None
        return tuple(sorted(found))


def _probes(rate: str, room: str) -> list[tuple[str, str]]:
    probes = [(rate, room)]
    if room is not STAR:
        probes.append((rate, STAR))
    if rate is not STAR:
        probes.append((STAR, room))
        if room is not STAR:
            probes.append((STAR, STAR))
    return probes


def _layout(leaves: dict[tuple[str, str], tuple[_Leaf, ...]]) -> PatternLayout:
    every = [leaf for found in leaves.values() for leaf in found]
    uses_ids = any(key != (STAR, STAR) for key in leaves) or any(
        leaf.rooms is not None or leaf.rates is not None for leaf in every
    )
    uses_keys = any(leaf.bits for leaf in every)
    if uses_ids and uses_keys:
        return PatternLayout.IDS_AND_KEYS
    return PatternLayout.KEYS if uses_keys else PatternLayout.IDS


def _cut(pattern: Pattern, layout: PatternLayout) -> Pattern:
    if layout is PatternLayout.KEYS:
        return pattern[2:]
    if layout is PatternLayout.IDS:
        return pattern[:2]
    return pattern


def _first(entry: tuple[int, Any]) -> int:
    return entry[0]
