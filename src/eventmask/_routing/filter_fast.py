"""The stream filter's fast path: a byte pre-check, typed decoding, spliced output.

For a mask made of ``ari`` filters and events (no ``*`` and no plain
``ari``), most lines of a real ARI log cannot match: they name another
rate plan, or carry no key the mask asks for.  This path proves that from
the bytes (a necessary condition), checks the line is still a valid
notification with a cheap typed decode that builds almost nothing, and only
for the few lines that may match decodes the items typed, selects them, and
writes the selected items' original bytes back in place of the payload.

Value, date and time predicates (``--where``, ``--dates``, ``--since``) are
asked here too, of the same typed items, so a selected line is decoded once
and narrowed once (docs/filter.md, "Values, dates and times").

It answers only lines it is sure of: pure ASCII (so no invalid UTF-8 hides
in a skipped string), no backslash (so no escape hides an id, a key or an
event name), and every decode that succeeds.  Anything else, and every
error, goes to the general path, which says exactly what it would have said
alone.  tests/routing/test_filter_fast.py checks the two paths agree on
generated and adversarial lines (docs/filter.md, "Speed").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec

from .._catalogue import ARI, Catalogue
from .._json import dumps
from .._language.items import AriFilter, EventItem, Item
from .._language.mask import Mask
from .line_needs import gate_of, mask_needs
from .pickers import ID_FIELDS, picker

if TYPE_CHECKING:
    from .predicates import Predicates

__all__ = [
    "FastLine",
    "Result",
    "ScreenLine",
    "WholeLine",
    "events_wanted",
    "fast_path",
    "fits",
    "in_scope",
    "items_fit",
    "narrow",
    "takes_every_item",
    "takes_whole",
]

# What the filter learns from one line: the output (None: nothing to write;
# a list with --items), ARI items read, ARI items selected, and whether the
# notification matched.
Result = tuple[bytes | list[bytes] | None, int, int, bool]

_UNSET: Final = msgspec.UNSET
_NULL: Final = msgspec.Raw(b"null")


class _Shape(msgspec.Struct, gc=False):
    """The envelope, decoded to check it; the payload's bytes are kept, not built."""

    event: str
    property_id: Any = None
    payload: msgspec.Raw | msgspec.UnsetType = _UNSET


class _Object(msgspec.Struct, gc=False):
    """Any JSON object, its contents skipped (checks that an ARI item is an object)."""


class _AriShape(msgspec.Struct, gc=False):
    """An ARI notification, decoded to check it: every item an object, none built."""

    event: str
    property_id: Any = None
    payload: list[_Object] | msgspec.UnsetType | None = _UNSET


_shape: Final = msgspec.json.Decoder(_Shape)
_ari_shape: Final = msgspec.json.Decoder(_AriShape)
_objects: Final = msgspec.json.Decoder(list[_Object])
_spans: Final = msgspec.json.Decoder(list[msgspec.Raw])
_top: Final = msgspec.json.Decoder(dict[str, msgspec.Raw])


def narrow(line: bytes, keep: list[int]) -> bytes:
    """The notification `line` with its ARI payload narrowed to the items at `keep`.

    Every value keeps the bytes it came with (numbers are never rounded, the
    selected items are written as sent); only the top level is written again,
    compactly, keys in their order.

    >>> narrow(b'{"event": "ari", "payload": [{"rate": 1.50}, {"booked": 2}]}', [0])
    b'{"event":"ari","payload":[{"rate": 1.50}]}'
    """
    return _narrowed(_top.decode(line), keep)


def _narrowed(
    top: dict[str, Any], keep: list[int], spans: list[msgspec.Raw] | None = None
) -> bytes:
    """`narrow` of a line already decoded to its top level (and its payload to `spans`)."""
    if spans is None:
        spans = _spans.decode(top["payload"])
    top["payload"] = msgspec.Raw(b"[" + b",".join([spans[n] for n in keep]) + b"]")  # Raw: a buffer
    return dumps(top)


# A line of the fast path has no escape and no byte beyond ASCII, so a string at its top
# level encodes again to the bytes it came as, and so do true, false and null: one
# decode then gives the top level and the payload's item spans together, where `narrow`
# decodes the line and then its payload (on a 15.8 kB line of ARI, 9.3 us for the two).
_top_and_spans: Final = msgspec.json.Decoder(dict[str, list[msgspec.Raw] | str | bool | None])


def _narrowed_plain(line: bytes, keep: list[int]) -> bytes:
    """`narrow` of a pure ASCII line without a backslash."""
    try:
        top = _top_and_spans.decode(line)
    except msgspec.ValidationError:  # a number or an object at the top level
        return _narrowed(_top.decode(line), keep)
    for key, value in top.items():
        if value.__class__ is list and key != "payload":  # written again, it would lose
            return _narrowed(_top.decode(line), keep)  # the spacing it came with
    spans = top.get("payload")
    if spans.__class__ is not list:  # pragma: no cover - the typed decode read a list there
        return _narrowed(_top.decode(line), keep)
    return _narrowed(top, keep, spans)


