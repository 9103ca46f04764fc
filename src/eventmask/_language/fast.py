"""The clean-mask path: a mask with no finding at all, read with `str.split`.

Most masks a program parses are valid, and Lark's pure-Python LALR driver
costs about 5 microseconds a token; this path reads a clean mask at a
fraction of that and hands anything unusual (one finding of any code, even a
warning) back to the grammar.  A property test checks that both paths build
the same mask for every mask the grammar generates (tests/language/test_fast.py), so
the grammar stays the definition of the language.
"""

from __future__ import annotations

import enum
from typing import Final, Literal

from .._catalogue import ARI, BOOKING, BOOKING_REVISION_EVENTS, Catalogue, is_uuid
from .items import AriFilter, EventItem, Item, Wildcard
from .mask import Mask

__all__ = ["read_clean"]

_REVISION_EVENTS: Final = frozenset(BOOKING_REVISION_EVENTS)


class _Unclean(enum.Enum):
    """A segment the fast path does not read (the grammar path will say why)."""

    UNCLEAN = "unclean"


_UNCLEAN: Final = _Unclean.UNCLEAN


def _ids(segment: str) -> frozenset[str] | Literal[_Unclean.UNCLEAN] | None:
    if segment == "*":
        return None
    values = segment.lower().split(",")
    for value in values:
        if not is_uuid(value):
            return _UNCLEAN
    ids = frozenset(values)
    return ids if len(ids) == len(values) else _UNCLEAN


def _restrictions(
    segment: str, catalogue: Catalogue
) -> frozenset[str] | Literal[_Unclean.UNCLEAN] | None:
    if segment == "*":
        return None
    names = segment.split(",")
    for name in names:
        if name not in catalogue.restrictions:
            return _UNCLEAN
    restrictions = frozenset(names)
    return restrictions if len(restrictions) == len(names) else _UNCLEAN


def _filter(part: str, span: tuple[int, int], catalogue: Catalogue) -> AriFilter | None:
    segments = part.split(":")
    if len(segments) != 4 or segments[0] != ARI:
        return None
    restrictions = _restrictions(segments[1], catalogue)
    room_types = _ids(segments[2])
    rate_plans = _ids(segments[3])
    if restrictions is _UNCLEAN or room_types is _UNCLEAN or rate_plans is _UNCLEAN:
        return None
    return AriFilter(restrictions, room_types, rate_plans, span)


def read_clean(text: str, catalogue: Catalogue) -> Mask | None:
    """The mask for `text` when it is clean (no finding at all), else None.

    >>> str(read_clean("message;booking_new", Catalogue.default()))
    'booking_new;message'
    >>> read_clean("booking;booking_new", Catalogue.default()) is None  # EM102
    True
    """
    if text == "*":
        return Mask((Wildcard(span=(0, 1)),), (), text, catalogue)
    events = catalogue.events
    items: list[Item] = []
    start = 0
    for part in text.split(";"):
        end = start + len(part)
        if ":" not in part:
            if part not in events:
                return None
            span = (start, end)
            items.append(AriFilter(span=span) if part == ARI else EventItem(part, span))
        else:
            item = _filter(part, (start, end), catalogue)
            if item is None:
                return None
            items.append(item)
        start = end + 1
    mask = Mask(tuple(items), (), text, catalogue)
    if len(mask.items) != len(items):
        return None  # a duplicate or a covered item: EM105 or EM101
    names = {i.name for i in items if isinstance(i, EventItem)}
    if BOOKING in names and names & _REVISION_EVENTS:
        return None  # EM102
    return mask
