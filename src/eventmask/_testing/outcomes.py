"""What became of deliveries: `Sent` for one, `Delivered` for a whole run (docs/testing.md)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Final

import attrs

from .._errors import DeliveryFailed
from .._routing.routes import DispatchResult

__all__ = ["RETRIED", "Delivered", "Sent", "answered", "dispatched", "gave_up", "tries"]

# Statuses Channex retries besides 5xx: a timeout answer and rate limiting.
RETRIED: Final = frozenset({408, 429})


@attrs.frozen(slots=True)
class Sent:
    """What became of one delivery: the final status, how many attempts, and why it failed.

    ``status`` is the last HTTP status (None when no answer came, or for a
    router); ``result`` is the router's `DispatchResult` for a router target.

    >>> Sent(0, "message", 200, 1, acknowledged=True).acknowledged
    True
    """

    index: int
    event: str | None
    status: int | None
    attempts: int
    acknowledged: bool
    duplicate: bool = False
    error: str | None = None
    result: DispatchResult | None = None

    def describe(self) -> str:
        """One line: which delivery, and what happened to it.

        >>> Sent(3, "ari", 401, 1, acknowledged=False, error="refused with HTTP 401").describe()
        '#3 ari: refused with HTTP 401'
        """
        what = self.error or ("duplicate" if self.duplicate else "acknowledged")
        return f"#{self.index} {self.event or '(no event)'}: {what}"


@attrs.frozen(slots=True)
class Delivered:
    """Every delivery of one `Sender.deliver` call, in the order they finished.

    >>> d = Delivered((Sent(0, "message", 200, 2, acknowledged=True),))
    >>> d.acknowledged, d.retried, d.ok
    (1, 1, True)
    """

    sent: tuple[Sent, ...]

    @property
    def acknowledged(self) -> int:
        """How many deliveries got a 2xx (duplicates included).

        >>> Delivered(()).acknowledged
        0
        """
        return sum(s.acknowledged for s in self.sent)

    @property
    def duplicates(self) -> int:
        """How many the receiver acknowledged as duplicates of an earlier one.

        >>> Delivered(()).duplicates
        0
        """
        return sum(s.duplicate for s in self.sent)

    @property
    def refused(self) -> Mapping[int, int]:
        """Deliveries refused for good (a 4xx Channex does not retry), by status.

        >>> Delivered((Sent(0, "x", 401, 1, acknowledged=False),)).refused
        {401: 1}
        """
        return dict(Counter(s.status for s in self.sent if _refusal(s) and s.status is not None))

    @property
    def failed(self) -> int:
        """Deliveries that failed every attempt (5xx, timeouts, handler errors).

        >>> Delivered((Sent(0, "x", 503, 5, acknowledged=False),)).failed
        1
        """
        return sum(not s.acknowledged and not _refusal(s) for s in self.sent)

    @property
    def retried(self) -> int:
        """Attempts beyond the first, over all deliveries.

        >>> Delivered((Sent(0, "x", 200, 3, acknowledged=True),)).retried
        2
        """
        return sum(s.attempts - 1 for s in self.sent)

    @property
    def ok(self) -> bool:
        """True when every delivery was acknowledged.

        >>> Delivered(()).ok
        True
        """
        return all(s.acknowledged for s in self.sent)

    def summary(self) -> str:
        """The counts in one line, as ``eventmask send`` ends.

        >>> Delivered((Sent(0, "x", 401, 1, acknowledged=False),)).summary()
        'sent 1: 0 acknowledged (0 duplicates), refused 401 x1, 0 failed, 0 retries'
        """
        refused = ", ".join(f"{s} x{n}" for s, n in sorted(self.refused.items())) or "none"
        return (
            f"sent {len(self.sent)}: {self.acknowledged} acknowledged "
            f"({self.duplicates} duplicates), refused {refused}, {self.failed} failed, "
            f"{self.retried} retries"
        )

    def raise_for_failures(self) -> None:
        """Raise if a delivery was not acknowledged.

        For a router, the handlers' own exceptions are raised, in an
        `ExceptionGroup`; otherwise `DeliveryFailed` lists each failure.

        >>> Delivered(()).raise_for_failures() is None
        True
        """
        failures = [s for s in self.sent if not s.acknowledged]
        handler_errors = [
            e.exception for s in failures if s.result is not None for e in s.result.errors
        ]
        if handler_errors:
            raise ExceptionGroup(
                "; ".join(s.describe() for s in failures),
                [e if isinstance(e, Exception) else RuntimeError(repr(e)) for e in handler_errors],
            )
        if failures:
            raise DeliveryFailed([s.describe() for s in failures])


def tries(n: int) -> str:
    """How an error message names `n` attempts.

    >>> tries(1), tries(3)
    ('the only attempt', 'all 3 attempts')
    """
    return "the only attempt" if n == 1 else f"all {n} attempts"


def _refusal(sent: Sent) -> bool:
    """Refused for good: a 4xx that Channex does not retry."""
    status = sent.status
    return not sent.acknowledged and status is not None and status < 500 and status not in RETRIED


def dispatched(index: int, event: str | None, attempt: int, result: DispatchResult | None) -> Sent:
    """A router's last attempt: `result` None when eventmask rejected the notification (400).

    >>> dispatched(0, "message", 1, DispatchResult()).acknowledged
    True
    """
    if result is None:
        error = "refused: eventmask rejects this notification"
        return Sent(index, event, 400, attempt, acknowledged=False, error=error)
    if result.ok:
        return Sent(index, event, None, attempt, acknowledged=True, result=result)
    names = ", ".join(e.route.name if e.route else "on_unmatched" for e in result.errors)
    error = f"{tries(attempt)} failed: {names}"
    return Sent(index, event, None, attempt, acknowledged=False, result=result, error=error)


def answered(
    index: int, event: str | None, attempt: int, status: int, duplicate: bool
) -> Sent | None:
    """An HTTP answer: acknowledged (2xx), refused for good (another 4xx), or None to retry.

    >>> answered(0, "x", 1, 503, False) is None, answered(0, "x", 1, 401, False).error
    (True, 'refused with HTTP 401')
    """
    if 200 <= status < 300:
        return Sent(index, event, status, attempt, acknowledged=True, duplicate=duplicate)
    if status < 500 and status not in RETRIED:
        error = f"refused with HTTP {status}"
        return Sent(index, event, status, attempt, acknowledged=False, error=error)
    return None


def gave_up(index: int, event: str | None, attempts: int, status: int | None, error: str) -> Sent:
    """Every attempt failed (5xx, 408, 429, a timeout or no connection).

    >>> gave_up(2, "ari", 3, None, "ConnectError").describe()
    '#2 ari: all 3 attempts failed: ConnectError'
    """
    failure = f"{tries(attempts)} failed: {error}"
    return Sent(index, event, status, attempts, acknowledged=False, error=failure)
