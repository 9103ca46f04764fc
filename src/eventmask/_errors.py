"""Every exception eventmask defines, under one root.

One ``except EventmaskError`` catches everything eventmask raises about
data, configuration and storage; each branch names what went wrong::

    EventmaskError (Exception)                     root of every eventmask error
    ├── MaskError                                  a mask is not usable
    │   └── MaskSyntaxError (MaskError, ValueError)  its text is invalid (.position, caret)
    ├── InvalidJSON (EventmaskError, ValueError)   text that is not JSON (.reason .line .column)
    ├── NotificationError (EventmaskError, ValueError)  a notification is not usable (.path)
    │   ├── FieldError                             a bad ARI item field (.key)
    │   └── RevisionError                          a booking revision is not usable (.revision_id)
    ├── InputError (EventmaskError, ValueError)    a line of a stream is not usable (file:line:col)
    ├── ProcessDied (EventmaskError, OSError)      a process of `filter --jobs` ended unanswered
    ├── PredicateError (EventmaskError, ValueError)  a filter predicate is invalid (caret)
    ├── BadParameter (EventmaskError, ValueError)  a dashboard URL or form field is unusable (400)
    ├── ConfigError (EventmaskError, ValueError)   eventmask is set up wrongly (no API key...)
    │   └── WebhookConfigError                     a webhooks file is invalid (.problems)
    ├── DeliveryFailed (EventmaskError)            deliveries sent were not acknowledged
    ├── ChannexError (EventmaskError)              the Channex API refused or failed
    │   ├── ChannexUnauthorized                    401 unauthorized: a wrong API key
    │   ├── ChannexNotFound                        404 resource_not_found
    │   └── ChannexValidationError                 422 validation_error (.details per field)
    └── InboxError (EventmaskError)                the inbox cannot do what was asked
        ├── InboxUnavailable                       storage is failing now: answer 503, retry later
        ├── LeaseLost                              a handler outlived its lease; another took it
        └── NotAnInbox                             the database exists but is not an eventmask inbox

`ExceptionGroup` is what `DispatchResult.raise_for_errors()` raises; it wraps
the handlers' own exceptions unchanged.  Calling eventmask wrongly (a ``str``
where a list of secrets belongs, a handler that is not callable) raises the
built-in `TypeError` or `ValueError`, as Python's own libraries do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = [
    "ChannexError",
    "ChannexNotFound",
    "ChannexUnauthorized",
    "ChannexValidationError",
    "ConfigError",
    "DeliveryFailed",
    "EventmaskError",
    "FieldError",
    "InboxError",
    "InboxUnavailable",
    "InputError",
    "InvalidJSON",
    "LeaseLost",
    "MaskError",
    "MaskSyntaxError",
    "NotAnInbox",
    "NotificationError",
    "PredicateError",
    "ProcessDied",
    "RevisionError",
    "WebhookConfigError",
    "caret",
]

# How much of a long mask to show on each side of the caret.
_WINDOW = 60


class EventmaskError(Exception):
    """Root of every error eventmask raises.

    >>> issubclass(InboxError, EventmaskError) and issubclass(MaskError, EventmaskError)
    True
    """


class MaskError(EventmaskError):
    """A mask is not usable: the branch of mask errors, `MaskSyntaxError` among them.

    >>> issubclass(MaskSyntaxError, MaskError), issubclass(InboxError, MaskError)
    (True, False)
    """


class MaskSyntaxError(MaskError, ValueError):
    """A mask's text is invalid.

    ``position`` is the 0-based character offset of the problem in ``text``;
    ``message`` says in words what was expected there; ``code`` is the stable
    diagnostic code (``EM001`` .. ``EM008``).  ``str()`` shows the text with a
    caret under the position.

    >>> from eventmask import parse
    >>> try:
    ...     parse("booking;;message")
    ... except MaskSyntaxError as err:
    ...     print(err)
    expected an event name after ';' (at position 8)
      booking;;message
              ^
    """

    text: str
    position: int
    message: str
    code: str
    end: int

    def __init__(
        self, message: str, text: str, position: int, code: str = "EM001", end: int | None = None
    ) -> None:
        super().__init__(message, text, position, code)
        self.message = message
        self.text = text
        self.position = position
        self.code = code
        self.end = position if end is None else end

    def __str__(self) -> str:
        return f"{self.message} (at position {self.position})\n{caret(self.text, self.position)}"

    def __repr__(self) -> str:
        return f"MaskSyntaxError({self.message!r}, position={self.position}, code={self.code!r})"


class PredicateError(EventmaskError, ValueError):
    """A filter predicate (``--where``, ``--dates``) is invalid: which column, and why.

    ``text`` is the predicate as given, ``position`` the 0-based offset of the
    problem; ``str()`` shows the text with a caret under it.

    >>> print(PredicateError("unknown restriction 'rates'", "rates>1", 0))
    unknown restriction 'rates' (at position 0)
      rates>1
      ^
    """

    def __init__(self, message: str, text: str, position: int) -> None:
        super().__init__(message, text, position)
        self.message = message
        self.text = text
        self.position = position

    def __str__(self) -> str:
        if not self.text:
            return self.message
        return f"{self.message} (at position {self.position})\n{caret(self.text, self.position)}"


class InvalidJSON(EventmaskError, ValueError):
    """Text that is not JSON: ``reason`` in words, ``line`` and ``column`` 1-based.

    >>> print(InvalidJSON("unexpected end of data", 1, 2))
    invalid JSON: unexpected end of data (line 1, column 2)
    """

    def __init__(self, reason: str, line: int = 1, column: int = 1) -> None:
        super().__init__(reason, line, column)
        self.reason = reason
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"invalid JSON: {self.reason} (line {self.line}, column {self.column})"


class NotificationError(EventmaskError, ValueError):
    """A notification could not be read: not JSON, not an object, no ``event``, a bad field.

    ``path`` is a JSON path to the offending value (``$`` for the whole
    document, ``$.event``, ``$.payload[3].rate``); ``message`` says what is
    wrong there.  For invalid JSON, ``line`` and ``column`` (1-based) say
    where the text stopped making sense; they are None otherwise.

    >>> print(NotificationError("expected a string, got integer", "$.event"))
    @ $.event: expected a string, got integer
    """

    path: str
    message: str
    line: int | None
    column: int | None

    def __init__(
        self,
        message: str,
        path: str = "$",
        *,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message, path)
        self.message = message
        self.path = path
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = f" (line {self.line}, column {self.column})" if self.line is not None else ""
        return f"@ {self.path}: {self.message}{where}"


class FieldError(NotificationError):
    """A bad value under `key` of an ARI item; re-raised with the item's full path.

    >>> FieldError("rate", "not a decimal rate").key
    'rate'
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message, f"$.{key}")
        self.key = key


