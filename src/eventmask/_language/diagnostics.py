"""Diagnostics: the findings `lint` reports and a lenient parse keeps.

Codes are stable; docs/diagnostics.md documents each one with an example and
a fix.  EM0xx are errors that a strict parse refuses (EM002-EM008 are the ones
lenient mode repairs); EM1xx are warnings about masks that work but are risky.
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

__all__ = ["CODES", "Diagnostic", "Severity"]

Severity = Literal["error", "warning"]

# code -> (severity under `lint`, short title)
CODES: Final[dict[str, tuple[Severity, str]]] = {
    "EM001": ("error", "syntax error"),
    "EM002": ("error", "unknown event"),
    "EM003": ("error", "unknown restriction"),
    "EM004": ("error", "comma between events"),
    "EM005": ("error", "partial ari filter"),
    "EM006": ("error", "whitespace"),
    "EM007": ("error", "upper case"),
    "EM008": ("error", "'*' beside other items"),
    "EM101": ("warning", "redundant item"),
    "EM102": ("warning", "booking revision delivered twice"),
    "EM103": ("warning", "deprecated alias"),
    "EM104": ("warning", "legacy restriction"),
    "EM105": ("warning", "duplicate item"),
}

# The errors that lenient mode repairs instead of refusing.
REPAIRABLE: Final[frozenset[str]] = frozenset(
    {"EM002", "EM003", "EM004", "EM005", "EM006", "EM007", "EM008"}
)


@attrs.frozen(slots=True)
class Diagnostic:
    """One finding about a mask: a stable code, its severity and where it is.

    ``start`` and ``end`` are 0-based character offsets into the mask text
    (``end`` exclusive; equal to ``start`` for a missing piece).

    >>> from eventmask import lint
    >>> print(*lint("booking;booking;message"))
    8: EM105 warning: duplicate item 'booking' (first at position 0)
    """

    code: str
    severity: Severity
    message: str
    start: int
    end: int

    def __str__(self) -> str:
        return f"{self.start}: {self.code} {self.severity}: {self.message}"

    def as_warning(self) -> Diagnostic:
        """The same finding with severity ``warning`` (a lenient repair)."""
        return attrs.evolve(self, severity="warning")


def diagnostic(code: str, message: str, start: int, end: int | None = None) -> Diagnostic:
    """A finding with the severity its code carries under `lint`."""
    return Diagnostic(code, CODES[code][0], message, start, start if end is None else end)
