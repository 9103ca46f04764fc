"""`parse` and `lint`: the length limit, whitespace, the two paths, the cache.

One analysis serves both.  It removes whitespace (keeping a map back to the
original offsets), reads the shape with the grammar (`syntax`), checks each
item and then the whole mask (`analysis`), collecting *every* finding as a
`Diagnostic`.  `lint` returns them; a strict `parse` raises the first error;
a lenient `parse` repairs EM002-EM008 and keeps them as warnings
(docs/language.md, "Strict and lenient").  A clean mask skips all of that
through `fast.read_clean`.
"""

from __future__ import annotations

import re
import threading
from typing import Final, NamedTuple

import attrs

from .._catalogue import Catalogue
from .._errors import MaskSyntaxError
from .diagnostics import REPAIRABLE, Diagnostic, diagnostic
from .fast import read_clean
from .items import Item
from .mask import Mask

__all__ = ["MAX_MASK_LENGTH", "analyse", "lint", "parse"]

MAX_MASK_LENGTH: Final = 65_536
_CACHE_SIZE: Final = 4096
_WS: Final = re.compile(r"\s+")


class Analysis(NamedTuple):
    """The items of a text and every finding about it, offsets into the text itself."""

    items: list[Item]
    found: list[Diagnostic]


def _analyse_clean(text: str, catalogue: Catalogue) -> Analysis:
    """The analysis of whitespace-free `text`."""
    # Imported here: a clean mask (the fast path) never needs the grammar.
    from .analysis import check_items, lint_mask
    from .syntax import read_shape

    raw_items, found = read_shape(text)
    items, item_findings = check_items(text, raw_items, catalogue)
    return Analysis(items, [*found, *item_findings, *lint_mask(items)])


def analyse(text: str, catalogue: Catalogue | None) -> Analysis:
    """Every finding for `text`, with offsets into `text` itself, in order of position.

    >>> [(d.code, d.start) for d in analyse("booking; booking", None).found]
    [('EM006', 8), ('EM105', 9)]
    """
    if not isinstance(text, str):
        raise TypeError(f"a mask is a str, not {type(text).__name__}")
    if len(text) > MAX_MASK_LENGTH:
        message = f"mask is {len(text):,} characters long; the limit is {MAX_MASK_LENGTH:,}"
        return Analysis([], [diagnostic("EM001", message, MAX_MASK_LENGTH, len(text))])
    catalogue = catalogue or Catalogue.default()
    spaces = list(_WS.finditer(text))
    if not spaces:
        items, found = _analyse_clean(text, catalogue)
        return Analysis(items, sorted(found, key=_order))
    stripped = _WS.sub("", text)
    # offsets[i] is where character i of `stripped` stands in `text`.
    offsets = [i for i, ch in enumerate(text) if not ch.isspace()] + [len(text)]
    items, found = _analyse_clean(stripped, catalogue)

    def place(d: Diagnostic) -> Diagnostic:
        start = offsets[d.start]
        end = offsets[d.end - 1] + 1 if d.end > d.start else start
        return attrs.evolve(d, start=start, end=end)

    placed = [place(d) for d in found]
    placed += [
        diagnostic("EM006", "whitespace is not allowed in a mask", m.start(), m.end())
        for m in spaces
    ]
    return Analysis([_respan(i, offsets) for i in items], sorted(placed, key=_order))


def _respan(item: Item, offsets: list[int]) -> Item:
    if item.span is None:
        return item
    start, end = item.span
    return attrs.evolve(item, span=(offsets[start], offsets[end - 1] + 1))


def _order(d: Diagnostic) -> tuple[int, int, str]:
    return (d.start, d.end, d.code)


def lint(text: str, *, catalogue: Catalogue | None = None) -> list[Diagnostic]:
    """Every finding about `text`, judged as the strict parser judges.

    Findings come in order of position.  An empty list means the mask is valid
    and has nothing risky in it.

    >>> [(d.code, d.start) for d in lint("Booking;booking_new,message")]
    [('EM007', 0), ('EM102', 0), ('EM004', 19)]
    """
    return analyse(text, catalogue).found


_caches: dict[tuple[bool, Catalogue | None], dict[str, Mask]] = {}
_strict: dict[str, Mask] = {}
_caches[(False, None)] = _strict
_cache_lock = threading.Lock()


def parse(text: str, *, lenient: bool = False, catalogue: Catalogue | None = None) -> Mask:
    """Parse mask `text` into a `Mask`; raise `MaskSyntaxError` if it is invalid.

    Strict by default: only what Channex accepts passes.  With
    ``lenient=True`` the repairable mistakes are fixed and kept as warnings
    in ``Mask.warnings``.  Results are cached (bounded), keyed by text, mode
    and catalogue.

    >>> str(parse("booking_new;booking_cancellation"))
    'booking_cancellation;booking_new'
    >>> m = parse("Booking; message", lenient=True)
    >>> str(m), [d.code for d in m.warnings]
    ('booking;message', ['EM007', 'EM006'])
    """
    if not lenient and catalogue is None:
        try:
            return _strict[text]
        except KeyError:
            cache = _strict
        except TypeError:
            raise TypeError(f"a mask is a str, not {type(text).__name__}") from None
    else:
        cache = _caches.get((lenient, catalogue)) or _caches.setdefault((lenient, catalogue), {})
        cached = cache.get(text)
        if cached is not None:
            return cached
    mask = _parse(text, lenient, catalogue or Catalogue.default())
    with _cache_lock:
        if len(cache) >= _CACHE_SIZE:
            # Evict the oldest entry: a bounded FIFO keeps hits on the hot
            # path a plain dict lookup, with no bookkeeping per hit.
            cache.pop(next(iter(cache)), None)
        cache[text] = mask
    return mask


def parse_uncached(text: str, lenient: bool, catalogue: Catalogue) -> Mask:
    """`parse` without the cache (the benchmarks time a cold parse with it).

    >>> str(parse_uncached("message", False, Catalogue.default()))
    'message'
    """
    return _parse(text, lenient, catalogue)


def _parse(text: str, lenient: bool, catalogue: Catalogue) -> Mask:
    if isinstance(text, str) and len(text) <= MAX_MASK_LENGTH:
        clean = read_clean(text, catalogue)
        if clean is not None:
            return clean
    items, found = analyse(text, catalogue)
    fatal = [d for d in found if d.severity == "error" and not (lenient and d.code in REPAIRABLE)]
    if fatal:
        first = fatal[0]
        raise MaskSyntaxError(first.message, text, first.start, first.code, first.end)
    warnings = tuple(d.as_warning() if d.severity == "error" else d for d in found)
    return Mask(tuple(items), warnings, text, catalogue)