class RevisionError(NotificationError):
    """A booking revision from Channex cannot be read: which revision, where, and why.

    ``revision_id`` is None when the revision has no usable id.  Like any
    notification that fails eventmask's checks, it is a dead letter at once:
    no retry can fix it (docs/bookings.md).

    >>> print(RevisionError("r1", "not a date (YYYY-MM-DD): '2026-13-01'",
    ...                     "$.rooms[0].checkin_date"))
    revision r1 @ $.rooms[0].checkin_date: not a date (YYYY-MM-DD): '2026-13-01'
    """

    revision_id: str | None

    def __init__(self, revision_id: str | None, message: str, path: str = "$") -> None:
        super().__init__(message, path)
        self.revision_id = revision_id

    def __str__(self) -> str:
        return f"revision {self.revision_id or '(no id)'} {super().__str__()}"


class InputError(EventmaskError, ValueError):
    """A line of input that is not a usable notification.

    ``source`` names the input (a file name, or ``-`` for stdin), ``line``
    and ``column`` are 1-based; ``str()`` is ``source:line:column: message``.

    >>> print(InputError("expected a JSON object, got array", "feed.jsonl", 3))
    feed.jsonl:3:1: expected a JSON object, got array
    """

    def __init__(self, message: str, source: str, line: int, column: int = 1) -> None:
        super().__init__(message, source, line, column)
        self.message = message
        self.source = source
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.source}:{self.line}:{self.column}: {self.message}"


