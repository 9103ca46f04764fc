"""The router: handlers registered by mask, dispatch sync and async.

Routes live in a registry; matching uses an immutable compiled `Index` that
is rebuilt lazily, on the first match after a change.  A dispatch running in
another thread keeps the snapshot it started with and never sees a
half-built index.
"""

from __future__ import annotations

import inspect
import itertools
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple, TypeVar

import attrs

from ._ast import Mask
from ._catalogue import Catalogue
from ._index import NOTHING, Index, Selection, Selector, pick
from ._matching import MaskExplanation, explain_mask
from ._notification import Notification, NotificationInput, load
from ._parser import parse

__all__ = [
    "Delivery",
    "DispatchResult",
    "HandlerError",
    "Match",
    "Route",
    "RouteExplanation",
    "Router",
]

Handler = Callable[[Notification], Any]
H = TypeVar("H", bound=Callable[..., Any])

_order = itertools.count()


def _mask(value: Mask | str) -> Mask:
    if isinstance(value, Mask):
        return value
    if isinstance(value, str):
        return parse(value)
    raise TypeError(f"a route's mask is a Mask or mask text, not {type(value).__name__}")


def _property(value: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise TypeError(f"property_id is a non-empty str or None, not {value!r}")
    return value.lower()


@attrs.frozen(slots=True, eq=False)
class Route:
    """One registration: a mask, a handler and an optional property scope.

    Text masks are parsed strictly, so a bad mask fails here, at
    registration.  Two routes are equal only if they are the same object.

    >>> route = Route("booking_new", print, property_id="ABC")
    >>> str(route.mask), route.property_id
    ('booking_new', 'abc')
    """

    mask: Mask = attrs.field(converter=_mask)
    handler: Handler
    property_id: str | None = attrs.field(default=None, converter=_property)
    order: int = attrs.field(factory=lambda: next(_order), repr=False)
    is_async: bool = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not callable(self.handler):
            raise TypeError(f"a route's handler must be callable, not {self.handler!r}")
        # Checked once here: inspect is too slow to ask on every dispatch.
        object.__setattr__(self, "is_async", _is_async(self.handler))

    @property
    def name(self) -> str:
        """A readable name: the handler's qualified name, the mask and the scope."""
        handler = getattr(self.handler, "__qualname__", repr(self.handler))
        scope = f" @ {self.property_id}" if self.property_id else ""
        return f"{handler} <- {self.mask}{scope}"


class Match(NamedTuple):
    """A route that matched, and the ARI items it selects (empty for other events)."""

    route: Route
    items: tuple[Mapping[str, Any], ...]


class HandlerError(NamedTuple):
    """A handler that raised: the route (None for ``on_unmatched``) and the exception."""

    route: Route | None
    exception: BaseException


class Delivery(NamedTuple):
    """One handler call: its routes, what it received, what it returned or raised."""

    handler: Handler
    routes: tuple[Route, ...]
    notification: Notification
    result: Any = None
    error: BaseException | None = None


# The result records are named tuples, not attrs classes: the router makes
# several per dispatch and a tuple is several times cheaper to create.
class DispatchResult(NamedTuple):
    """What a dispatch did: every handler call, and the failures among them."""

    deliveries: tuple[Delivery, ...] = ()
    errors: tuple[HandlerError, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no handler raised."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise an `ExceptionGroup` of the handlers' original exceptions, if any.

        >>> DispatchResult().raise_for_errors() is None
        True
        """
        if self.errors:
            excs = [e.exception for e in self.errors]
            raise ExceptionGroup(
                f"{len(excs)} handler{'s' if len(excs) != 1 else ''} failed",
                [e if isinstance(e, Exception) else RuntimeError(repr(e)) for e in excs],
            )


_NOTHING_DONE: Final = DispatchResult()
_new: Final = tuple.__new__


@attrs.frozen(slots=True)
class RouteExplanation:
    """Why one route matched a notification or not (see `Router.explain`)."""

    route: Route
    matched: bool
    reason: str
    detail: MaskExplanation | None = None


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
        return _mask(mask)

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
    def needs_async(self) -> bool:
        """Whether some handler (or `on_unmatched`) is a coroutine function."""
        return self.compile().has_async or _is_async(self.on_unmatched)

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
            Match(routes[position], pick(items, selection, selector))
            for position, selector in selection.matches
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
            detail = explain_mask(route.mask, doc)
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
        if len(matches) == 1:
            position, selector = matches[0]
            route = routes[position]
            selected = pick(_items(doc), selection, selector) if selector != NOTHING else ()
            return [(route.handler, (route,), Notification(doc, selected))]
        by_handler: dict[int, tuple[Handler, list[Route], Selector]] = {}
        for position, selector in matches:
            route = routes[position]
            key = id(route.handler)
            entry = by_handler.get(key)
            if entry is None:
                by_handler[key] = (route.handler, [route], selector)
                continue
            handler, grouped, merged = entry
            grouped.append(route)
            if merged is not None:
                merged = None if selector is None else merged | selector
                by_handler[key] = (handler, grouped, merged)
        items = _items(doc)
        return [
            (handler, tuple(grouped), Notification(doc, pick(items, selection, merged)))
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
                    (Delivery(handler, routes, received, None, exc),),
                    (HandlerError(routes[0], exc),),
                )
            # tuple.__new__ skips the named tuples' Python-level __new__.
            delivery = _new(Delivery, (handler, routes, received, result, None))
            return _new(DispatchResult, ((delivery,), ()))
        deliveries: list[Delivery] = []
        errors: list[HandlerError] = []
        for handler, routes, received in calls:
            try:
                result = _call_sync(handler, routes[0], received)
            except Exception as exc:
                errors.append(HandlerError(routes[0], exc))
                deliveries.append(Delivery(handler, routes, received, None, exc))
            else:
                deliveries.append(Delivery(handler, routes, received, result))
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
                if not _is_async(self.on_unmatched)
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
            deliveries.append(Delivery(handler, routes, received, result, error))
            if error is not None:
                errors.append(HandlerError(routes[0], error))
        return DispatchResult(tuple(deliveries), tuple(errors))

    def _unmatched_sync(self, doc: Mapping[str, Any]) -> DispatchResult:
        hook = self.on_unmatched
        if hook is None:
            return _NOTHING_DONE
        if _is_async(hook):
            raise TypeError("on_unmatched is a coroutine function; use 'await router.adispatch'")
        try:
            hook(Notification(doc))
        except Exception as exc:
            return DispatchResult((), (HandlerError(None, exc),))
        return DispatchResult()

    async def _unmatched_async(self, doc: Mapping[str, Any]) -> DispatchResult:
        hook = self.on_unmatched
        assert hook is not None
        try:
            await hook(Notification(doc))
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


def _is_async(handler: Callable[..., Any] | None) -> bool:
    if handler is None:
        return False
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an async __call__ counts
    )
