"""The compiled index behind `Router`: routes in, matching with no scan over routes.

An `Index` is an immutable snapshot built from a tuple of routes.  Lookups
are dictionary hits keyed by what a notification carries:

* other events: ``(property, event)``, every spelling of the event (its
  aliases, from the catalogue) included, and the ``*`` routes merged in;
* ARI: the `PropertySelector` of the notification's property (its own routes and the
  unscoped ones), built on first use and kept with the snapshot.

``property`` is the route's scope, or None for unscoped routes.  A
notification looks up at most two properties, whatever the number of routes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from .._catalogue import ARI, Catalogue
from .._envelope import check_ari_array
from .._language.items import AriFilter, EventItem, Wildcard
from .routes import Match, Route
from .selector import PropertySelector, SelectorRoute

__all__ = ["Index", "Matched"]

# What a match is: (route position, the ARI items it selects), in
# registration order.  The items are () for other events and signal-only
# notifications.
Matched = list[tuple[int, tuple[Any, ...]]]
_NONE: Final[tuple[Any, ...]] = ()
# tuple.__new__ skips the named tuple's Python-level __new__.
_new: Final = tuple.__new__


class Index:
    """An immutable, compiled snapshot of a router's routes.

    >>> index = Index([Route("ari:rate:*:*", print), Route("message", print)])
    >>> index.match({"event": "ari", "payload": [{"booked": 1}, {"rate": 2}]})
    [(0, ({'rate': 2},))]
    >>> index.match({"event": "message"})
    [(1, ())]
    """

    __slots__ = (
        "_ari",
        "_by_event",
        "_selector_routes",
        "_selectors",
        "catalogue",
        "has_async",
        "routes",
    )

    def __init__(self, routes: Sequence[Route], catalogue: Catalogue | None = None) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self.catalogue = catalogue or Catalogue.default()
        self.has_async = any(route.is_async for route in self.routes)
        events: dict[tuple[str | None, str], set[int]] = {}
        star: dict[str | None, set[int]] = {}
        selector_routes: dict[str | None, list[SelectorRoute]] = {}
        for position, route in enumerate(self.routes):
            scope = route.property_id
            items = route.mask.items
            filters = tuple(i for i in items if isinstance(i, AriFilter) and not i.is_all)
            takes_all = any(
                isinstance(i, Wildcard) or (isinstance(i, AriFilter) and i.is_all) for i in items
            )
            if takes_all or filters:
                seen = SelectorRoute(position, takes_all, filters)
                selector_routes.setdefault(scope, []).append(seen)
            for item in items:
                if isinstance(item, Wildcard):
                    star.setdefault(scope, set()).add(position)
                elif isinstance(item, EventItem):
                    for spelling in self.catalogue.spellings([item.name]):
                        events.setdefault((scope, spelling), set()).add(position)
        # (scope, spelling) -> the routes for that event, '*' routes included;
        # (scope, None) -> the '*' routes alone, for events nobody names.
        by_event: dict[tuple[str | None, str | None], Matched] = {
            (scope, name): [(p, _NONE) for p in sorted(found | star.get(scope, set()))]
            for (scope, name), found in events.items()
        }
        for scope, found in star.items():
            by_event[scope, None] = [(p, _NONE) for p in sorted(found)]
        self._by_event = by_event
        self._ari = self.catalogue.spellings([ARI])
        self._selector_routes = selector_routes
        self._selectors: dict[str | None, PropertySelector] = {}

    def match(self, doc: Mapping[str, Any]) -> Matched:
        """The routes matching a loaded notification, in registration order, with their items."""
        event = doc["event"]
        prop = doc.get("property_id")
        scope = prop.lower() if prop.__class__ is str else None
        if event not in self._ari:
            return self._match_event(event, scope)
        payload = doc.get("payload")
        selector = self._selector(scope)
        if payload is None:
            # Signal-only: every ARI route matches and selects nothing.
            return sorted((p, _NONE) for p in (*selector.everything, *selector.positions))
        if not selector.positions and not selector.everything:
            check_ari_array(payload)
            return []
        return selector.select(payload)

    def matches(self, doc: Mapping[str, Any]) -> list[Match]:
        """`match` as `Match` objects (what `Router.match` returns).

        An ARI payload's are made straight from its selector's buckets: making
        the (position, items) pairs first and a `Match` of each cost 8-9 ns
        more per item on the router workload (docs/routing.md).

        >>> index = Index([Route("ari:rate:*:*", print), Route("message", print)])
        >>> [m.items for m in index.matches({"event": "ari", "payload": [{"rate": 2}]})]
        [({'rate': 2},)]
        """
        routes = self.routes
        payload = doc.get("payload")
        if payload.__class__ is list and doc["event"] in self._ari:
            prop = doc.get("property_id")
            selector = self._selector(prop.lower() if prop.__class__ is str else None)
            if selector.positions and not selector.everything:
                positions = selector.positions
                buckets = selector.fill(payload)
                return [_new(Match, (routes[positions[s]], tuple(b)))
                        for s, b in enumerate(buckets) if b]  # fmt: skip
        return [_new(Match, (routes[p], items)) for p, items in self.match(doc)]

    def _match_event(self, event: str, scope: str | None) -> Matched:
        by_event = self._by_event
        found = by_event.get((None, event)) or by_event.get((None, None)) or []
        if scope is None:
            return found
        mine = by_event.get((scope, event)) or by_event.get((scope, None))
        if not mine:
            return found
        if not found:
            return mine
        return sorted(found + mine)

    def _selector(self, scope: str | None) -> PropertySelector:
        """The selector for a property's ARI items: its routes and the unscoped ones."""
        key = scope if scope in self._selector_routes else None
        selector = self._selectors.get(key)
        if selector is None:
            routes = list(self._selector_routes.get(None, ()))
            if key is not None:
                routes += self._selector_routes[key]
            selector = self._selectors[key] = PropertySelector(routes)
        return selector
