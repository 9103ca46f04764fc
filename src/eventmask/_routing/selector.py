"""The ARI selector of one property: which of its routes select which items, in one pass.

A selector numbers the routes that can see a property's ARI items (its own
scoped routes and the unscoped ones, in registration order) as *slots*.
Which slots take an item depends on its two ids and on which restriction
keys it carries.  The ids are resolved once per (room type, rate plan) pair
into an *entry*: for each key a candidate route looks for, the slot that
takes an item carrying it.  Entries are remembered by rate plan id, so an
item costs one probe on a string (whose hash is cached), one comparison of
its room type and one ``key in item`` per test; a pair with more than
TEST_LIMIT tests is decided by the item's key names instead, one probe of a
memo (docs/routing.md, "How the index works").

Resolving a pair the first time probes leaves keyed by ``(rate plan, room
type)``, where either may be the wildcard branch ``*``: at most four probes,
whatever the number of routes.  A leaf holds its filter's restriction names
and, when the id lists were too long to expand as a cross product, the id
set it still has to verify.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from itertools import filterfalse
from typing import Any, Final, NamedTuple

from .._envelope import check_ari_array, check_ari_items
from .._language.items import AriFilter

__all__ = ["EXPANSION_LIMIT", "TEST_LIMIT", "PropertySelector", "SelectorRoute"]

# Above this many (rate plan, room type) pairs, a filter is indexed on one
# dimension only and its leaves verify the other; 500 x 500 ids would
# otherwise expand to 250,000 keys.
EXPANSION_LIMIT: Final = 64
# Pairs a selector remembers before it starts again (and key-name patterns an
# entry remembers); a property has a few hundred pairs.
MEMO_LIMIT: Final = 16_384
# Above this many tests (a key looked for by a candidate slot, or a slot that
# takes every item), an entry remembers the slots of each pattern of key
# names instead.  Counted with callgrind, a property's routes all on one pair
# (each naming two of the eight keys), machine instructions per item, the
# pair's take against patterns: 6 tests 3,060 against 4,210, 12 tests 4,559
# against 4,834, 20 tests 6,633 against 5,567, 32 tests 10,100 against 6,562
# (docs/routing.md).
TEST_LIMIT: Final = 12
STAR: Final = "*"
_DICT: Final = frozenset({dict})
_ODD: Final = ("not a string",)

# A pair's *take*: a function of (item, the slots' lists) that appends the
# item to each slot of the pair that selects it, generated from the pair's
# tests (`_compiled`): a slot that takes every item appends unconditionally,
# one that looks for keys appends when ``'k1' in item or 'k2' in item``, once
# however many of them the item carries.  Against the loop over (key, slot)
# tuples it replaced, callgrind counted 0.81-0.85 of the instructions per item
# on the router workload (3,166 against 3,927 at 100 routes, 3,256 against
# 3,853 at 10,000; docs/routing.md).  It writes ``buckets[2].append(item)``,
# which the interpreter runs as a specialized list append, rather than calling
# a bound ``append`` made beforehand for every slot of every notification.
Buckets = list[list[Any]]
_Take = Callable[[Any, Buckets], None]
# A pair's entry: the room type id it was resolved for (as sent), its take
# (over TEST_LIMIT, one that remembers the slots of each pattern of key
# names), the slots that take every item, and the other candidate slots with
# the keys they look for.  Plain tuples: the interpreter unpacks and indexes
# an exact tuple on its fast path, a named tuple not.
_Wanted = tuple[tuple[int, frozenset[str]], ...]
_Entry = tuple[Any, _Take, tuple[int, ...], _Wanted]


class SelectorRoute(NamedTuple):
    """A route as a selector sees it: its position in the index and what it takes."""

    position: int
    takes_all: bool  # `*` or `ari`: every item
    filters: tuple[AriFilter, ...]  # otherwise, the items these select


class _Leaf(NamedTuple):
    slot: int
    names: frozenset[str] | None  # the restriction keys it selects; None means '*'
    rooms: frozenset[str] | None  # room types to verify (None: nothing to verify)
    rates: frozenset[str] | None  # rate plans to verify


class PropertySelector:
    """Which routes select which ARI items, for one property.

    >>> from eventmask import parse
    >>> f = parse("ari:rate:*:*").items[0]
    >>> selector = PropertySelector([SelectorRoute(0, False, (f,)), SelectorRoute(1, True, ())])
    >>> selector.select([{"booked": 1}, {"rate": 2}])
    [(0, ({'rate': 2},)), (1, ({'booked': 1}, {'rate': 2}))]
    """

    __slots__ = (
        "_by_rate",
        "_common",
        "_leaves",
        "_pairs",
        "_slots",
        "everything",
        "positions",
    )

    def __init__(self, routes: Iterable[SelectorRoute]) -> None:
        ordered = sorted(routes)
        self.everything = tuple(r.position for r in ordered if r.takes_all)
        # The filter routes are the slots, in registration order.
        self.positions = tuple(r.position for r in ordered if not r.takes_all)
        leaves: dict[tuple[str, str], list[_Leaf]] = {}
        for slot, route in enumerate(r for r in ordered if not r.takes_all):
            for f in route.filters:
                _add(leaves, slot, f)
        self._leaves = {key: tuple(found) for key, found in leaves.items()}
        self._slots = range(len(self.positions))
        self._pairs: dict[tuple[Any, Any], _Entry] = {}
        self._by_rate: dict[Any, _Entry] = {}
        # When no filter names an id, one entry serves every item.
        ids_matter = any(key != (STAR, STAR) for key in self._leaves) or any(
            leaf.rooms is not None or leaf.rates is not None
            for found in self._leaves.values()
            for leaf in found
        )
        self._common = None if ids_matter else self._resolve(None, None)

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
        buckets = self.fill(payload)
        positions = self.positions
        found += [(positions[s], tuple(b)) for s, b in enumerate(buckets) if b]
        if self.everything:
            found.sort(key=_first)
        return found

    def fill(self, payload: list[Any]) -> Buckets:
        """Each slot's items (`select` pairs them with `positions`), from a list payload.

        >>> from eventmask import parse
        >>> f = parse("ari:rate:*:*").items[0]
        >>> PropertySelector([SelectorRoute(0, False, (f,))]).fill([{"booked": 1}, {"rate": 2}])
        [[{'rate': 2}]]
        """
        if self._common is not None:
            return self._fill_common(payload, self._common)
        return self._fill(payload)

    def _fill(self, payload: list[Any]) -> Buckets:
        """Each slot's selected items: one entry probe per item, one call of its pair's take.

        It reads the ids and the entry by subscript, the cheapest reads (a
        `try` costs nothing until it catches); an item without an id sends the
        payload to `_fill_by_get`, and an odd item to `_fill_carefully`.
        """
        buckets: Buckets = [[] for _ in self._slots]
        by_rate = self._by_rate
        try:
            for item in payload:
                try:
                    entry = by_rate[item["rate_plan_id"]]
                except KeyError:  # a rate plan not yet seen, or none (KeyError again)
                    entry = self._learn(item)
                if entry[0] != item["room_type_id"]:  # a rate plan seen with another room type
                    entry = self._learn(item)
                entry[1](item, buckets)
        except KeyError:  # an item without an id (availability may lack a rate plan)
            return self._fill_by_get(payload)
        except TypeError:  # an item that is not an object, or an id that is not hashable
            return self._fill_carefully(payload)
        return buckets

    def _learn(self, item: Any) -> _Entry:
        """The entry of `item`'s pair, remembered by its rate plan (KeyError: it lacks an id)."""
        rate = item["rate_plan_id"]
        entry = self._by_rate[rate] = self._resolve(item["room_type_id"], rate)
        return entry

    def _fill_by_get(self, payload: list[Any]) -> Buckets:
        """`_fill` for items that may lack an id."""
        buckets: Buckets = [[] for _ in self._slots]
        pairs = self._pairs
        try:
            for item in payload:
                room, rate = item.get("room_type_id"), item.get("rate_plan_id")
                entry = pairs.get((room, rate)) or self._resolve(room, rate)
                for slot in _take(entry, item):
                    buckets[slot].append(item)
        except (AttributeError, TypeError):
            return self._fill_carefully(payload)
        return buckets

    def _fill_common(self, payload: list[Any], entry: _Entry) -> Buckets:
        """`_fill` when no filter names an id: one pass over the payload per slot, in C."""
        if {*map(type, payload)} - _DICT:
            return self._fill_carefully(payload)
        buckets: Buckets = [[] for _ in self._slots]
        for slot in entry[2]:
            buckets[slot] = payload
        for slot, names in entry[3]:
            buckets[slot] = list(filterfalse(names.isdisjoint, payload))
        return buckets

    def _fill_carefully(self, payload: list[Any]) -> Buckets:
        """`_fill` for odd payloads: names a bad item, tolerates odd ids and keys."""
        check_ari_items(payload)  # the one item-shape check names a bad item
        buckets: Buckets = [[] for _ in self._slots]
        for item in payload:
            room, rate = item.get("room_type_id"), item.get("rate_plan_id")
            # Ids that are not strings never equal a listed id; keep them hashable.
            room = room if room is None or room.__class__ is str else _ODD
            rate = rate if rate is None or rate.__class__ is str else _ODD
            for slot in _take(self._resolve(room, rate), item):
                buckets[slot].append(item)
        return buckets

    def _resolve(self, room: Any, rate: Any) -> _Entry:
        """The entry of a (room type, rate plan) pair, ids as sent (the miss path)."""
        pairs = self._pairs
        entry = pairs.get((room, rate))
        if entry is not None:
            return entry
        if len(pairs) >= MEMO_LIMIT:
            pairs.clear()
            self._by_rate.clear()
        always, wanted = _candidates(
            self._leaves,
            room.lower() if room.__class__ is str else STAR,
            rate.lower() if rate.__class__ is str else STAR,
        )
        if len(always) + sum(len(names) for _, names in wanted) > TEST_LIMIT:
            entry = pairs[room, rate] = (room, _by_pattern(always, wanted), always, wanted)
            return entry
        entry = pairs[room, rate] = (room, _take_of(always, wanted), always, wanted)
        return entry


