"""From text to the shape of a mask: the Lark grammar's tree, and its errors in words.

`read_shape` runs the grammar over whitespace-free text and returns each
item as a `RawItem` (its segments of tokens, with offsets), plus an EM001
diagnostic for every place the grammar refused.  An error names what was
expected there in plain words, never a terminal name such as ``COMMA`` or
``$END`` (docs/diagnostics.md, EM001).

When the grammar rejects the whole text, each ``;``-separated item is parsed
on its own (``;`` can only ever separate items), so one typo does not hide
the findings in the other items.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Final, NamedTuple

from .._catalogue import is_uuid
from .diagnostics import Diagnostic, diagnostic
from .grammar import PHRASES, parser

__all__ = ["RawItem", "Token", "read_shape"]

_VALUE_TERMINALS: Final = frozenset({"STAR", "NAME"})
_SEPARATOR_ORDER: Final = ("SEMI", "COMMA", "COLON", "$END")
_SEGMENT_WORDS: Final = ("event name", "restriction name", "room type id", "rate plan id")


class Token(NamedTuple):
    """One value of a mask: its kind (STAR, UUID or NAME), text and offset."""

    kind: str
    value: str
    start: int  # offset in the whitespace-free text

    @property
    def end(self) -> int:
        """The offset just past the value."""
        return self.start + len(self.value)


class RawItem(NamedTuple):
    """One item as the grammar shaped it, before any name is checked."""

    segments: list[list[Token]]
    colons: list[int]  # offset of the ':' opening segment i+1
    commas: list[list[int]]  # offsets of the ',' inside each segment
    start: int
    end: int


def read_shape(text: str) -> tuple[list[RawItem], list[Diagnostic]]:
    """The items of whitespace-free `text` and the syntax errors (EM001) found in it.

    >>> items, errors = read_shape("booking;;message")
    >>> [i.segments[0][0].value for i in items], [(d.code, d.start) for d in errors]
    (['booking', 'message'], [('EM001', 8)])
    """
    if not text:
        message = "empty mask: expected '*', an event name or an ari filter"
        return [], [diagnostic("EM001", message, 0)]
    from lark.exceptions import LarkError

    try:
        tree = parser().parse(text, start="mask")
    except LarkError:
        return _per_item(text)
    return list(_items_of(tree.children)), []


def _per_item(text: str) -> tuple[list[RawItem], list[Diagnostic]]:
    from lark.exceptions import LarkError

    items: list[RawItem] = []
    found: list[Diagnostic] = []
    offset = 0
    for chunk in text.split(";"):
        if not chunk:
            # An empty item: before the first ';' the ';' itself is the
            # surprise; after a ';' it is the missing event.
            found.append(_expected(text, offset, "';'" if offset == 0 else None, _VALUE_TERMINALS))
        else:
            try:
                tree = parser().parse(chunk, start="item")
            except LarkError as err:
                found.append(_lark_error(text, err, offset))
            else:
                items.extend(_items_of([tree], offset))
        offset += len(chunk) + 1
    return items, found


def _item_end(text: str, offset: int) -> int:
    return offset + len(text[offset:].split(";", 1)[0])


def _lark_error(text: str, err: Exception, offset: int) -> Diagnostic:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    if isinstance(err, UnexpectedCharacters):
        pos = offset + (err.pos_in_stream or 0)
        return _expected(text, pos, f"character {text[pos]!r}", err.allowed)
    if isinstance(err, UnexpectedToken):
        token = err.token
        found: str | None
        if token.type == "$END":
            pos, found = _item_end(text, offset), None
        else:
            pos = offset + (token.start_pos or 0)
            found = "a UUID" if is_uuid(str(token)) else PHRASES.get(token.type, repr(token))
        if token.type == "SEMI" and text[pos - 1 : pos] == ";":
            found = None
        return _expected(text, pos, found, err.expected)
    if isinstance(err, UnexpectedEOF):
        return _expected(text, _item_end(text, offset), None, err.expected)
    # pragma: no cover - lark raises only the three above while parsing
    return diagnostic("EM001", f"invalid mask ({type(err).__name__})", offset)


def _expected(text: str, pos: int, found: str | None, expected: object) -> Diagnostic:
    """An EM001 that says, in words, what was expected at `pos`."""
    terms = set(expected) if isinstance(expected, (set, frozenset, list, tuple)) else set()
    before = text[:pos]
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
    return diagnostic("EM001", message, pos)


def _items_of(children: Sequence[object], offset: int = 0) -> Iterator[RawItem]:
    """Flatten Lark `item` trees into `RawItem`s with absolute offsets."""
    from lark import Token as LarkToken
    from lark import Tree

    for child in children:
        if not isinstance(child, Tree):
            continue
        segments: list[list[Token]] = []
        colons: list[int] = []
        commas: list[list[int]] = []
        for part in child.children:
            if isinstance(part, Tree):
                toks: list[Token] = []
                seps: list[int] = []
                for tok in part.children:
                    assert isinstance(tok, LarkToken)
                    start = offset + (tok.start_pos or 0)
                    if tok.type == "COMMA":
                        seps.append(start)
                    else:
                        value = str(tok)
                        # Ids and names share one terminal; the UUID form decides.
                        kind = "UUID" if tok.type == "NAME" and is_uuid(value) else tok.type
                        toks.append(Token(kind, value, start))
                segments.append(toks)
                commas.append(seps)
            elif isinstance(part, LarkToken):
                colons.append(offset + (part.start_pos or 0))
        yield RawItem(segments, colons, commas, segments[0][0].start, segments[-1][-1].end)
