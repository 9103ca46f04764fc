"""`Mask`: a parsed event mask, canonical and immutable, with its matching and algebra.

A mask is a canonical, minimized tuple of items (`.items`).  ``str(mask)`` is
the canonical form (docs/language.md, "Canonical form") and two masks are
equal exactly when their canonical forms are.  The semantics live beside
it: `matching` (the reference matcher) and `algebra` (covers, overlaps,
union, intersection); the methods here wrap them, importing them on first
use (the stream filter reads a mask and never needs either).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import attrs

from .._catalogue import Catalogue
from .._envelope import NotificationInput
from .diagnostics import Diagnostic
from .items import Item, canonical_items, is_wildcard, render

# The algebra and the matcher are imported by the methods that use them, so
# that reading a mask (the stream filter's start) does not load them.

__all__ = ["Mask", "mask_of", "overlap_example", "uncovered_example"]


@attrs.frozen(slots=True, eq=False)
class Mask:
    """A parsed event mask: canonical, immutable, hashable.

    Build one with `eventmask.parse`.  ``str()`` gives the canonical form;
    ``==`` and ``hash`` follow it; `warnings` (outside equality) holds the
    diagnostics of the parse that produced it, and `catalogue` the catalogue
    it was parsed with (its aliases are resolved when it matches).

    >>> from eventmask import parse
    >>> m = parse("booking_new;booking_cancellation;booking_new")
    >>> str(m)
    'booking_cancellation;booking_new'
    >>> m == parse("booking_cancellation;booking_new")
    True
    """

    items: tuple[Item, ...] = attrs.field(converter=canonical_items)
    warnings: tuple[Diagnostic, ...] = attrs.field(default=())
    source: str | None = attrs.field(default=None)
    catalogue: Catalogue | None = attrs.field(default=None, repr=False)

    @cached_property
    def text(self) -> str:
        """The canonical form (same as ``str(mask)``).

        >>> from eventmask import parse
        >>> parse("message;booking").text
        'booking;message'
        """
        return render(self.items)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Mask({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mask):
            return self.text == other.text
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, Mask):
            return self.text != other.text
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.text)

    @property
    def is_wildcard(self) -> bool:
        """Whether the mask is ``*``.

        >>> from eventmask import parse
        >>> parse("*").is_wildcard, parse("booking").is_wildcard
        (True, False)
        """
        return is_wildcard(self.items)

    # -- matching (docs/routing.md, "Matching") -----------------------------------------

    def matches(self, notification: NotificationInput) -> bool:
        """Whether the mask matches `notification` (a mapping, or JSON bytes/str).

        >>> from eventmask import parse
        >>> parse("booking;message").matches({"event": "message", "payload": {}})
        True
        >>> parse("ari:rate:*:*").matches(b'{"event": "ari", "payload": [{"booked": 1}]}')
        False
        """
        from .matching import reference_matches

        return reference_matches(self.items, notification, self.catalogue or Catalogue.default())

    def select(self, notification: NotificationInput) -> list[Mapping[str, Any]]:
        """The ARI items of `notification` the mask selects, in payload order.

        >>> from eventmask import parse
        >>> n = {"event": "ari", "payload": [{"date": "2026-01-01", "rate": 100},
        ...                                  {"date": "2026-01-01", "availability": 2}]}
        >>> parse("ari:availability:*:*").select(n)
        [{'date': '2026-01-01', 'availability': 2}]
        """
        from .matching import reference_select

        return reference_select(self.items, notification, self.catalogue or Catalogue.default())

    # -- algebra (docs/algebra.md) ----------------------------------------------------------

    def covers(self, other: Mask) -> bool:
        """Whether this mask matches and selects everything `other` does.

        >>> from eventmask import parse
        >>> parse("ari:rate:*:*;ari:availability:*:*").covers(parse("ari:availability,rate:*:*"))
        True
        """
        from . import algebra

        return algebra.covers(self.items, other.items)

    def overlaps(self, other: Mask) -> bool:
        """Whether some notification with data is selected by both masks.

        >>> from eventmask import parse
        >>> parse("ari:rate:*:*").overlaps(parse("ari:availability:*:*"))
        True
        """
        from . import algebra

        return algebra.overlaps(self.items, other.items)

    def equivalent(self, other: Mask) -> bool:
        """Whether each mask covers the other.

        >>> from eventmask import parse
        >>> parse("ari:rate:*:*;ari:booked:*:*").equivalent(parse("ari:booked,rate:*:*"))
        True
        """
        return self.covers(other) and other.covers(self)

    def __or__(self, other: Mask) -> Mask:
        """The union, minimized (``a | b``)."""
        from . import algebra

        return Mask(algebra.union(self.items, other.items), catalogue=self.catalogue)

    def __and__(self, other: Mask) -> Mask | None:
        """The largest mask both cover, or None (``a & b``)."""
        from . import algebra

        items = algebra.intersection(self.items, other.items)
        return None if items is None else Mask(items, catalogue=self.catalogue)


def mask_of(items: Sequence[Item], source: str | None = None) -> Mask:
    """A mask of `items` (canonicalized), with no warnings.

    >>> from eventmask import EventItem
    >>> str(mask_of([EventItem("message"), EventItem("booking")]))
    'booking;message'
    """
    return Mask(tuple(items), (), source)


def overlap_example(a: Mask, b: Mask) -> dict[str, Any] | None:
    """A notification both masks deliver (an ARI item both select), or None when none exists.

    >>> from eventmask import parse
    >>> overlap_example(parse("booking;message"), parse("message"))["event"]
    'message'
    """
    from . import algebra

    return algebra.overlap_example(a.items, b.items)


def uncovered_example(a: Mask, b: Mask) -> dict[str, Any] | None:
    """A notification `b` delivers (or an ARI item it selects) that `a` misses, or None.

    None means `a` covers `b`.

    >>> from eventmask import parse
    >>> uncovered_example(parse("booking"), parse("booking;message"))["event"]
    'message'
    """
    from . import algebra

    return algebra.uncovered_example(a.items, b.items)