def _candidates(
    leaves: Mapping[tuple[str, str], tuple[_Leaf, ...]], room: str, rate: str
) -> tuple[tuple[int, ...], tuple[tuple[int, frozenset[str]], ...]]:
    """The slots taking every item of a pair, and the others with the keys they need."""
    always: set[int] = set()
    wanted: dict[int, set[str]] = {}
    for probe in _probes(rate, room):
        for leaf in leaves.get(probe, ()):
            if leaf.rooms is not None and room not in leaf.rooms:
                continue
            if leaf.rates is not None and rate not in leaf.rates:
                continue
            if leaf.names is None:
                always.add(leaf.slot)
            else:
                wanted.setdefault(leaf.slot, set()).update(leaf.names)
    return tuple(sorted(always)), tuple(
        (slot, frozenset(wanted[slot])) for slot in sorted(wanted.keys() - always)
    )


def _add(leaves: dict[tuple[str, str], list[_Leaf]], slot: int, f: AriFilter) -> None:
    rates = sorted(f.rate_plan_ids) if f.rate_plan_ids is not None else [STAR]
    rooms = sorted(f.room_type_ids) if f.room_type_ids is not None else [STAR]
    verify_rooms = verify_rates = None
    if len(rates) * len(rooms) > EXPANSION_LIMIT:
        # Index on the longer list (more selective keys), verify the other.
        if len(rates) >= len(rooms):
            verify_rooms, rooms = f.room_type_ids, [STAR]
        else:
            verify_rates, rates = f.rate_plan_ids, [STAR]
    leaf = _Leaf(slot, f.restrictions, verify_rooms, verify_rates)
    for rate in rates:
        for room in rooms:
            leaves.setdefault((rate, room), []).append(leaf)


