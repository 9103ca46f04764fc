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

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from ._ast import AriFilter, EventItem, Wildcard
from ._catalogue import Catalogue
from ._errors import NotificationError
from ._notification import check_ari_array, type_name

if TYPE_CHECKING:
    from ._router import Route

__all__ = ["Index"]

# Above this many (rate plan, room type) pairs, a filter is indexed on one
# dimension only and its leaves verify the other; 500 x 500 ids would
# otherwise expand to 250,000 keys.
EXPANSION_LIMIT: Final = 64
STAR: Final = "*"

# A route position, and the positions of the items it selects (None: all items).
RawMatch = tuple[int, "list[int] | None"]


@attrs.frozen(slots=True)
class _Leaf:
    route: int  # position in Index.routes
    bits: int  # restriction bitmask; 0 means '*'
    rooms: frozenset[str] | None  # room types to verify (None: nothing to verify)
    rates: frozenset[str] | None  # rate plans to verify


def _first(entry: RawMatch) -> int:
    return entry[0]


class Index:
    """An immutable, compiled snapshot of a router's routes."""

    __slots__ = (
        "aliases",
        "ari_all",
        "bits",
        "events",
        "filter_routes",
        "leaves",
        "routes",
        "star",
    )

    def __init__(self, routes: Sequence[Route], catalogue: Catalogue | None = None) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self.aliases: dict[str, str] = (catalogue or Catalogue.default()).alias_map
        events: dict[tuple[str | None, str], list[int]] = {}
        star: dict[str | None, list[int]] = {}
        ari_all: dict[str | None, list[int]] = {}
        filter_routes: dict[str | None, list[int]] = {}
        leaves: dict[tuple[str | None, str, str], list[_Leaf]] = {}
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
        self.events = {k: tuple(v) for k, v in events.items()}
        self.star = {k: tuple(v) for k, v in star.items()}
        self.ari_all = {k: tuple(v) for k, v in ari_all.items()}
        self.filter_routes = {k: tuple(v) for k, v in filter_routes.items()}
        self.leaves = {k: tuple(v) for k, v in leaves.items()}
        self.bits = bits

    @staticmethod
    def _add_filter(
        leaves: dict[tuple[str | None, str, str], list[_Leaf]],
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
        for rate in rates:
            for room in rooms:
                leaves.setdefault((prop, rate, room), []).append(leaf)

    def match(self, doc: Mapping[str, Any]) -> list[RawMatch]:
        """The routes matching a loaded notification, in registration order.

        Each entry is ``(route position, item positions)``; item positions
        are None for "every item" and an empty list for a non-ARI event or a
        signal-only notification.
        """
        event = doc["event"]
        event = self.aliases.get(event, event)
        prop = doc.get("property_id")
        props: tuple[str | None, ...] = (prop.lower(), None) if isinstance(prop, str) else (None,)
        if event != "ari":
            found: list[int] = []
            for p in props:
                found += self.events.get((p, event), ())
                found += self.star.get(p, ())
            found.sort()
            return [(r, []) for r in found]
        everything: list[int] = []
        filtered: list[int] = []
        for p in props:
            everything += self.ari_all.get(p, ())
            filtered += self.filter_routes.get(p, ())
        payload = doc.get("payload")
        if payload is None:
            # Signal-only: every ari filter matches and selects nothing.
            signal: list[RawMatch] = [(r, None) for r in everything]
            signal += [(r, []) for r in filtered]
            signal.sort(key=_first)
            return signal
        if not filtered:
            everything.sort()
            return [(r, None) for r in everything]
        selected = self._select(payload, props)
        out: list[RawMatch] = [(r, None) for r in everything]
        out += selected.items()
        out.sort(key=_first)
        return out

    def _select(self, payload: object, props: tuple[str | None, ...]) -> dict[int, list[int]]:
        check_ari_array(payload)
        assert isinstance(payload, Sequence)
        groups: dict[tuple[Any, Any, tuple[str, ...]], list[int]] = {}
        for index, item in enumerate(payload):
            if item.__class__ is not dict and not isinstance(item, Mapping):
                raise NotificationError(
                    f"expected an ARI item object, got {type_name(item)}",
                    f"$.payload[{index}]",
                )
            room = item.get("room_type_id")
            rate = item.get("rate_plan_id")
            key = (
                room if room.__class__ is str else None,
                rate if rate.__class__ is str else None,
                tuple(item),
            )
            members = groups.get(key)
            if members is None:
                groups[key] = [index]
            else:
                members.append(index)
        leaves = self.leaves
        bits = self.bits
        selected: dict[int, list[int]] = {}
        for (room, rate, keys), members in groups.items():
            room = room.lower() if room is not None else None
            rate = rate.lower() if rate is not None else None
            have = 0
            for name in keys:
                have |= bits.get(name, 0)
            seen: set[int] = set()
            for p in props:
                for rk in (rate, STAR) if rate is not None else (STAR,):
                    for mk in (room, STAR) if room is not None else (STAR,):
                        for leaf in leaves.get((p, rk, mk), ()):
                            if leaf.bits and not leaf.bits & have:
                                continue
                            if leaf.rooms is not None and room not in leaf.rooms:
                                continue
                            if leaf.rates is not None and rate not in leaf.rates:
                                continue
                            if leaf.route in seen:
                                continue
                            seen.add(leaf.route)
                            chosen = selected.get(leaf.route)
                            if chosen is None:
                                selected[leaf.route] = list(members)
                            else:
                                chosen += members
        if len(groups) > 1:
            for chosen in selected.values():
                chosen.sort()
        return selected
