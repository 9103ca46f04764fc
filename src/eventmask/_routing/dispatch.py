"""Running handler calls: in order, each isolated, sync or async.

The router decides which handlers to call with what; this module calls them
and records every call and every failure (docs/routing.md, "The router").
A handler is called with the notification and whatever extra arguments the
caller of ``dispatch`` gave.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from .._catalogue import Catalogue
from .index import Matched
from .notification import Notification
from .routes import (
    NOTHING_DONE,
    DispatchResult,
    Handler,
    HandlerCall,
    HandlerFailure,
    Route,
    is_async,
)

__all__ = [
    "Call",
    "arun",
    "aunmatched",
    "group_calls",
    "payload_items",
    "refuse_async",
    "report_errors",
    "run",
    "unmatched",
]

# One handler call to make: the handler, its matched routes, what it receives.
Call = tuple[Handler, tuple[Route, ...], Notification]
Args = tuple[Any, ...]
Kwargs = Mapping[str, Any]
# Called with each failed handler call (Router(on_error=...)).
ErrorHook = Callable[[HandlerCall], object]

log = logging.getLogger("eventmask.router")

# tuple.__new__ skips the named tuples' Python-level __new__ and halves the
# cost of building one; dispatch builds one per handler call.
_new: Final = tuple.__new__


def refuse_async(calls: Sequence[Call]) -> None:
    """Raise TypeError, before anything runs, when a call's handler is a coroutine function."""
    for _, routes, _ in calls:
        if routes[0].is_async:
            raise TypeError(
                f"handler {routes[0].name} is a coroutine function; "
                "dispatch() cannot run it: use 'await router.adispatch(...)'"
            )


def _call_sync(call: Call, args: Args, kwargs: Kwargs) -> Any:
    handler, routes, received = call
    result = handler(received, *args, **kwargs)
    if result is not None and inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: close it rather than leak a warning
        raise TypeError(
            f"handler {routes[0].name} returned an awaitable; use 'await router.adispatch(...)'"
        )
    return result


def run(calls: Sequence[Call], args: Args = (), kwargs: Kwargs | None = None) -> DispatchResult:
    """Make every call in order; a failure is recorded and the others still run.

    >>> from eventmask import Route
    >>> route = Route("message", lambda n: n.event)
    >>> run([(route.handler, (route,), Notification({"event": "message"}))]).deliveries[0].result
    'message'
    """
    extra = kwargs or {}
    if len(calls) == 1:  # the common case, without the bookkeeping lists
        handler, routes, received = calls[0]
        try:
            result = _call_sync(calls[0], args, extra)
        except Exception as exc:
            return DispatchResult(
                (HandlerCall(handler, routes, received, None, exc),),
                (HandlerFailure(routes[0], exc),),
            )
        done = _new(HandlerCall, (handler, routes, received, result, None))
        return _new(DispatchResult, ((done,), ()))
    made: list[HandlerCall] = []
    errors: list[HandlerFailure] = []
    for call in calls:
        handler, routes, received = call
        try:
            result = _call_sync(call, args, extra)
        except Exception as exc:
            errors.append(HandlerFailure(routes[0], exc))
            made.append(HandlerCall(handler, routes, received, None, exc))
        else:
            made.append(HandlerCall(handler, routes, received, result))
    return DispatchResult(tuple(made), tuple(errors))


async def arun(
    calls: Sequence[Call],
    args: Args = (),
    kwargs: Kwargs | None = None,
    *,
    threads: bool = False,
) -> DispatchResult:
    """Make every call: sync ones in order, coroutines started in order and awaited together.

    With ``threads``, each sync handler runs in a worker thread (still one
    after the other), so that a slow one does not hold the event loop.
    """
    import asyncio  # only async users pay for importing it

    extra = kwargs or {}
    outcomes: dict[int, tuple[Any, BaseException | None]] = {}
    tasks: list[tuple[int, asyncio.Future[Any]]] = []
    try:
        for number, (handler, routes, received) in enumerate(calls):
            try:
                if threads and not routes[0].is_async:
                    result = await asyncio.to_thread(handler, received, *args, **extra)
                else:
                    result = handler(received, *args, **extra)
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
    made = []
    errors = []
    for number, (handler, routes, received) in enumerate(calls):
        result, error = outcomes[number]
        made.append(HandlerCall(handler, routes, received, result, error))
        if error is not None:
            errors.append(HandlerFailure(routes[0], error))
    return DispatchResult(tuple(made), tuple(errors))


