"""The router: handlers registered by mask, dispatch sync and async.

Routes live in a registry; matching uses an immutable compiled `Index` that
is rebuilt lazily, on the first match after a change.  A dispatch running in
another thread keeps the snapshot it started with and never sees a
half-built index (docs/routing.md, "The router").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .._catalogue import Catalogue
from .._channex.revision import RevisionStatus
from .._envelope import NotificationInput, load
from .._language.matching import explain_mask
from .dispatch import (
    Call,
    ErrorHook,
    arun,
    aunmatched,
    group_calls,
    refuse_async,
    report_errors,
    run,
    unmatched,
)
from .notification import Notification
from .registry import Registry
from .revisions import R, RevisionHandlers
from .routes import (
    DispatchResult,
    Handler,
    Match,
    Route,
    RouteExplanation,
    is_async,
)

__all__ = ["Router"]


class Router(Registry):
    """Routes Channex notifications to handlers by event mask.

    >>> router = Router()
    >>> @router.on("booking_new;booking_modification")
    ... def on_booking(n):
    ...     return n.payload.revision_id
    >>> result = router.dispatch({"event": "booking_new", "property_id": "p",
    ...                           "payload": {"booking_id": "b", "revision_id": "r1"}})
    >>> [d.result for d in result.deliveries]
    ['r1']

    ``on_error`` is called with each failed `HandlerCall` (its handler,
    routes, notification and ``error``) after the dispatch: for error
    reporting.  The failures are still in the `DispatchResult`.
    """

    def __init__(
        self,
        routes: Iterable[Route] = (),
        *,
        catalogue: Catalogue | None = None,
        on_unmatched: Handler | None = None,
        on_error: ErrorHook | None = None,
    ) -> None:
        super().__init__(routes, catalogue)
        self.on_unmatched = on_unmatched
        self.on_error = on_error
        # Handlers of booking revisions, pulled from Channex's feed (docs/bookings.md).
        self.revisions = RevisionHandlers()

    def on_revision(
        self,
        *,
        status: RevisionStatus | str | Iterable[RevisionStatus | str] | None = None,
        property_id: str | None = None,
    ) -> Callable[[R], R]:
        """Register the decorated function for booking revisions (an inbox worker runs it).

        ``status`` takes ``"new"``, ``"modified"``, ``"cancelled"`` or several;
        ``property_id`` one property.  The handler receives a `BookingRevision`,
        in the worker's transaction, and the revision is acknowledged to Channex
        only after that transaction committed.

        >>> from eventmask.channex import BookingRevision
        >>> router = Router()
        >>> @router.on_revision(status=["new", "modified"])
        ... def save(revision: BookingRevision) -> None:
        ...     print(revision.unique_id, revision.arrival_date)
        >>> [r.handler.__name__ for r in router.revisions.routes]
        ['save']
        """
        return self.revisions.on(status=status, property_id=property_id)

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
        return (self._index or self.compile()).matches(load(notification))

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
            received = Notification(doc, (), self.catalogue)
            return report_errors(
                unmatched(self.on_unmatched, received, args, kwargs), self.on_error
            )
        refuse_async(calls)
        return report_errors(run(calls, args, kwargs), self.on_error)

    async def adispatch(
        self, notification: NotificationInput, *args: Any, **kwargs: Any
    ) -> DispatchResult:
        """Like `dispatch`, but coroutine handlers are awaited concurrently.

        Sync handlers run in registration order on the event loop's thread;
        coroutine handlers are started in registration order and awaited
        together.  One failure does not stop the others.
        """
        return await self._adispatch(notification, args, kwargs, threads=False)

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
        return await self._adispatch(notification, args, kwargs, threads=True)

    async def _adispatch(
        self, notification: NotificationInput, args: Any, kwargs: Any, *, threads: bool
    ) -> DispatchResult:
        doc = load(notification)
        calls = self._calls(doc)
        if not calls:
            received = Notification(doc, (), self.catalogue)
            done = await aunmatched(self.on_unmatched, received, args, kwargs)
            return report_errors(done, self.on_error)
        return report_errors(await arun(calls, args, kwargs, threads=threads), self.on_error)


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
