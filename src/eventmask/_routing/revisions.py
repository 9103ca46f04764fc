"""Handlers of booking revisions: typed, chosen by status and property (docs/bookings.md).

A revision handler receives a `BookingRevision`, so that ``mypy --strict``
checks what it reads: a field name misspelt is a type error, not a
``KeyError`` at three in the morning.  Handlers run in registration order;
every handler that matches runs, even when an earlier one raised.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import attrs

from .._channex.revision import BookingRevision, RevisionStatus

__all__ = ["RevisionFailure", "RevisionHandlers", "RevisionRoute"]

R = TypeVar("R", bound=Callable[[BookingRevision], Any])


@attrs.frozen(slots=True)
class RevisionRoute:
    """One revision handler, and the statuses and property it takes (None: all).

    >>> route = RevisionRoute(print, frozenset({RevisionStatus.NEW}), None)
    >>> route.takes_status(RevisionStatus.CANCELLED)
    False
    """

    handler: Callable[[BookingRevision], Any]
    statuses: frozenset[RevisionStatus] | None
    property_id: str | None

    def takes_status(self, status: RevisionStatus) -> bool:
        """Whether a revision of `status` goes to this handler."""
        return self.statuses is None or status in self.statuses

    def takes(self, revision: BookingRevision) -> bool:
        """Whether `revision` goes to this handler."""
        if self.property_id is not None and revision.property_id.lower() != self.property_id:
            return False
        return self.takes_status(revision.status)


@attrs.frozen(slots=True)
class RevisionFailure:
    """A revision handler that raised, and what it raised.

    >>> RevisionFailure(print, ValueError("x")).exception.args
    ('x',)
    """

    handler: Callable[[BookingRevision], Any]
    exception: BaseException


def _statuses(
    status: RevisionStatus | str | Iterable[RevisionStatus | str] | None,
) -> frozenset[RevisionStatus] | None:
    if status is None:
        return None
    many = [status] if isinstance(status, (str, RevisionStatus)) else list(status)
    return frozenset(RevisionStatus(s) for s in many)


class RevisionHandlers:
    """The revision handlers of one router.

    >>> handlers = RevisionHandlers()
    >>> @handlers.on(status="cancelled")
    ... def release_rooms(revision: BookingRevision) -> None:
    ...     print("release", revision.booking_id)
    >>> len(handlers.routes)
    1
    """

    def __init__(self) -> None:
        self.routes: list[RevisionRoute] = []

    def on(
        self,
        *,
        status: RevisionStatus | str | Iterable[RevisionStatus | str] | None = None,
        property_id: str | None = None,
    ) -> Callable[[R], R]:
        """Register the decorated function for revisions of `status` (one or several)
        and `property_id` (None: every status, every property)."""
        statuses = _statuses(status)
        scope = None if property_id is None else property_id.lower()

        def register(handler: R) -> R:
            if not callable(handler):
                raise TypeError(f"a revision handler must be callable, not {handler!r}")
            self.routes.append(RevisionRoute(handler, statuses, scope))
            return handler

        return register

    def for_revision(self, revision: BookingRevision) -> list[Callable[[BookingRevision], Any]]:
        """The handlers `revision` goes to, in registration order."""
        return [r.handler for r in self.routes if r.takes(revision)]

    @property
    def needs_async(self) -> bool:
        """Whether a handler is a coroutine function."""
        return any(inspect.iscoroutinefunction(r.handler) for r in self.routes)

    def run(self, revision: BookingRevision) -> list[RevisionFailure]:
        """Run every handler of `revision` (coroutines refused); the failures."""
        failures = []
        for handler in self.for_revision(revision):
            if inspect.iscoroutinefunction(handler):
                raise TypeError("an async revision handler needs arun (an inbox worker does it)")
            try:
                handler(revision)
            except Exception as exc:
                failures.append(RevisionFailure(handler, exc))
        return failures

    async def arun(self, revision: BookingRevision) -> list[RevisionFailure]:
        """Run every handler of `revision`, awaiting the async ones; the failures."""
        failures = []
        for handler in self.for_revision(revision):
            try:
                result = handler(revision)
                if isinstance(result, Awaitable):
                    await result
            except Exception as exc:
                failures.append(RevisionFailure(handler, exc))
        return failures
