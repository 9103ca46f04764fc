"""What the grammar cannot judge: names, filters and the mask as a whole.

`check_items` reads each `RawItem` against the catalogue (known events and
restrictions, aliases, UUIDs, where ``*`` may stand, how many segments an
``ari`` filter has) and builds the AST items; `lint_mask` then looks at the
items together (``*`` beside others, duplicates, redundant filters,
``booking`` beside its specific events).  Every finding is a `Diagnostic`
with a stable code (docs/diagnostics.md).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Final, Literal

from .._catalogue import ARI, BOOKING, BOOKING_REVISION_EVENTS, Catalogue
from .diagnostics import Diagnostic, diagnostic
from .items import AriFilter, EventItem, Item, Wildcard, item_covers
from .syntax import RawItem, Token

__all__ = ["check_items", "lint_mask"]

_SEGMENT_LISTS: Final = ("events", "restrictions", "room type ids", "rate plan ids")
_STAR_IN_LIST: Final = "'*' cannot stand beside other values in one list"


class _Invalid(enum.Enum):
    """A filter segment that already produced an error (so the filter is dropped)."""

    INVALID = "invalid"


_INVALID: Final = _Invalid.INVALID
# A filter segment: its values, None for '*', or _INVALID after an error.
_Segment = frozenset[str] | None | Literal[_Invalid.INVALID]


def _suggest(name: str, candidates: Sequence[str]) -> str:
    import difflib  # only an unknown name pays for it

    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


def check_items(
    text: str, raw_items: Sequence[RawItem], catalogue: Catalogue
) -> tuple[list[Item], list[Diagnostic]]:
    """The AST items of `raw_items` and the findings about each one on its own.

    >>> from eventmask._language.syntax import read_shape
    >>> items, found = check_items("Booking", read_shape("Booking")[0], Catalogue.default())
    >>> [str(i) for i in items], [d.code for d in found]
    (['booking'], ['EM007'])
    """
    checks = _ItemChecks(text, catalogue)
    for raw in raw_items:
        checks.item(raw)
    return checks.items, checks.found


class _ItemChecks:
    """The per-item checks for one text; offsets are whitespace-free."""

    def __init__(self, text: str, catalogue: Catalogue) -> None:
        self.text = text
        self.catalogue = catalogue
        self.items: list[Item] = []
        self.found: list[Diagnostic] = []

    def add(self, code: str, message: str, start: int, end: int | None = None) -> None:
        self.found.append(diagnostic(code, message, start, end))

    def item(self, raw: RawItem) -> None:
        head = raw.segments[0]
        if len(head) > 1:
            stars = [t for t in head if t.kind == "STAR"]
            if stars:
                self.add("EM001", _STAR_IN_LIST, stars[0].start, stars[0].end)
                return
            for comma in raw.commas[0]:
                self.add(
                    "EM004", "comma between events: separate events with ';'", comma, comma + 1
                )
        names = [self._event(tok) for tok in head]
        filtered = len(raw.segments) > 1
        for tok, name in zip(head[:-1] if filtered else head, names, strict=False):
            if name is not None:
                self.items.append(_event_item(name, (tok.start, tok.end)))
        if not filtered:
            return
        last, last_name = head[-1], names[-1]
        if last.kind == "STAR" or last_name != ARI:
            shown = "*" if last.kind == "STAR" else (last_name or last.value)
            self.add(
                "EM001",
                f"filter segments are allowed only after 'ari', not after {shown!r}",
                raw.colons[0],
                raw.end,
            )
            return
        self._filter(raw, last.start)

    def _event(self, tok: Token) -> str | None:
        """The current name of the event `tok` names; None after an EM001."""
        if tok.kind == "STAR":
            return "*"
        if tok.kind == "UUID":
            self.add("EM001", "expected an event name, found a UUID", tok.start, tok.end)
            return None
        name = self._lower(tok, "event")
        current = self.catalogue.canonical_event(name)
        if current is None:
            spellings = sorted(self.catalogue.events)
            self.add(
                "EM002", f"unknown event {name!r}{_suggest(name, spellings)}", tok.start, tok.end
            )
            return name
        if name != current:
            self.add(
                "EM103", f"{name!r} is a deprecated spelling of {current!r}", tok.start, tok.end
            )
        return current

    def _lower(self, tok: Token, what: str) -> str:
        lowered = tok.value.lower()
        if lowered != tok.value:
            self.add(
                "EM007",
                f"upper case in {what} name {tok.value!r}: names are lower case ({lowered!r})",
                tok.start,
                tok.end,
            )
        return lowered

    def _filter(self, raw: RawItem, start: int) -> None:
        segments = raw.segments
        if len(segments) > 4:
            self.add(
                "EM001",
                "an ari filter has at most four segments (ari:restrictions:room types:rate plans)",
                raw.colons[3],
                raw.end,
            )
            return
        if len(segments) < 4:
            missing = " and ".join(_SEGMENT_LISTS[i] for i in range(len(segments), 4))
            shown = self.text[start : raw.end]
            self.add(
                "EM005",
                f"partial ari filter {shown!r}: expected ':' and the {missing} "
                f"(add {':*' * (4 - len(segments))!r} for any)",
                raw.end,
            )
        restrictions, room_types, rate_plans = (
            self._segment(segments[index], index) if index < len(segments) else None
            for index in (1, 2, 3)
        )
        if restrictions is _INVALID or room_types is _INVALID or rate_plans is _INVALID:
            return
        self.items.append(AriFilter(restrictions, room_types, rate_plans, (start, raw.end)))

    def _segment(self, toks: list[Token], index: int) -> _Segment:
        """The values of filter segment `index`: None for '*', _INVALID after an EM001."""
        if len(toks) == 1 and toks[0].kind == "STAR":
            return None
        ok = True
        seen: dict[str, Token] = {}
        for tok in toks:
            if tok.kind == "STAR":
                self.add("EM001", _STAR_IN_LIST, tok.start, tok.end)
                ok = False
                continue
            value = self._restriction(tok) if index == 1 else self._id(tok, index)
            if value is None:
                ok = False
            elif value in seen:
                self.add(
                    "EM105",
                    f"duplicate value {value!r} in the {_SEGMENT_LISTS[index]}",
                    tok.start,
                    tok.end,
                )
            else:
                seen[value] = tok
        return frozenset(seen) if ok else _INVALID

    def _restriction(self, tok: Token) -> str | None:
        if tok.kind == "UUID":
            self.add(
                "EM001",
                "expected a restriction name or '*', found a UUID "
                "(the restrictions come before the room type ids)",
                tok.start,
                tok.end,
            )
            return None
        name = self._lower(tok, "restriction")
        if name in self.catalogue.legacy_restrictions:
            self.add(
                "EM104",
                f"{name!r} is a legacy restriction that Channex no longer sends",
                tok.start,
                tok.end,
            )
        elif name not in self.catalogue.restrictions:
            spellings = sorted(self.catalogue.all_restrictions)
            self.add(
                "EM003",
                f"unknown restriction {name!r}{_suggest(name, spellings)}",
                tok.start,
                tok.end,
            )
        return name

    def _id(self, tok: Token, index: int) -> str | None:
        if tok.kind == "UUID":
            return tok.value.lower()
        self.add(
            "EM001",
            f"malformed UUID {tok.value!r} in the {_SEGMENT_LISTS[index]}: "
            "expected 8-4-4-4-12 hexadecimal digits",
            tok.start,
            tok.end,
        )
        return None


def _event_item(name: str, span: tuple[int, int]) -> Item:
    if name == "*":
        return Wildcard(span=span)
    if name == ARI:
        return AriFilter(span=span)
    return EventItem(name, span=span)


def lint_mask(items: Sequence[Item]) -> list[Diagnostic]:
    """The findings about the items together: ``*`` beside others, duplicates, redundancy, EM102.

    >>> [d.code for d in lint_mask([EventItem("booking", (0, 7)), EventItem("booking_new")])]
    ['EM102']
    """
    found: list[Diagnostic] = []
    stars = [i for i in items if isinstance(i, Wildcard)]
    if stars and len(items) > 1:
        span = stars[0].span or (0, 1)
        message = "'*' beside other items: '*' alone already matches everything"
        return [diagnostic("EM008", message, *span)]
    first: dict[Item, Item] = {}
    for item in items:
        if item in first:
            span = item.span or (0, 0)
            origin = first[item].span or (0, 0)
            message = f"duplicate item {str(item)!r} (first at position {origin[0]})"
            found.append(diagnostic("EM105", message, *span))
        else:
            first[item] = item
    distinct = list(first)
    filters = [i for i in distinct if isinstance(i, AriFilter)]
    for item in filters:
        cover = next((g for g in filters if g is not item and item_covers(g, item)), None)
        if cover is not None:
            message = (
                f"redundant item {str(item)!r}: {str(cover)!r} already selects everything it does"
            )
            found.append(diagnostic("EM101", message, *(item.span or (0, 0))))
    names = {i.name: i for i in distinct if isinstance(i, EventItem)}
    booking = names.get(BOOKING)
    family = [n for n in BOOKING_REVISION_EVENTS if n in names]
    if booking is not None and family:
        listed = ", ".join(repr(n) for n in family)
        message = f"'booking' together with {listed}: one booking revision is delivered twice"
        found.append(diagnostic("EM102", message, *(booking.span or (0, 0))))
    return found