# Takes by their tests, for every selector: properties with the same routes
# make the same tests, and one copy stays in the processor's cache where ten
# thousand would not (sharing equal tests measured 610-630 against 745-760 ns
# per item at 100,000 routes over 10,000 properties, docs/routing.md).  A
# take costs about 100 us to generate, once per distinct tests.
_takes: dict[tuple[tuple[int, ...], _Wanted], _Take] = {}


def _take_of(always: tuple[int, ...], wanted: _Wanted) -> _Take:
    """The shared take of these tests (`_compiled` once)."""
    take = _takes.get((always, wanted))
    if take is None:
        if len(_takes) >= MEMO_LIMIT:
            _takes.clear()  # another thread's reader keeps the take it already has
        take = _takes.setdefault((always, wanted), _compiled(always, wanted))
    return take


def _compiled(always: tuple[int, ...], wanted: _Wanted) -> _Take:
    """A pair's take: its tests as the body of one function (see `_Take`).

    The source holds only slot numbers and ``repr`` of key names, each a
    string literal whatever the name is.

    >>> take = _compiled((0,), ((2, frozenset({"rate", "booked"})),))
    >>> buckets: Buckets = [[], [], []]
    >>> take({"rate": 1, "booked": 2}, buckets)
    >>> [len(b) for b in buckets]
    [1, 0, 1]
    """
    lines = ["def take(item, buckets):"]
    lines += [f"    buckets[{slot}].append(item)" for slot in always]
    for slot, names in wanted:
        carried = " or ".join(f"{name!r} in item" for name in sorted(names))
        lines.append(f"    if {carried}:\n        buckets[{slot}].append(item)")
    lines.append("    return None")
    found: dict[str, Any] = {}
    exec(compile("\n".join(lines), "<eventmask selector>", "exec"), found)
    return found["take"]  # type: ignore[no-any-return]


