"""Exceptions raised by eventmask.

Every exception the library raises on bad input derives from `MaskError`, so
one ``except MaskError`` covers them all::

    MaskError (Exception)
    ├── MaskSyntaxError (MaskError, ValueError)      a mask's text is invalid
    └── NotificationError (MaskError, ValueError)    a notification is not usable
        (its ``.path`` says where, as in ``$.payload[3].rate``)

`ExceptionGroup` is what `DispatchResult.raise_for_errors()` raises; it wraps
the handlers' own exceptions unchanged.
"""

from __future__ import annotations

__all__ = ["MaskError", "MaskSyntaxError", "NotificationError"]

# How much of a long mask to show on each side of the caret.
_WINDOW = 60


class MaskError(Exception):
    """Root of every error eventmask raises on bad input."""


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


class NotificationError(MaskError, ValueError):
    """A notification could not be read: not JSON, not an object, no ``event``.

    ``path`` is a JSON path to the offending value (``$`` for the whole
    document, ``$.event``); ``message`` says what is wrong there.

    >>> print(NotificationError("expected a string, got int", "$.event"))
    @ $.event: expected a string, got int
    """

    path: str
    message: str

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(message, path)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"@ {self.path}: {self.message}"


def caret(text: str, position: int) -> str:
    """Two lines: `text` (windowed when long) and a caret under `position`.

    Control characters are shown escaped so that the caret stays aligned.
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
