"""Turning mask text into a `Mask`: strict and lenient parsing, and `lint`.

One analysis serves all three entry points.  It removes whitespace (keeping a
map back to the original offsets), runs the Lark grammar, then checks the
tree against the catalogue and SPEC 1.3, collecting *every* finding as a
`Diagnostic`.  `lint` returns them; a strict `parse` raises the first error;
a lenient `parse` repairs EM002-EM008 and keeps them as warnings.

When the grammar rejects the whole text, the analysis parses each
``;``-separated item on its own (``;`` can only ever separate items), so one
typo does not hide the findings in the other items.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Final, NamedTuple

import attrs

from ._ast import AriFilter, EventItem, Item, Mask, Wildcard, item_covers
from ._catalogue import Catalogue
from ._diagnostics import REPAIRABLE, Diagnostic, diagnostic
from ._errors import MaskSyntaxError
from ._grammar import PHRASES, parser

__all__ = ["MAX_MASK_LENGTH", "lint", "parse"]

MAX_MASK_LENGTH: Final = 65_536
_CACHE_SIZE: Final = 4096
_WS: Final = re.compile(r"\s+")
_BOOKING_FAMILY: Final = ("booking_new", "booking_modification", "booking_cancellation")
_SEGMENT_WORDS: Final = ("event name", "restriction name", "room type id", "rate plan id")
_SEGMENT_LISTS: Final = ("events", "restrictions", "room type ids", "rate plan ids")
_STAR_IN_LIST: Final = "'*' cannot stand beside other values in one list"


class _Tok(NamedTuple):
    kind: str  # STAR, UUID or NAME
    value: str
    start: int  # offset in the whitespace-free text

    @property
    def end(self) -> int:
        return self.start + len(self.value)


class _RawItem(NamedTuple):
    segments: list[list[_Tok]]
    colons: list[int]  # offset of the ':' opening segment i+1
    commas: list[list[int]]  # offsets of the ',' inside each segment
    start: int
    end: int


@attrs.frozen(slots=True)
class _Tables:
    events: dict[str, str]  # every accepted spelling -> current name
    current: frozenset[str]  # current event names, without aliases
    aliases: frozenset[str]
    restrictions: frozenset[str]
    legacy: frozenset[str]
    event_spellings: tuple[str, ...]
    restriction_spellings: tuple[str, ...]


@lru_cache(maxsize=32)
def _tables(catalogue: Catalogue) -> _Tables:
    events = {name: name for name in catalogue.events}
    events.update(catalogue.alias_map)
    return _Tables(
        events=events,
        current=catalogue.events,
        aliases=frozenset(catalogue.alias_map),
        restrictions=catalogue.restrictions,
        legacy=catalogue.legacy_restrictions,
        event_spellings=tuple(sorted(catalogue.events)),
        restriction_spellings=tuple(sorted(catalogue.all_restrictions)),
    )


def _suggest(name: str, candidates: Sequence[str]) -> str:
    import difflib  # only an unknown name pays for it

    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.75)
    return f"; did you mean {close[0]!r}?" if close else ""


# -- the analysis -------------------------------------------------------------


class _Analysis:
    """Collects items and findings for one text; offsets are whitespace-free."""

    def __init__(self, stripped: str, tables: _Tables) -> None:
        self.text = stripped
        self.tables = tables
        self.items: list[Item] = []
        self.found: list[Diagnostic] = []

    def add(self, code: str, message: str, start: int, end: int | None = None) -> None:
        self.found.append(diagnostic(code, message, start, end))

    # Syntax ----------------------------------------------------------------

    def run(self) -> None:
        if not self.text:
            self.add("EM001", "empty mask: expected '*', an event name or an ari filter", 0)
            return
        from lark.exceptions import LarkError

        try:
            tree = parser().parse(self.text, start="mask")
        except LarkError:
            self._run_per_item()
            return
        for raw in _items_of(tree.children):
            self._item(raw)
        self._whole_mask()

    def _run_per_item(self) -> None:
        from lark.exceptions import LarkError

        offset = 0
        for chunk in self.text.split(";"):
            if not chunk:
                # An empty item: before the first ';' the ';' itself is the
                # surprise; after a ';' it is the missing event.
                self._syntax(offset, "';'" if offset == 0 else None, _VALUE_TERMINALS)
            else:
                try:
                    tree = parser().parse(chunk, start="item")
                except LarkError as err:
                    self._lark_error(err, offset)
                else:
                    for raw in _items_of([tree], offset):
                        self._item(raw)
            offset += len(chunk) + 1
        self._whole_mask()

    def _lark_error(self, err: Exception, offset: int) -> None:
        from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

        if isinstance(err, UnexpectedCharacters):
            pos = offset + (err.pos_in_stream or 0)
            self._syntax(pos, f"character {self.text[pos]!r}", err.allowed)
        elif isinstance(err, UnexpectedToken):
            token = err.token
            if token.type == "$END":
                pos, found = offset + len(self.text[offset:].split(";", 1)[0]), None
            else:
                pos, found = offset + (token.start_pos or 0), PHRASES.get(token.type, repr(token))
            if token.type == "SEMI" and self.text[pos - 1 : pos] == ";":
                found = None
            self._syntax(pos, found, err.expected)
        elif isinstance(err, UnexpectedEOF):
            self._syntax(offset + len(self.text[offset:].split(";", 1)[0]), None, err.expected)
        else:  # pragma: no cover - lark raises only the three above while parsing
            self.add("EM001", f"invalid mask ({type(err).__name__})", offset)

    def _syntax(self, pos: int, found: str | None, expected: object) -> None:
        """An EM001 that says, in words, what was expected at `pos`."""
        terms = set(expected) if isinstance(expected, (set, frozenset, list, tuple)) else set()
        before = self.text[:pos]
        item_start = before.rfind(";") + 1
        segment = before[item_start:].count(":")
        prev = before[-1:] or None
        if terms & _VALUE_TERMINALS or not terms:
            if segment == 0:
                what = "'*' or an event name" if pos == 0 else "an event name"
            elif segment < 4:
                what = f"a {_SEGMENT_WORDS[segment]}"
                if prev != ",":
                    what += " or '*'"
            else:
                what = "a value"
            where = {";": " after ';'", ":": " after ':'", ",": " after ','"}.get(prev or "", "")
            message = f"expected {what}{where}"
        else:
            phrases = [PHRASES[t] for t in _SEPARATOR_ORDER if t in terms]
            listed = phrases[0]
            if len(phrases) > 1:
                listed = ", ".join(phrases[:-1]) + f" or {phrases[-1]}"
            word = re.search(r"[A-Za-z0-9_*-]+$", before)
            message = f"expected {listed}" + (f" after {word.group()!r}" if word else "")
        if found is not None:
            message = f"unexpected {found}: {message}"
        self.add("EM001", message, pos)

    # Meaning ---------------------------------------------------------------

    def _item(self, raw: _RawItem) -> None:
        head = raw.segments[0]
        if len(head) > 1:
            stars = [t for t in head if t.kind == "STAR"]
            if stars:
                self.add("EM001", _STAR_IN_LIST, stars[0].start, stars[0].end)
                return
            for comma in raw.commas[0]:
                self.add(
                    "EM004",
                    "comma between events: separate events with ';'",
                    comma,
                    comma + 1,
                )
        names: list[str | None] = [self._event(tok) for tok in head]
        filtered = len(raw.segments) > 1
        for tok, name in zip(head[:-1] if filtered else head, names, strict=False):
            if name is not None:
                self.items.append(_event_item(name, (tok.start, tok.end)))
        if not filtered:
            return
        last, last_name = head[-1], names[-1]
        if last.kind == "STAR" or last_name != "ari":
            shown = "*" if last.kind == "STAR" else (last_name or last.value)
            self.add(
                "EM001",
                f"filter segments are allowed only after 'ari', not after {shown!r}",
                raw.colons[0],
                raw.end,
            )
            return
        self._filter(raw, last.start)

    def _event(self, tok: _Tok) -> str | None:
        """The current name of the event `tok` names; None after an EM001."""
        if tok.kind == "STAR":
            return "*"
        if tok.kind == "UUID":
            self.add("EM001", "expected an event name, found a UUID", tok.start, tok.end)
            return None
        name = self._lower(tok, "event")
        current = self.tables.events.get(name)
        if current is None:
            self.add(
                "EM002",
                f"unknown event {name!r}{_suggest(name, self.tables.event_spellings)}",
                tok.start,
                tok.end,
            )
            return name
        if name in self.tables.aliases:
            self.add(
                "EM103",
                f"{name!r} is a deprecated spelling of {current!r}",
                tok.start,
                tok.end,
            )
        return current

    def _lower(self, tok: _Tok, what: str) -> str:
        lowered = tok.value.lower()
        if lowered != tok.value:
            self.add(
                "EM007",
                f"upper case in {what} name {tok.value!r}: names are lower case ({lowered!r})",
                tok.start,
                tok.end,
            )
        return lowered

    def _filter(self, raw: _RawItem, start: int) -> None:
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
        values: list[frozenset[str] | None] = []
        ok = True
        for index in (1, 2, 3):
            seg = self._segment(segments[index], index) if index < len(segments) else None
            if isinstance(seg, bool):
                ok = False
            else:
                values.append(seg)
        if ok:
            restrictions, room_types, rate_plans = values
            self.items.append(AriFilter(restrictions, room_types, rate_plans, (start, raw.end)))

    def _segment(self, toks: list[_Tok], index: int) -> frozenset[str] | bool | None:
        """The values of filter segment `index` (None for '*'; False after an EM001)."""
        if len(toks) == 1 and toks[0].kind == "STAR":
            return None
        ok = True
        seen: dict[str, _Tok] = {}
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
        return frozenset(seen) if ok else False

    def _restriction(self, tok: _Tok) -> str | None:
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
        if name in self.tables.legacy:
            self.add(
                "EM104",
                f"{name!r} is a legacy restriction that Channex no longer sends",
                tok.start,
                tok.end,
            )
        elif name not in self.tables.restrictions:
            self.add(
                "EM003",
                f"unknown restriction {name!r}{_suggest(name, self.tables.restriction_spellings)}",
                tok.start,
                tok.end,
            )
        return name

    def _id(self, tok: _Tok, index: int) -> str | None:
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

    def _whole_mask(self) -> None:
        items = self.items
        stars = [i for i in items if isinstance(i, Wildcard)]
        if stars and len(items) > 1:
            span = stars[0].span or (0, 1)
            self.add("EM008", "'*' beside other items: '*' alone already matches everything", *span)
            return
        first: dict[Item, Item] = {}
        for item in items:
            if item in first:
                span = item.span or (0, 0)
                origin = first[item].span or (0, 0)
                self.add(
                    "EM105", f"duplicate item {str(item)!r} (first at position {origin[0]})", *span
                )
            else:
                first[item] = item
        distinct = list(first)
        filters = [i for i in distinct if isinstance(i, AriFilter)]
        for item in filters:
            cover = next((g for g in filters if g is not item and item_covers(g, item)), None)
            if cover is not None:
                span = item.span or (0, 0)
                self.add(
                    "EM101",
                    f"redundant item {str(item)!r}: "
                    f"{str(cover)!r} already selects everything it does",
                    *span,
                )
        names = {i.name: i for i in distinct if isinstance(i, EventItem)}
        booking = names.get("booking")
        family = [n for n in _BOOKING_FAMILY if n in names]
        if booking is not None and family:
            span = booking.span or (0, 0)
            listed = ", ".join(repr(n) for n in family)
            self.add(
                "EM102",
                f"'booking' together with {listed}: one booking revision is delivered twice",
                *span,
            )


_VALUE_TERMINALS: Final = frozenset({"STAR", "UUID", "NAME"})
_SEPARATOR_ORDER: Final = ("SEMI", "COMMA", "COLON", "$END")


def _event_item(name: str, span: tuple[int, int]) -> Item:
    if name == "*":
        return Wildcard(span=span)
    if name == "ari":
        return AriFilter(span=span)
    return EventItem(name, span=span)


def _items_of(children: Sequence[object], offset: int = 0) -> Iterator[_RawItem]:
    """Flatten Lark `item` trees into `_RawItem`s with absolute offsets."""
    from lark import Token, Tree

    for child in children:
        if not isinstance(child, Tree):
            continue
        segments: list[list[_Tok]] = []
        colons: list[int] = []
        commas: list[list[int]] = []
        for part in child.children:
            if isinstance(part, Tree):
                toks: list[_Tok] = []
                seps: list[int] = []
                for tok in part.children:
                    assert isinstance(tok, Token)
                    start = offset + (tok.start_pos or 0)
                    if tok.type == "COMMA":
                        seps.append(start)
                    else:
                        toks.append(_Tok(tok.type, str(tok), start))
                segments.append(toks)
                commas.append(seps)
            elif isinstance(part, Token):
                colons.append(offset + (part.start_pos or 0))
        yield _RawItem(segments, colons, commas, segments[0][0].start, segments[-1][-1].end)


# -- entry points ---------------------------------------------------------------


class _Result(NamedTuple):
    items: list[Item]
    found: list[Diagnostic]


def _analyse(text: str, catalogue: Catalogue | None) -> _Result:
    """Every finding for `text`, with offsets into `text` itself."""
    if not isinstance(text, str):
        raise TypeError(f"a mask is a str, not {type(text).__name__}")
    if len(text) > MAX_MASK_LENGTH:
        return _Result(
            [],
            [
                diagnostic(
                    "EM001",
                    f"mask is {len(text):,} characters long; the limit is {MAX_MASK_LENGTH:,}",
                    MAX_MASK_LENGTH,
                    len(text),
                )
            ],
        )
    tables = _tables(catalogue or Catalogue.default())
    spaces = list(_WS.finditer(text))
    if not spaces:
        analysis = _Analysis(text, tables)
        analysis.run()
        return _Result(analysis.items, sorted(analysis.found, key=_order))
    stripped = _WS.sub("", text)
    # offsets[i] is where character i of `stripped` stands in `text`.
    offsets = [i for i, ch in enumerate(text) if not ch.isspace()] + [len(text)]
    analysis = _Analysis(stripped, tables)
    analysis.run()

    def place(d: Diagnostic) -> Diagnostic:
        start = offsets[d.start]
        end = offsets[d.end - 1] + 1 if d.end > d.start else start
        return attrs.evolve(d, start=start, end=end)

    found = [place(d) for d in analysis.found]
    found += [
        diagnostic("EM006", "whitespace is not allowed in a mask", m.start(), m.end())
        for m in spaces
    ]
    items = [_respan(i, offsets) for i in analysis.items]
    return _Result(items, sorted(found, key=_order))


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
    return _analyse(text, catalogue).found


_caches: dict[tuple[bool, Catalogue | None], dict[str, Mask]] = {}
_strict: dict[str, Mask] = {}
_caches[(False, None)] = _strict
_cache_lock = threading.Lock()


def parse(text: str, *, lenient: bool = False, catalogue: Catalogue | None = None) -> Mask:
    """Parse mask `text` into a `Mask`; raise `MaskSyntaxError` if it is invalid.

    Strict by default: only what Channex accepts passes.  With
    ``lenient=True`` the repairable mistakes of SPEC 1.3 are fixed and kept
    as warnings in ``Mask.warnings``.  Results are cached (bounded), keyed by
    text, mode and catalogue.

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
    mask = _parse(text, lenient, catalogue)
    with _cache_lock:
        if len(cache) >= _CACHE_SIZE:
            # Evict the oldest entry: a bounded FIFO keeps hits on the hot
            # path a plain dict lookup, with no bookkeeping per hit.
            cache.pop(next(iter(cache)), None)
        cache[text] = mask
    return mask


