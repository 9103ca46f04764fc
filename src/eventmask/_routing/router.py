"""The router: handlers registered by mask, dispatch sync and async.

Routes live in a registry; matching uses an immutable compiled `Index` that
is rebuilt lazily, on the first match after a change.  A dispatch running in
another thread keeps the snapshot it started with and never sees a
half-built index (docs/routing.md, "The router").
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from .._catalogue import Catalogue
from .._envelope import NotificationInput, load
from .._language.mask import Mask
from .._language.matching import explain_mask
from .._language.parser import parse
from .index import ALL_ITEMS, NO_ITEMS, Index, ItemChoice, Selection, chosen_items
from .notification import Notification
from .routes import (
    NOTHING_DONE,
    DispatchResult,
    H,
    Handler,
    HandlerCall,
    HandlerError,
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

# One handler call to make: the handler, its matched routes, what it receives.
_Call = tuple[Handler, tuple[Route, ...], Notification]


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

    def _raw(self, doc: Mapping[str, Any]) -> tuple[Index, Selection]:
        index = self.compile()
        return index, index.match(doc)

    def match(self, notification: NotificationInput) -> list[Match]:
        """One `Match` per matching route, in registration order; calls nothing.

        >>> router = Router()
        >>> route = router.add("ari:availability:*:*", print)
        >>> n = {"event": "ari", "payload": [{"rate": 1}, {"availability": 0}]}
        >>> [m.items for m in router.match(n)]
        [({'availability': 0},)]
        """
        doc = load(notification)
        index, selection = self._raw(doc)
        items = _items(doc)
        routes = index.routes
        return [
            Match(routes[position], chosen_items(items, selection, choice))
            for position, choice in selection.matches
        ]

    def explain(self, notification: NotificationInput) -> list[RouteExplanation]:
        """For each route, why it matched or which part failed.

        The part is one of event, property, restriction, room type or rate plan.

        >>> router = Router()
        >>> _ = router.add("booking", print, property_id="p1")
        >>> [e.reason for e in router.explain({"event": "booking", "property_id": "p2"})]
        ["property: the notification is for 'p2', the route only for 'p1'"]
        """
        doc = load(notification)
        prop = doc.get("property_id")
        prop_lower = prop.lower() if isinstance(prop, str) else None
        out = []
        for route in self.routes:
            if route.property_id is not None and route.property_id != prop_lower:
                reason = (
                    f"property: the notification is for {prop!r}, "
                    f"the route only for {route.property_id!r}"
                )
                out.append(RouteExplanation(route, False, reason))
                continue
            detail = explain_mask(route.mask.items, doc, self._catalogue)
            out.append(RouteExplanation(route, detail.matched, detail.reason, detail))
        return out

    def _calls(self, doc: Mapping[str, Any]) -> list[_Call]:
        """Group matches by handler: one call each, with the union of its items."""
        index = self._index or self.compile()
        selection = index.match(doc)
        matches = selection.matches
        if not matches:
            return []
        routes = index.routes
        catalogue = self.catalogue
        if len(matches) == 1:
            position, choice = matches[0]
            route = routes[position]
            selected = chosen_items(_items(doc), selection, choice) if choice != NO_ITEMS else ()
            return [(route.handler, (route,), Notification(doc, selected, catalogue))]
        by_handler: dict[int, tuple[Handler, list[Route], ItemChoice]] = {}
        for position, choice in matches:
            route = routes[position]
            key = id(route.handler)
            entry = by_handler.get(key)
            if entry is None:
                by_handler[key] = (route.handler, [route], choice)
                continue
            handler, grouped, merged = entry
            grouped.append(route)
            if merged is not ALL_ITEMS:
                merged = ALL_ITEMS if choice is ALL_ITEMS else merged | choice
                by_handler[key] = (handler, grouped, merged)
        items = _items(doc)
        return [
            (
                handler,
                tuple(grouped),
                Notification(doc, chosen_items(items, selection, merged), catalogue),
            )
            for handler, grouped, merged in by_handler.values()
        ]

    # -- dispatch -------------------------------------------------------------------

    def dispatch(self, notification: NotificationInput) -> DispatchResult:
        """Call every matching handler once, in registration order, isolating errors.

        Refuses (TypeError, before calling anything) when a matched handler is
        a coroutine function: use `adispatch` for those.
        """
        doc = load(notification)
        calls = self._calls(doc)
        if not calls:
            return self._unmatched_sync(doc)
        for _, routes, _ in calls:
            if routes[0].is_async:
                raise TypeError(
                    f"handler {routes[0].name} is a coroutine function; "
                    "dispatch() cannot run it: use 'await router.adispatch(...)'"
                )
        if len(calls) == 1:  # the common case, without the bookkeeping lists
            handler, routes, received = calls[0]
            try:
                result = _call_sync(handler, routes[0], received)
            except Exception as exc:
                return DispatchResult(
                    (HandlerCall(handler, routes, received, None, exc),),
                    (HandlerError(routes[0], exc),),
                )
            # tuple.__new__ skips the named tuples' Python-level __new__.
            delivery = _new(HandlerCall, (handler, routes, received, result, None))
            return _new(DispatchResult, ((delivery,), ()))
        deliveries: list[HandlerCall] = []
        errors: list[HandlerError] = []
        for handler, routes, received in calls:
            try:
                result = _call_sync(handler, routes[0], received)
            except Exception as exc:
                errors.append(HandlerError(routes[0], exc))
                deliveries.append(HandlerCall(handler, routes, received, None, exc))
            else:
                deliveries.append(HandlerCall(handler, routes, received, result))
        return DispatchResult(tuple(deliveries), tuple(errors))

    async def adispatch(self, notification: NotificationInput) -> DispatchResult:
        """Like `dispatch`, but coroutine handlers are awaited concurrently.

        Sync handlers run in registration order on the event loop's thread;
        coroutine handlers are started in registration order and awaited
        together.  One failure does not stop the others.
        """
        import asyncio  # only async users pay for importing it

        doc = load(notification)
        calls = self._calls(doc)
        if not calls:
            return (
                self._unmatched_sync(doc)
                if not is_async(self.on_unmatched)
                else (await self._unmatched_async(doc))
            )
        outcomes: dict[int, tuple[Any, BaseException | None]] = {}
        tasks: list[tuple[int, asyncio.Future[Any]]] = []
        try:
            for number, (handler, _, received) in enumerate(calls):
                try:
                    result = handler(received)
                except Exception as exc:
                    outcomes[number] = (None, exc)
                    continue
                if inspect.isawaitable(result):
                    tasks.append((number, asyncio.ensure_future(result)))
                else:
                    outcomes[number] = (result, None)
            if tasks:
                results = await asyncio.gather(*(t for _, t in tasks), return_exceptions=True)
                for (number, _), value in zip(tasks, results, strict=True):
                    if isinstance(value, Exception):
                        outcomes[number] = (None, value)
                    elif isinstance(value, BaseException):
                        raise value
                    else:
                        outcomes[number] = (value, None)
        finally:
            for _, task in tasks:
                if not task.done():
                    task.cancel()
        deliveries = []
        errors = []
        for number, (handler, routes, received) in enumerate(calls):
            result, error = outcomes[number]
            deliveries.append(HandlerCall(handler, routes, received, result, error))
            if error is not None:
                errors.append(HandlerError(routes[0], error))
        return DispatchResult(tuple(deliveries), tuple(errors))

    def _unmatched_sync(self, doc: Mapping[str, Any]) -> DispatchResult:
        hook = self.on_unmatched
        if hook is None:
            return NOTHING_DONE
        if is_async(hook):
            raise TypeError("on_unmatched is a coroutine function; use 'await router.adispatch'")
        try:
            hook(Notification(doc, (), self.catalogue))
        except Exception as exc:
            return DispatchResult((), (HandlerError(None, exc),))
        return DispatchResult()

    async def _unmatched_async(self, doc: Mapping[str, Any]) -> DispatchResult:
        hook = self.on_unmatched
        assert hook is not None
        try:
            await hook(Notification(doc, (), self.catalogue))
        except Exception as exc:
            return DispatchResult((), (HandlerError(None, exc),))
        return DispatchResult()


def _call_sync(handler: Handler, route: Route, received: Notification) -> Any:
    result = handler(received)
    if result is not None and inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: close it rather than leak a warning
        raise TypeError(
            f"handler {route.name} returned an awaitable; use 'await router.adispatch(...)'"
        )
    return result


def _items(doc: Mapping[str, Any]) -> Sequence[Any]:
    payload = doc.get("payload")
    if isinstance(payload, Sequence) and not isinstance(payload, (str, bytes)):
        return payload
    return ()
