"""Reading a stored failure: its exception class, its message and the handler that raised.

A worker stores a handler's failure in ``last_error`` as ``route: Traceback
(most recent call last): ... module.Class: message`` (one such block per
failed handler).  The command line's LAST ERROR column and the operator's
page group and filter by what this module reads out of it, so they agree.
"""

from __future__ import annotations

import re
from typing import Final

import attrs

__all__ = ["Failure", "failure_of", "one_line"]

TRACEBACK: Final = ": Traceback (most recent call last):"

# "eventmask._errors.NotificationError: ..." -> "NotificationError: ...".
_QUALIFIED: Final = re.compile(r"^(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_]\w*(?::|$))")
_CLASS: Final = re.compile(r"^([A-Za-z_]\w*)(?::\s?(.*))?$", re.DOTALL)


@attrs.frozen(slots=True)
class Failure:
    """One stored failure, read: the exception class, its message, the handler, how many more.

    ``error_class`` is ``"other"`` for a failure that is not a handler's
    exception (a lease that ran out, a revision waiting its turn); its
    ``message`` is then the whole first line.

    >>> failure_of("on_x <- message: Traceback (most recent call last):\\nKeyError: 'x'")
    Failure(error_class='KeyError', message="'x'", handler='on_x <- message', more=0)
    """

    error_class: str
    message: str
    handler: str | None = None
    more: int = 0


def failure_of(text: str) -> Failure:
    """What a stored ``last_error`` says (see `Failure`).

    >>> failure_of("worker lease expired").error_class
    'other'
    >>> failure_of("h: Traceback (most recent call last):\\n  File ...\\nmod.sub.Boom").error_class
    'Boom'
    """
    lines = text.strip().splitlines() or [""]
    first = lines[0]
    if not first.endswith(TRACEBACK):
        return Failure("other", first)
    failures = sum(1 for line in lines if line.endswith(TRACEBACK))
    last = _QUALIFIED.sub("", lines[-1].strip())
    found = _CLASS.match(last)
    error_class, message = (found[1], found[2] or "") if found else ("other", last)
    return Failure(error_class, message, first.removesuffix(TRACEBACK), failures - 1)


def one_line(text: str | None, width: int = 160) -> str:
    r"""A failure in one line: the exception and its message first, then the handler.

    The message comes before the route so that a long route name, not the
    message, is what the width cuts.

    >>> one_line("on_booking <- booking: Traceback (most recent call last):\n"
    ...          "  File ...\neventmask._errors.NotificationError: no revision id")
    'NotificationError: no revision id (on_booking <- booking)'
    """
    if not text:
        return ""
    failure = failure_of(text)
    line = failure.message
    if failure.handler is not None:
        error = failure.message if failure.error_class == "other" else failure.error_class
        if failure.error_class != "other" and failure.message:
            error = f"{failure.error_class}: {failure.message}"
        more = f", and {failure.more} more" if failure.more else ""
        line = f"{error} ({failure.handler}{more})"
    return line if len(line) <= width else line[: width - 3] + "..."