def _take(entry: _Entry, item: Mapping[Any, Any]) -> list[int]:
    """The slots of a pair's entry that take `item`, in order (the slower paths)."""
    return _slots(entry[2], entry[3], item)


def _slots(always: tuple[int, ...], wanted: _Wanted, item: Mapping[Any, Any]) -> list[int]:
    """The slots that take `item`, in order: those taking every item, and those of
    `wanted` whose keys it carries."""
    taken = [slot for slot, names in wanted if not names.isdisjoint(item)]
    return sorted((*always, *taken)) if always and taken else [*always, *taken]


def _by_pattern(always: tuple[int, ...], wanted: _Wanted) -> _Take:
    """The take of a pair over TEST_LIMIT: the slots of each pattern of an item's key
    names, remembered (up to MEMO_LIMIT patterns).

    >>> take = _by_pattern((), ((1, frozenset({"rate"})),))
    >>> buckets: Buckets = [[], []]
    >>> take({"rate": 1}, buckets); take({"rate": 2}, buckets); take({"booked": 3}, buckets)
    >>> buckets
    [[], [{'rate': 1}, {'rate': 2}]]
    """
    patterns: dict[tuple[Any, ...], list[int]] = {}

    def take_by_pattern(item: Any, buckets: Buckets) -> None:
        key = tuple(item)
        slots = patterns.get(key)
        if slots is None:
            if len(patterns) >= MEMO_LIMIT:
                patterns.clear()
            slots = patterns[key] = _slots(always, wanted, item)
        for slot in slots:
            buckets[slot].append(item)

    return take_by_pattern


def _probes(rate: str, room: str) -> list[tuple[str, str]]:
    probes = [(rate, room)]
    if room is not STAR:
        probes.append((rate, STAR))
    if rate is not STAR:
        probes.append((STAR, room))
        if room is not STAR:
            probes.append((STAR, STAR))
    return probes


def _first(entry: tuple[int, Any]) -> int:
    return entry[0]