def unmatched(
    hook: Handler | None, received: Notification, args: Args = (), kwargs: Kwargs | None = None
) -> DispatchResult:
    """Give a notification no route matched to the router's ``on_unmatched`` hook, if any."""
    if hook is None:
        return NOTHING_DONE
    if is_async(hook):
        raise TypeError("on_unmatched is a coroutine function; use 'await router.adispatch'")
    try:
        hook(received, *args, **(kwargs or {}))
    except Exception as exc:
        return DispatchResult(
            (HandlerCall(hook, (), received, None, exc),), (HandlerFailure(None, exc),)
        )
    return DispatchResult()


async def aunmatched(
    hook: Handler | None, received: Notification, args: Args = (), kwargs: Kwargs | None = None
) -> DispatchResult:
    """`unmatched` for `adispatch`: the hook may be a coroutine function."""
    if not is_async(hook):
        return unmatched(hook, received, args, kwargs)
    assert hook is not None
    try:
        await hook(received, *args, **(kwargs or {}))
    except Exception as exc:
        return DispatchResult(
            (HandlerCall(hook, (), received, None, exc),), (HandlerFailure(None, exc),)
        )
    return DispatchResult()


def group_calls(
    routes: Sequence[Route],
    matched: Matched,
    doc: Mapping[str, Any],
    catalogue: Catalogue | None,
) -> list[Call]:
    """Group matches by handler: one call each, with the union of its routes' items.

    Calls come in the order of each handler's first matching route.
    """
    if not matched:
        return []
    if len(matched) == 1:
        position, items = matched[0]
        route = routes[position]
        return [(route.handler, (route,), Notification(doc, items, catalogue))]
    by_handler: dict[int, list[tuple[Route, tuple[Any, ...]]]] = {}
    for position, items in matched:
        route = routes[position]
        by_handler.setdefault(id(route.handler), []).append((route, items))
    calls: list[Call] = []
    for group in by_handler.values():
        items = group[0][1] if len(group) == 1 else _union(doc, [i for _, i in group])
        received = Notification(doc, items, catalogue)
        calls.append((group[0][0].handler, tuple(r for r, _ in group), received))
    return calls


def _union(doc: Mapping[str, Any], selections: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """The items of several selections, each once, in payload order."""
    chosen = {id(item) for selected in selections for item in selected}
    if not chosen:
        return ()
    return tuple(item for item in payload_items(doc) if id(item) in chosen)


def payload_items(doc: Mapping[str, Any]) -> Sequence[Any]:
    """The ARI items of `doc` to select from (none when the payload is not an array)."""
    payload = doc.get("payload")
    if isinstance(payload, Sequence) and not isinstance(payload, (str, bytes)):
        return payload
    return ()


def report_errors(result: DispatchResult, hook: ErrorHook | None) -> DispatchResult:
    """Call `hook` once per failed handler call of `result`; return `result`.

    A hook that raises is logged and does not hide the other failures, or
    the result (docs/routing.md, "Dispatch rules").

    >>> seen = []
    >>> failed = HandlerCall(print, (), Notification({"event": "message"}), None, KeyError("x"))
    >>> result = DispatchResult((failed,), (HandlerFailure(None, KeyError("x")),))
    >>> _ = report_errors(result, seen.append)
    >>> seen[0].error
    KeyError('x')
    """
    if hook is None or not result.errors:
        return result
    for call in result.deliveries:
        if call.error is None:
            continue
        try:
            hook(call)
        except Exception:
            log.exception("the router's on_error hook failed")
    return result