def fast_path(
    mask: Mask,
    property_id: str | None,
    catalogue: Catalogue,
    predicates: Predicates | None = None,
    *,
    items: bool = False,
) -> FastLine | WholeLine | None:
    """The fast path for `mask` (and `predicates`), or None when the mask does not fit one.
    With `items` (one selected item a line), only the lines it can rule out (`ScreenLine`).

    >>> from eventmask import Predicates, parse
    >>> fast_path(parse("*"), None, Catalogue.default(), Predicates.of(dates="2026-06-01"))
    >>> type(fast_path(parse("*"), None, Catalogue.default())).__name__
    'WholeLine'
    >>> type(fast_path(parse("ari:rate:*:*"), None, Catalogue.default(), items=True)).__name__
    'ScreenLine'
    """
    if items:
        return ScreenLine(mask.items, property_id, catalogue, predicates) if fits(mask) else None
    if fits(mask):
        return FastLine(mask.items, property_id, catalogue, predicates)
    asked = predicates is not None and not predicates.empty
    return WholeLine(mask, property_id, catalogue) if takes_whole(mask) and not asked else None


def events_wanted(mask: Mask, catalogue: Catalogue) -> frozenset[str] | None:
    """Every `event` spelling the mask can match (None: all of them).

    >>> from eventmask import parse
    >>> sorted(events_wanted(parse("ari:rate:*:*;booking_new"), Catalogue.default()))
    ['ari', 'booking_new']
    """
    if mask.is_wildcard:
        return None
    names = {i.name for i in mask.items if isinstance(i, EventItem)}
    if any(isinstance(i, AriFilter) for i in mask.items):
        names.add(ARI)
    return catalogue.spellings(names)


def in_scope(scope: str | None, prop: object) -> bool:
    """Whether a notification's `prop` (as sent) is the property `scope` (lower case; None:
    any), ids comparing in either case.

    >>> in_scope("ab", "AB"), in_scope("ab", None), in_scope(None, 7)
    (True, False, True)
    """
    return scope is None or (prop.__class__ is str and prop.lower() == scope)


def takes_whole(mask: Mask) -> bool:
    """Whether `mask` only ever takes notifications whole: ``*``, plain ``ari``, events.

    >>> from eventmask import parse
    >>> takes_whole(parse("ari;booking")), takes_whole(parse("ari:rate:*:*"))
    (True, False)
    """
    return mask.is_wildcard or all(
        isinstance(i, EventItem) or (isinstance(i, AriFilter) and i.is_all) for i in mask.items
    )


class WholeLine:
    """The fast path of masks that take notifications whole (`takes_whole`).

    Nothing is narrowed, so a line only needs checking: the envelope is
    decoded typed with its payload skipped, and an ARI payload decoded as
    item objects that are counted, never built.  The line is written as it
    came.  As `FastLine`, it answers only lines it is sure of, and sends
    every other one, and every odd payload, to the general path.
    """

    def __init__(self, mask: Mask, property_id: str | None, catalogue: Catalogue) -> None:
        self._scope = property_id.lower() if property_id else None
        self._ari = catalogue.spellings([ARI])
        self._wanted = events_wanted(mask, catalogue)

    def __call__(self, line: bytes) -> Result | None:
        """What the filter does with `line` (which may end in its newline), or None."""
        if not line.isascii() or b"\\" in line:
            return None
        try:
            doc = _shape.decode(line)
            read = 0
            payload = doc.payload
            if payload is not _UNSET and payload != _NULL and doc.event in self._ari:
                read = len(_objects.decode(payload))  # each item an object, none built
        except (msgspec.DecodeError, RecursionError):
            return None
        wanted = self._wanted
        if wanted is not None and doc.event not in wanted:
            return (None, read, 0, False)
        if not in_scope(self._scope, doc.property_id):
            return (None, read, 0, False)
        return (line.rstrip(), read, read, True)


def fits(mask: Mask) -> bool:
    """Whether the fast path takes `mask`: ``ari`` filters and events, no ``*``, no ``ari``.

    >>> from eventmask import parse
    >>> fits(parse("ari:rate:*:*;booking")), fits(parse("ari;booking"))
    (True, False)
    """
    filters = [i for i in mask.items if isinstance(i, AriFilter) and not i.is_all]
    if not filters or any(not isinstance(i, (AriFilter, EventItem)) for i in mask.items):
        return False
    return not any(isinstance(i, AriFilter) and i.is_all for i in mask.items)