class ProcessDied(EventmaskError, OSError):
    """A process of ``filter --jobs`` ended before it answered (killed, say, by the kernel
    for memory): the run stops, with exit status 2, as for an input that cannot be read.

    >>> isinstance(ProcessDied("a filter process stopped unexpectedly"), OSError)
    True
    """


class ConfigError(EventmaskError, ValueError):
    """eventmask is set up wrongly: a missing API key, a setting out of range.

    Raised before anything is sent or stored, so nothing needs undoing.
    """


class WebhookConfigError(ConfigError):
    """A webhooks-as-code file is invalid; ``problems`` lists every problem found.

    Each problem is one line, prefixed with ``file:line:`` where the position
    is known.

    >>> print(WebhookConfigError("webhooks.toml", ["webhooks.toml:3: event_mask: empty mask"]))
    webhooks.toml is invalid:
      webhooks.toml:3: event_mask: empty mask
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        super().__init__(source, tuple(problems))
        self.source = source
        self.problems = tuple(problems)

    def __str__(self) -> str:
        return f"{self.source} is invalid:\n" + "\n".join(f"  {p}" for p in self.problems)


class DeliveryFailed(EventmaskError):
    """Deliveries sent the way Channex sends them were not acknowledged.

    ``failures`` has one line per delivery that was refused or that failed
    every attempt.

    >>> print(DeliveryFailed(["#0 booking_new: refused with HTTP 401"]))
    1 delivery was not acknowledged:
      #0 booking_new: refused with HTTP 401
    """

    def __init__(self, failures: Sequence[str]) -> None:
        super().__init__(tuple(failures))
        self.failures = tuple(failures)

    def __str__(self) -> str:
        n = len(self.failures)
        head = f"{n} deliver{'y was' if n == 1 else 'ies were'} not acknowledged:"
        return "\n".join([head, *(f"  {line}" for line in self.failures)])


class ChannexError(EventmaskError):
    """The Channex API answered with an error, or could not be reached.

    ``status`` is the HTTP status (None when no answer came), ``code`` is
    Channex's error code (``unauthorized``, ``resource_not_found``,
    ``validation_error``...) and ``details`` maps a field to its messages.

    >>> print(ChannexError("rate limited", status=429))
    Channex API error (HTTP 429): rate limited
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details: dict[str, list[str]] = {k: list(v) for k, v in (details or {}).items()}

    def __str__(self) -> str:
        where = f" (HTTP {self.status})" if self.status is not None else ""
        lines = [f"Channex API error{where}: {self.message}"]
        lines += [f"  {field}: {'; '.join(msgs)}" for field, msgs in self.details.items()]
        return "\n".join(lines)


class ChannexUnauthorized(ChannexError):
    """401 ``unauthorized``: the ``user-api-key`` is missing or wrong."""


class ChannexNotFound(ChannexError):
    """404 ``resource_not_found``: no such webhook (or property)."""


class ChannexValidationError(ChannexError):
    """422 ``validation_error``: Channex refused the body; ``details`` says why, per field."""


class InboxError(EventmaskError):
    """The inbox cannot do what was asked (closed, unknown entry, bad database or URL)."""


class InboxUnavailable(InboxError):
    """Storage is failing right now (disk full, locked, read-only, replaced, database down).

    The receiver answers 503 so that Channex retries later.
    """


class LeaseLost(InboxError):
    """The entry's lease ran out and another worker took it: this attempt must not commit."""


class NotAnInbox(InboxError):
    """The database exists but holds no eventmask inbox (or another application's tables)."""


def caret(text: str, position: int) -> str:
    """Two lines: `text` (windowed when long) and a caret under `position`.

    Control characters are shown escaped so that the caret stays aligned.

    >>> print(caret("booking;;message", 8))
      booking;;message
              ^
    """
    start = max(0, position - _WINDOW)
    end = min(len(text), position + _WINDOW)
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(text) else ""
    shown = "".join(_printable(ch) for ch in text[start:end])
    offset = len(prefix) + sum(len(_printable(ch)) for ch in text[start:position])
    return f"  {prefix}{shown}{suffix}\n  {' ' * offset}^"


def _printable(ch: str) -> str:
    if ch.isprintable():
        return ch
    return ch.encode("unicode_escape").decode("ascii")
