"""The routes a router holds: registration, removal, composition, the compiled index.

Routes live in a dict in registration order; matching uses an immutable
compiled `Index`, rebuilt lazily on the first match after a change, under a
lock, so that a dispatch in another thread keeps the snapshot it started
with (docs/routing.md, "The router").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

from .._catalogue import Catalogue
from .._language.mask import Mask
from .._language.parser import parse
from .index import Index
from .routes import H, Handler, Route, as_mask

__all__ = ["Registry"]


class Registry:
    """The registration half of `Router`.

    >>> from eventmask import Router
    >>> len(Router().routes)
    0
    """

    def __init__(self, routes: Iterable[Route] = (), catalogue: Catalogue | None = None) -> None:
        self._lock = threading.Lock()
        self._routes: dict[int, Route] = {}
        self._index: Index | None = None
        self.catalogue = catalogue
        for route in routes:
            self._register(route)

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

        >>> from eventmask import Router
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

        >>> from eventmask import Router
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

    def include(self, other: Registry, *, property_id: str | None = None) -> list[Route]:
        """Register a copy of each of `other`'s routes here, in its order; return them.

        For routers kept in modules of their own (bookings, ARI), composed
        into the one the receiver serves.  Later changes to `other` are not
        seen.  With ``property_id``, unscoped routes are scoped to it.

        >>> from eventmask import Router
        >>> bookings = Router()
        >>> _ = bookings.add("booking", print)
        >>> app = Router()
        >>> [str(r.mask) for r in app.include(bookings)]
        ['booking']
        """
        return [
            self._register(Route(r.mask, r.handler, r.property_id or property_id))
            for r in other.routes
        ]

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
