"""The router: handlers registered by mask, dispatch sync and async.

Routes live in a registry; matching uses an immutable compiled `Index` that
is rebuilt lazily, on the first match after a change.  A dispatch running in
another thread keeps the snapshot it started with and never sees a
half-built index (docs/routing.md, "The router").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from .._catalogue import Catalogue
from .._envelope import NotificationInput, load
from .._language.mask import Mask
from .._language.matching import explain_mask
from .._language.parser import parse
from .dispatch import Call, arun, aunmatched, group_calls, refuse_async, run, unmatched
from .index import Index
from .notification import Notification
from .routes import (
    DispatchResult,
    H,
    Handler,
    Match,
    Route,
    RouteExplanation,
    as_mask,
    is_async,
)

__all__ = ["Router"]

# tuple.__new__ skips the named tuples' Python-level __new__ and halves the
# cost of building one; dispatch builds one per handler call.
_new: Final = tuple.__new__


class Router:
    """Routes Channex notifications to handlers by event mask.

    >>> router = Router()
    >>> @router.on("booking_new;booking_modification")
    ... def on_booking(n):
    ...     return n.payload.revision_id
    >>> result = router.dispatch({"event": "booking_new", "property_id": "p",
    ...                           "payload": {"booking_id": "b", "revision_id": "r1"}})
    >>> [d.result for d in result.deliveries]
    ['r1']
    """

    def __init__(
        self,
        routes: Iterable[Route] = (),
        *,
        catalogue: Catalogue | None = None,
        on_unmatched: Handler | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._routes: dict[int, Route] = {}
        self._index: Index | None = None
        self.catalogue = catalogue
        self.on_unmatched = on_unmatched
        for route in routes:
            self._register(route)

    # -- registration ----------------------------------------------------------

    def _register(self, route: Route) -> Route:
        if not isinstance(route, Route):
            raise TypeError(f"expected a Route, got {type(route).__name__}")
        with self._lock:
            if route.order in self._routes:
                raise ValueError(f"route {route.name} is already registered")
            self._routes[route.order] = route
            self._index = None
        return route

    def add(self, mask: Mask | str, handler: Handler, *, property_id: str | None = None) -> Route:
        """Register `handler` for `mask` (text is parsed strictly) and return the route.

        >>> router = Router()
        >>> router.add("ari:rate:*:*", print, property_id="P1").property_id
        'p1'
        """
        return self._register(Route(self._parse(mask), handler, property_id))

    def _parse(self, mask: Mask | str) -> Mask:
        if isinstance(mask, str):
            return parse(mask, catalogue=self.catalogue)
        return as_mask(mask)

    def on(self, mask: Mask | str, *, property_id: str | None = None) -> Callable[[H], H]:
        """Decorator form of `add`; returns the function unchanged, so it stacks.

        >>> router = Router()
        >>> @router.on("message")
        ... @router.on("review", property_id="p1")
        ... def notify(n): ...
        >>> len(router.routes)
        2
        """

        parsed = self._parse(mask)  # a bad mask fails here, not at decoration

        def decorate(handler: H) -> H:
            self.add(parsed, handler, property_id=property_id)
            return handler

        return decorate

    def remove(self, route: Route) -> None:
        """Unregister `route`; raise `ValueError` if it is not registered here."""
        with self._lock:
            if self._routes.get(route.order) is not route:
                raise ValueError(f"route {route.name} is not registered with this router")
            del self._routes[route.order]
            self._index = None

    @property
    def routes(self) -> tuple[Route, ...]:
        """The registered routes, in registration order."""
        with self._lock:
            return tuple(self._routes.values())

    def compile(self) -> Index:
        """The current compiled snapshot (built now if routes changed since the last)."""
        index = self._index
        if index is None:
            with self._lock:
                index = self._index
                if index is None:
                    index = self._index = Index(tuple(self._routes.values()), self.catalogue)
        return index

    @property
    def _catalogue(self) -> Catalogue:
        return self.catalogue or Catalogue.default()

    @property
    def needs_async(self) -> bool:
        """Whether some handler (or `on_unmatched`) is a coroutine function."""
        return self.compile().has_async or is_async(self.on_unmatched)

    # -- matching ----------------------------------------------------------------

    def match(self, notification: NotificationInput) -> list[Match]:
        """One `Match` per matching route, in registration order; calls nothing.

        >>> router = Router()
        >>> route = router.add("ari:availability:*:*", print)
        >>> n = {"event": "ari", "payload": [{"rate": 1}, {"availability": 0}]}
        >>> [m.items for m in router.match(n)]
        [({'availability': 0},)]
        """
        index = self._index or self.compile()
        routes = index.routes
        # tuple.__new__ skips the named tuple's Python-level __new__.
        return [_new(Match, (routes[p], items)) for p, items in index.match(load(notification))]

    def explain(self, notification: NotificationInput) -> list[RouteExplanation]:
        """For each route, why it matched or which part failed.

        The part is one of event, property, restriction, room type or rate plan.

        >>> router = Router()
        >>> _ = router.add("booking", print, property_id="p1")
        >>> [e.reason for e in router.explain({"event": "booking", "property_id": "p2"})]
        ["property: the notification is for 'p2', the route only for 'p1'"]
        """
        return explain_routes(self.routes, load(notification), self._catalogue)

    def _calls(self, doc: Mapping[str, Any]) -> list[Call]:
        """One call per matched handler, with the union of its routes' items."""
        index = self._index or self.compile()
        return group_calls(index.routes, index.match(doc), doc, self.catalogue)

    # -- dispatch -------------------------------------------------------------------

    def dispatch(
        self, notification: NotificationInput, *args: Any, **kwargs: Any
    ) -> DispatchResult:
        """Call every matching handler once, in registration order, isolating errors.

        Extra arguments are passed to every handler after the notification
        (a database session, a client): ``router.dispatch(n, db)`` calls
        ``handler(notification, db)``.  Refuses (TypeError, before calling
        anything) when a matched handler is a coroutine function: use
        `adispatch` for those.
        """
        doc = load(notification)
        calls = self._calls(doc)
        if not calls:
            return unmatched(self.on_unmatched, Notification(doc, (), self.catalogue), args, kwargs)
        refuse_async(calls)
        return run(calls, args, kwargs)

    async def adispatch(
        self, notification: NotificationInput, *args: Any, **kwargs: Any
    ) -> DispatchResult:
        """Like `dispatch`, but coroutine handlers are awaited concurrently.

        Sync handlers run in registration order on the event loop's thread;
        coroutine handlers are started in registration order and awaited
        together.  One failure does not stop the others.
        """
        doc = load(notification)
        calls = self._calls(doc)
        if not calls:
            received = Notification(doc, (), self.catalogue)
            return await aunmatched(self.on_unmatched, received, args, kwargs)
        return await arun(calls, args, kwargs)

    async def adispatch_in_threads(
        self, notification: NotificationInput, *args: Any, **kwargs: Any
    ) -> DispatchResult:
        """`adispatch`, with each sync handler run in a worker thread.

        For an event loop that serves other requests meanwhile (the inline
        receiver): a slow sync handler no longer delays them.  Handlers still
        run one after the other, in registration order.

        >>> import asyncio
        >>> router = Router()
        >>> _ = router.add("message", lambda n: n.event)
        >>> asyncio.run(router.adispatch_in_threads({"event": "message"})).deliveries[0].result
        'message'
        """
        doc = load(notification)
        calls = self._calls(doc)
        if not calls:
            received = Notification(doc, (), self.catalogue)
            return await aunmatched(self.on_unmatched, received, args, kwargs)
        return await arun(calls, args, kwargs, threads=True)


def explain_routes(
    routes: Sequence[Route], doc: Mapping[str, Any], catalogue: Catalogue
) -> list[RouteExplanation]:
    """For each route, whether it matched `doc` and which part decided.

    >>> explain_routes([Route("booking", print)], {"event": "message"}, Catalogue.default())[
    ...     0].reason
    "event: 'message' is not in the mask (booking)"
    """
    prop = doc.get("property_id")
    prop_lower = prop.lower() if isinstance(prop, str) else None
    out = []
    for route in routes:
        if route.property_id is not None and route.property_id != prop_lower:
            reason = (
                f"property: the notification is for {prop!r}, "
                f"the route only for {route.property_id!r}"
            )
            out.append(RouteExplanation(route, False, reason))
            continue
        detail = explain_mask(route.mask.items, doc, catalogue)
        out.append(RouteExplanation(route, detail.matched, detail.reason, detail))
    return out
