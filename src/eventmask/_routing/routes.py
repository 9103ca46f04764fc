"""The values routing produces: routes, matches, handler calls and their results.

Values only: nothing here matches or dispatches.  The result records are
named tuples, not attrs classes, because the router makes several per
dispatch and a tuple is several times cheaper to create.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, Final, NamedTuple, TypeVar

import attrs

from .._language.mask import Mask
from .._language.parser import parse

if TYPE_CHECKING:
    from .._language.matching import MaskExplanation
    from .notification import Notification

__all__ = [
    "NOTHING_DONE",
    "DispatchResult",
    "H",
    "Handler",
    "HandlerCall",
    "HandlerFailure",
    "Match",
    "Route",
    "RouteExplanation",
    "as_mask",
    "is_async",
]

# What a route calls with each notification it matched, then any extra
# arguments given to dispatch.  A type checker refuses a handler whose first
# parameter cannot take a Notification.
if TYPE_CHECKING:
    Handler = Callable[Concatenate[Notification, ...], Any]
else:  # the same at run time, without importing the typed models (the filter's start)
    Handler = Callable[..., Any]
H = TypeVar("H", bound="Handler")

_order = itertools.count()


def as_mask(value: Mask | str) -> Mask:
    """`value` as a `Mask`: text is parsed strictly (a bad mask fails at registration).

    >>> str(as_mask("message;booking"))
    'booking;message'
    """
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

    mask: Mask = attrs.field(converter=as_mask)
    handler: Handler
    property_id: str | None = attrs.field(default=None, converter=_property)
    order: int = attrs.field(factory=lambda: next(_order), repr=False)
    is_async: bool = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not callable(self.handler):
            raise TypeError(f"a route's handler must be callable, not {self.handler!r}")
        # Checked once here: inspect is too slow to ask on every dispatch.
        object.__setattr__(self, "is_async", is_async(self.handler))

    @property
    def name(self) -> str:
        """A readable name: the handler's qualified name, the mask and the scope."""
        handler = getattr(self.handler, "__qualname__", repr(self.handler))
        scope = f" @ {self.property_id}" if self.property_id else ""
        return f"{handler} <- {self.mask}{scope}"


class Match(NamedTuple):
    """A route that matched, and the ARI items it selects (empty for other events).

    >>> from eventmask import Router
    >>> router = Router()
    >>> _ = router.add("message", print)
    >>> [m.items for m in router.match({"event": "message"})]
    [()]
    """

    route: Route
    items: tuple[Mapping[str, Any], ...]


class HandlerFailure(NamedTuple):
    """A handler that raised: the route (None for ``on_unmatched``) and the exception.

    >>> HandlerFailure(None, KeyError("x")).exception
    KeyError('x')
    """

    route: Route | None
    exception: BaseException


class HandlerCall(NamedTuple):
    """One handler call: its routes, what it received, what it returned or raised.

    ``DispatchResult.deliveries`` holds one per handler that ran.

    >>> from eventmask import Router
    >>> router = Router()
    >>> _ = router.add("message", lambda n: "seen")
    >>> call = router.dispatch({"event": "message"}).deliveries[0]
    >>> call.result, call.error
    ('seen', None)
    """

    handler: Handler
    routes: tuple[Route, ...]
    notification: Notification
    result: Any = None
    error: BaseException | None = None


class DispatchResult(NamedTuple):
    """What a dispatch did: every handler call (``deliveries``), and the failures among them.

    >>> DispatchResult().ok
    True
    """

    deliveries: tuple[HandlerCall, ...] = ()
    errors: tuple[HandlerFailure, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no handler raised.

        >>> DispatchResult().ok
        True
        """
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


NOTHING_DONE: Final = DispatchResult()


@attrs.frozen(slots=True)
class RouteExplanation:
    """Why one route matched a notification or not (see `Router.explain`).

    ``reason`` names the part that decided: event, property, restriction,
    room type or rate plan; ``detail`` has the verdict per ARI item.

    >>> from eventmask import Router
    >>> router = Router()
    >>> _ = router.add("ari:rate:*:*", print)
    >>> router.explain({"event": "ari", "payload": [{"booked": 1}]})[0].reason
    'none of 1 ARI items selected'
    """

    route: Route
    matched: bool
    reason: str
    detail: MaskExplanation | None = None


def is_async(handler: Callable[..., Any] | None) -> bool:
    """Whether `handler` is a coroutine function (or has an async ``__call__``).

    >>> async def hook(n): ...
    >>> is_async(hook), is_async(print)
    (True, False)
    """
    import inspect  # once per registration; the filter never needs it

    if handler is None:
        return False
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an async __call__ counts
    )