_HEX: Final = "[0-9A-Fa-f]"
_UUID: Final = re.compile(f"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}")


def _clean_ids(segment: str) -> frozenset[str] | bool | None:
    if segment == "*":
        return None
    values = segment.lower().split(",")
    for value in values:
        if _UUID.fullmatch(value) is None:
            return False
    ids = frozenset(values)
    return ids if len(ids) == len(values) else False


def _fast(text: str, tables: _Tables) -> Mask | None:
    """The mask for `text` when it is clean (no finding at all), else None.

    Most masks a program parses are valid, and Lark's pure-Python LALR driver
    costs about 5 microseconds a token; this path reads a clean mask with
    `str.split` at a fraction of that and hands anything unusual (one finding
    of any code, even a warning) to the grammar.  A property test checks that
    both paths build the same mask for every mask the grammar generates.
    """
    if text == "*":
        return Mask((Wildcard(span=(0, 1)),), (), text)
    events = tables.current
    items: list[Item] = []
    start = 0
    for part in text.split(";"):
        end = start + len(part)
        if ":" not in part:
            if part not in events:
                return None
            span = (start, end)
            items.append(AriFilter(span=span) if part == "ari" else EventItem(part, span))
        else:
            segments = part.split(":")
            if len(segments) != 4 or segments[0] != "ari":
                return None
            restrictions: frozenset[str] | None = None
            if segments[1] != "*":
                names = segments[1].split(",")
                for name in names:
                    if name not in tables.restrictions:
                        return None
                restrictions = frozenset(names)
                if len(restrictions) != len(names):
                    return None
            room_types = _clean_ids(segments[2])
            rate_plans = _clean_ids(segments[3])
            if room_types is False or rate_plans is False:
                return None
            items.append(AriFilter(restrictions, room_types, rate_plans, (start, end)))  # type: ignore[arg-type]
        start = end + 1
    mask = Mask(tuple(items), (), text)
    if len(mask.items) != len(items):
        return None  # a duplicate or a covered item: EM105 or EM101
    if (
        "booking" in events
        and any(isinstance(i, EventItem) and i.name in _BOOKING_FAMILY for i in items)
        and any(isinstance(i, EventItem) and i.name == "booking" for i in items)
    ):
        return None  # EM102
    return mask


def _parse(text: str, lenient: bool, catalogue: Catalogue | None) -> Mask:
    if isinstance(text, str) and len(text) <= MAX_MASK_LENGTH:
        fast = _fast(text, _tables(catalogue or Catalogue.default()))
        if fast is not None:
            return fast
    items, found = _analyse(text, catalogue)
    fatal = [d for d in found if d.severity == "error" and not (lenient and d.code in REPAIRABLE)]
    if fatal:
        first = fatal[0]
        raise MaskSyntaxError(first.message, text, first.start, first.code, first.end)
    warnings = tuple(d.as_warning() if d.severity == "error" else d for d in found)
    return Mask(tuple(items), warnings, text)