def takes_every_item(items: Sequence[Item]) -> bool:
    """Whether a mask of `items` takes every item of every ARI notification (``ari``,
    ``ari:*:*:*``), with or without events: the fast path's masks but for that (not ``*``).

    >>> from eventmask import parse
    >>> takes_every_item(parse("ari;booking").items), takes_every_item(parse("*").items)
    (True, False)
    """
    return all(isinstance(i, (AriFilter, EventItem)) for i in items) and any(
        isinstance(i, AriFilter) and i.is_all for i in items
    )


def items_fit(mask: Mask) -> bool:
    """Whether a `FastLine` that hands on the items it reads (`rows_fast`, `items_fast`,
    `aggregate_fast`) takes `mask`: the fast path's masks, and those that take every item.

    >>> from eventmask import parse
    >>> items_fit(parse("ari:rate:*:*")), items_fit(parse("ari")), items_fit(parse("*"))
    (True, True, False)
    """
    return fits(mask) or takes_every_item(mask.items)


class FastLine:
    """The fast path for one mask: call it with a line; None means "ask the general path"."""

    # Whether every item's ids and date are decoded (a subclass that reads the
    # values of the cells), or only the fields the mask and the predicates test.
    values_kept = False

    def __init__(
        self,
        items: Iterable[Item],
        property_id: str | None,
        catalogue: Catalogue,
        predicates: Predicates | None = None,
        kept: Iterable[str] = (),  # keys whose values are read, not tested (`rows_fast`)
    ) -> None:
        items = tuple(items)
        self._asked = predicates if predicates is not None and not predicates.empty else None
        self._scope = property_id.lower() if property_id else None
        self._events = catalogue.spellings(i.name for i in items if isinstance(i, EventItem))
        self._ari = catalogue.spellings([ARI])
        self._wanted = self._events | self._ari
        self._filters = [i for i in items if isinstance(i, AriFilter)]
        self._every = takes_every_item(items)  # never so for `fits`: for a subclass
        self._needs = mask_needs(items, catalogue, self._scope)
        self._gate = gate_of(items)
        asked = self._asked
        named = {r for f in self._filters for r in f.restrictions or ()} | set(kept)
        names = sorted(named | ({c.key for c in asked.where} if asked is not None else set()))
        self._keys = {name: f"k{n}" for n, name in enumerate(names)}
        self._objects = self._as_objects()
        # Every restriction key is decoded to its value, also one the mask only asks
        # for: restriction values are mostly small ints and booleans, which cost no
        # allocation, where a `msgspec.Raw` of the value is one object per key.
        item_type: Any = dict[str, Any] if self._objects else msgspec.defstruct(
            "AriItem",
            [
                *((field, Any, None) for field in self._fields_read()),
                *((field, Any, _UNSET) for field in self._keys.values()),
            ],
            rename=ID_FIELDS | {field: name for name, field in self._keys.items()},
            gc=False,
        )  # fmt: skip
        # A line that may match is read in one pass: its envelope and its items.
        line_type = msgspec.defstruct(
            "AriLine",
            [("event", str), ("property_id", Any, None), ("timestamp", Any, None),
             ("user_id", Any, None),
             ("payload", list[item_type] | None, None)],
            gc=False,
        )  # fmt: skip
        # float_hook as in `_json`: a number beyond a double's range is infinity there too.
        self._line = msgspec.json.Decoder(line_type, float_hook=float)
        self._pick = self._picker()

    def _as_objects(self) -> bool:
        """Whether the items are decoded as objects (dicts), every key built, instead of
        typed with only the fields the tests read: for a subclass that writes the items
        again (`items_fast`), where the picker's tests allow (`pickers.inline`)."""
        return False

    def _fields_read(self) -> list[str]:
        """The item fields besides restrictions that the tests read (all, when the values
        are kept): a field not read is skipped by the decoder, never built.  Measured on
        the sample's ARI payloads: 21 ms with the two ids and the date, 7 ms without."""
        if self.values_kept:
            return ["room", "rate", "date"]
        asked = self._asked
        return [
            *(["room"] if any(f.room_type_ids is not None for f in self._filters) else []),
            *(["rate"] if any(f.rate_plan_ids is not None for f in self._filters) else []),
            *(["date"] if asked is not None and asked.on_items and asked.dates else []),
        ]

    def __call__(self, line: bytes) -> Result | None:
        """What the filter does with `line` (which may end in its newline), or None."""
        if not line.isascii() or b"\\" in line:
            return None
        try:
            gate = self._gate
            if gate is not None:
                for ids in gate:
                    if ids.found(line):
                        break
                else:
                    return self._no_match(line)
            for needs in self._needs:
                for need in needs:
                    if not need.found(line):
                        break
                else:  # every need of this mask item is met: the line may match
                    return self._maybe(line)
            return self._no_match(line)
        except (msgspec.DecodeError, RecursionError):
            return None

    def _in_scope(self, prop: object) -> bool:
        return in_scope(self._scope, prop)

    def _no_match(self, line: bytes) -> Result | None:
        """A line the mask cannot match: check it is valid, count its items."""
        try:
            doc = _ari_shape.decode(line)
        except msgspec.ValidationError:
            return self._other_event(line)
        payload = doc.payload
        if doc.event not in self._ari:
            wanted = doc.event in self._wanted and self._in_scope(doc.property_id)
            return None if wanted else _NOTHING
        if payload is _UNSET or payload is None:
            return _NOTHING if not self._in_scope(doc.property_id) else None
        return (None, len(payload), 0, False)

    def _other_event(self, line: bytes) -> Result | None:
        """Not an ARI notification with item objects: an event the mask cannot match, or odd."""
        doc = _shape.decode(line)
        if doc.event in self._ari:
            return None  # an ARI payload of the wrong shape: the general path words it
        if doc.event in self._wanted and self._in_scope(doc.property_id):
            return None
        return _NOTHING

    def _maybe(self, line: bytes) -> Result | None:
        """A line the mask may match: decide it, as the general path would.

        One typed decode reads the envelope and the items together; only a
        line whose items are narrowed is read again, to its top level, to be
        written back.  A line kept whole or not at all is read once.
        """
        doc: Any = self._line.decode(line)
        if doc.event not in self._ari:
            return None  # events and odd envelopes: the general path is cheap there
        if self._scope is not None and not self._in_scope(doc.property_id):
            return None
        typed = doc.payload
        if typed is None:
            return None
        if not typed and self._every:  # matched, though no item is picked: the general
            return None  # path's to count
        asked = self._asked
        if asked is not None and not asked.at(doc.timestamp):
            return (None, len(typed), 0, False)
        chosen = self._pick(typed)
        if not chosen:
            return (None, len(typed), 0, False)
        return self._selected(line, doc, typed, chosen)

    def _selected(self, line: bytes, doc: Any, typed: list[Any], picks: list[int]) -> Result | None:
        """A line whose items at `picks` are selected: written whole, or narrowed."""
        if len(picks) == len(typed):
            return (line.rstrip(), len(typed), len(typed), True)
        return (_narrowed_plain(line, picks), len(typed), len(picks), True)

    def _picker(self) -> Callable[[list[Any]], list[int]]:
        """What picks the indexes of the selected items out of a line's typed items."""
        return picker(self._filters, self._keys, self._test, self._asked, objects=self._objects)

    def _test(self, f: AriFilter) -> Callable[[Any], bool]:
        """A predicate on a typed item: does filter `f` select it, and do the item
        predicates hold?

        The rate plan is checked first (the most selective in real masks),
        with plain loops in one function: this runs once per item of every
        line that may match.
        """
        fields = tuple(self._keys[name] for name in sorted(f.restrictions or ()))
        rooms, rates = f.room_type_ids, f.rate_plan_ids
        asked = self._asked if self._asked is not None and self._asked.on_items else None
        dates = asked.dates if asked is not None else None
        where = tuple((c.holds_value, self._keys[c.key]) for c in asked.where) if asked else ()

        def selects(item: Any) -> bool:
            if rates is not None:
                rate = item.rate
                if rate.__class__ is not str or rate.lower() not in rates:
                    return False
            if rooms is not None:
                room = item.room
                if room.__class__ is not str or room.lower() not in rooms:
                    return False
            if fields:
                for field in fields:
                    if getattr(item, field) is not _UNSET:
                        break
                else:
                    return False
            if dates is not None:  # as `Predicates.in_dates`
                day = item.date
                if day.__class__ is not str or not dates[0] <= day[:10] <= dates[1]:
                    return False
            for holds, field in where:
                value = getattr(item, field)
                if value is _UNSET or not holds(value):
                    return False
            return True

        return selects


_NOTHING: Final[Result] = (None, 0, 0, False)


class ScreenLine(FastLine):
    """The fast path's pre-check alone, for one selected item a line (``--items``).

    A line the mask cannot match is checked and counted here, as in
    `FastLine`; every line that may match goes to the general path, which
    writes each selected item again with the notification's ``property_id``
    in front.  On an ARI log most lines are ruled out from their bytes, and
    before, every line was decoded whole (docs/filter.md, "Speed").

    >>> from eventmask import parse
    >>> screen = ScreenLine(parse("ari:rate:*:*").items, None, Catalogue.default())
    >>> screen(b'{"event":"ari","payload":[{"booked":1}]}'), screen(b'{"event":"ari"}')
    ((None, 1, 0, False), None)
    >>> screen(b'{"event":"ari","payload":[{"rate":1}]}')  # may match: the general path's
    """

    def _maybe(self, line: bytes) -> Result | None:
        """Every line that may match is the general path's: it writes the items."""
        return None
