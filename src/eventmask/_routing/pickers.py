"""How the stream filter's fast path picks the selected items out of a line's typed items.

The predicates here run once per ARI item of every line that may match, so
they are written for CPython's costs: plain loops in one function rather
than `any()` over a generator, attribute tests written inline as code, and
a dict lookup by id instead of a test per filter (docs/filter.md, "Speed").
`tests/routing/test_filter_fast.py` holds the fast path, these included, to
the general path.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

import msgspec

from .._catalogue import ARI_ID_KEYS
from .._language.items import AriFilter
from .line_needs import GATE_FROM

if TYPE_CHECKING:
    from .predicates import Predicates

__all__ = ["ID_FIELDS", "Test", "any_of", "dispatch", "either", "inline", "picker", "written"]

_UNSET: Final = msgspec.UNSET

# The typed item's field of each ARI item key that is not a restriction.
ID_FIELDS: Final = {"room": "room_type_id", "rate": "rate_plan_id", "date": "date"}
assert set(ID_FIELDS.values()) == ARI_ID_KEYS, ARI_ID_KEYS

# A predicate on one typed ARI item: is it selected?
Test = Callable[[Any], bool]


def picker(
    filters: list[AriFilter],
    keys: Mapping[str, str],
    test_of: Callable[[AriFilter], Test],
    asked: Predicates | None,
    *,
    objects: bool = False,
) -> Callable[[Any], list[int]]:
    """What picks the indexes of the items `filters` select (and the item predicates of
    `asked` hold for) out of a line's typed items (or its items decoded as objects, with
    `objects`, when the tests are `inline`).

    Every filter's test, and the item predicates, are written inline in one
    comprehension (`written`), up to `GATE_FROM` filters that name ids; from
    there, those are asked through a dict by id (`any_of`), a Python call per
    item, each test made by `test_of` (the predicates included).  With
    ``--where rate>=100`` on the 157 MB stream, the predicates inline took the
    whole command from 0.565 s to 0.504 s (docs/filter.md, "Values, dates and
    times").

    >>> from eventmask import Predicates, parse
    >>> Item = msgspec.defstruct("Item", [("date", Any, None), ("k0", Any, _UNSET)])
    >>> pick = picker(list(parse("ari:rate:*:*").items), {"rate": "k0"},
    ...               lambda f: lambda item: True, Predicates.of(dates="2026-06-01"))
    >>> pick([Item(date="2026-06-01", k0=1), Item(date="2026-06-02", k0=1), Item()])
    [0]
    """
    on_items = asked if asked is not None and asked.on_items else None
    if on_items is None and any(f.is_all for f in filters):
        return _every  # a filter that takes every item (`rows_fast`) has nothing to test
    named = [f for f in filters if f.names_ids]
    assert not objects or inline(filters), filters  # `test_of`'s tests read typed items
    if len(named) >= GATE_FROM:
        if on_items is not None:
            selects = any_of(filters, test_of)
            return lambda typed: [n for n, item in enumerate(typed) if selects(item)]
        alone = [f for f in filters if not f.names_ids]
        return written(alone, keys, any_of(named, test_of))
    if on_items is None:
        return written(filters, keys, objects=objects)
    where = [(c.holds_value, keys[c.key]) for c in on_items.where]
    return written(filters, keys, dates=on_items.dates, where=where, objects=objects)


def inline(filters: list[AriFilter]) -> bool:
    """Whether `picker` writes every test of `filters` in one comprehension: fewer than
    `GATE_FROM` of them name ids.

    >>> from eventmask import parse
    >>> inline(list(parse("ari:rate:*:*;ari:*:*:00000000-0000-4000-8000-000000000001").items))
    True
    """
    return sum(1 for f in filters if f.names_ids) < GATE_FROM


def _every(typed: list[Any]) -> list[int]:
    return list(range(len(typed)))


class _Reads:
    """How a written picker reads an item, as code: a typed item's fields (restrictions
    ``k0``, ``k1``..., unset where absent; the ids and the date as `ID_FIELDS`), or the
    keys of an item decoded as an object (`items_fast`), each key's name put in `names`
    under its field's name."""

    def __init__(self, keys: Mapping[str, str], names: dict[str, object], objects: bool) -> None:
        assert all(re.fullmatch("k[0-9]+", field) for field in keys.values()), keys  # ours
        self.objects = objects
        if objects:
            names.update({field: key for key, field in keys.items()})
            names.update({f"{field}_key": key for field, key in ID_FIELDS.items()})

    def has(self, field: str) -> str:
        """Whether the item carries the restriction of `field`."""
        return f"{field} in item" if self.objects else f"item.{field} is not _UNSET"

    def value(self, field: str) -> str:
        """The value of the restriction of `field`, which the item carries."""
        return f"item[{field}]" if self.objects else f"item.{field}"

    def id(self, field: str) -> str:
        """The item's id or date (a field of `ID_FIELDS`), None where it has none."""
        assert field in ID_FIELDS, field
        return f"item.get({field}_key)" if self.objects else f"item.{field}"


def written(
    filters: list[AriFilter],
    keys: Mapping[str, str],
    rest: Test | None = None,
    *,
    dates: tuple[str, str] | None = None,
    where: Iterable[tuple[Test, str]] = (),
    objects: bool = False,
) -> Callable[[Any], list[int]]:
    """A picker of the items any of `filters` (or `rest`) selects, every filter's test
    written inline in one comprehension (over typed items; with `objects`, over dicts).

    Written as code, as attrs writes its methods.  An attribute test in the
    comprehension costs a third of a C getter's tuple compared per item (on 50
    typed items, ns per item: 3 keys 40 against 102 with `operator.attrgetter`,
    1 key 26 against 54), and a filter's test inline saves the Python call per
    item that a predicate costs (docs/filter.md, "Speed").  The filters that
    name only restrictions come first, as one test of all their keys; then each
    filter's keys (the cheap attribute tests), then its ids in either case.
    `keys` names the typed item's field of each restriction.  The item predicates
    follow, written inline too: an item's `dates` (first, last), and each `where`
    test of a field's value, which the item must carry (`Predicates.item`).

    >>> from eventmask import parse
    >>> rt, keys = "00000000-0000-4000-8000-000000000001", {"rate": "k0", "availability": "k1"}
    >>> Item = msgspec.defstruct("Item", [("room", Any, None), ("k0", Any, _UNSET),
    ...                                   ("k1", Any, _UNSET)])
    >>> filters = list(parse(f"ari:rate:*:*;ari:availability:{rt}:*").items)
    >>> written(filters, keys)([Item(), Item(k0=1), Item(k1=2), Item(room=rt.upper(), k1=2)])
    [1, 3]
    >>> written(filters, keys, objects=True)([{"availability": 2}, {"room_type_id": rt, "rate": 1}])
    [1]
    """
    alone = [f for f in filters if not f.names_ids]
    names: dict[str, object] = {"_UNSET": _UNSET, "rest": rest}
    reads = _Reads(keys, names, objects)

    def held(restrictions: Iterable[str]) -> str:
        return " or ".join(reads.has(field) for field in sorted({keys[r] for r in restrictions}))

    terms = [held(r for f in alone for r in f.restrictions or ())] if alone else []
    for n, f in enumerate(f for f in filters if f not in alone):
        parts = [f"({held(f.restrictions)})"] if f.restrictions else []
        for field, ids in (("rate", f.rate_plan_ids), ("room", f.room_type_ids)):
            if ids is not None:
                names[f"{field}{n}"] = ids  # lower case, as the mask's
                value = reads.id(field)
                parts.append(f"({value}.__class__ is str and {value}.lower() in {field}{n})")
        terms.append(" and ".join(parts))
    terms += ["rest(item)"] if rest is not None else []
    if any(f.is_all for f in filters):  # every item (`rows_fast`): the predicates test
        terms = ["True"]  # (without predicates, `picker` takes every item itself)
    asked = _asked(names, dates, where, reads)
    assert terms, filters
    assert all(terms), terms
    assert asked or terms != ["True"], filters  # else notifications are taken whole
    test = " and ".join([f"({' or '.join(terms)})", *asked])
    source = f"lambda typed: [n for n, item in enumerate(typed) if {test}]"
    picker: Callable[[Any], list[int]] = eval(source, names)
    return picker


def _asked(
    names: dict[str, object],
    dates: tuple[str, str] | None,
    where: Iterable[tuple[Test, str]],
    reads: _Reads,
) -> list[str]:
    """The item predicates as code, the names they use put in `names`: as
    `Predicates.item` asks them, a date of another type or a key the item lacks fails."""
    asked = []
    if dates is not None:
        names["dates"] = dates
        day = reads.id("date")
        asked.append(f"({day}.__class__ is str and dates[0] <= {day}[:10] <= dates[1])")
    for n, (holds, field) in enumerate(where):
        assert re.fullmatch("k[0-9]+", field), field  # a name of ours
        names[f"holds{n}"] = holds
        asked.append(f"({reads.has(field)} and holds{n}({reads.value(field)}))")
    return asked


def any_of(filters: list[AriFilter], test_of: Callable[[AriFilter], Test]) -> Test:
    """A predicate on a typed item: does any of `filters` (each tested by `test_of`) select it?

    From `GATE_FROM` filters on, an item is asked only of the filters that name
    its rate plan or its room type (and of those that name neither), found in a
    dict by its id: with eight filters that each name a room type, the picker
    took 94 us a line of 25 items, eight tests an item.

    >>> from eventmask import parse
    >>> r1, r2, r3, r4 = (f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 5))
    >>> filters = list(parse(f"ari:rate:*:{r1};ari:rate:*:{r2};ari:rate:{r3}:*").items)
    >>> selects = any_of(filters, lambda f: lambda item: True)  # every test holds
    >>> Item = msgspec.defstruct("Item", [("rate", Any, None), ("room", Any, None)])
    >>> selects(Item(rate=r2.upper())), selects(Item(room=r3)), selects(Item(rate=r4))
    (True, True, False)
    """
    if len(filters) < GATE_FROM:
        return either([test_of(f) for f in filters])
    by_rate: dict[str, list[Test]] = {}
    by_room: dict[str, list[Test]] = {}
    anywhere: list[Test] = []
    for f in filters:
        test = test_of(f)
        if f.rate_plan_ids is not None:  # an item of another rate plan fails `test`
            for rate in f.rate_plan_ids:
                by_rate.setdefault(rate, []).append(test)
        elif f.room_type_ids is not None:
            for room in f.room_type_ids:
                by_room.setdefault(room, []).append(test)
        else:
            anywhere.append(test)
    return dispatch(by_rate, by_room, either(anywhere) if anywhere else None)


def dispatch(
    by_rate: dict[str, list[Test]],
    by_room: dict[str, list[Test]],
    anywhere: Test | None,
) -> Test:
    """A predicate that asks an item only the tests filed under its rate plan and its
    room type (ids in lower case, as the mask's), then those filed under neither.

    >>> Item = msgspec.defstruct("Item", [("rate", Any, None), ("room", Any, None)])
    >>> selects = dispatch({"r1": [lambda item: True]}, {}, None)
    >>> selects(Item(rate="R1")), selects(Item(rate="r2")), selects(Item(rate=7))
    (True, False, False)
    """
    none: list[Test] = []
    # Only the fields some filter names: the item type has no field the mask never tests.
    filed = tuple((name, tests) for name, tests in (("rate", by_rate), ("room", by_room)) if tests)

    def selects(item: Any) -> bool:
        for field, tests in filed:
            value = getattr(item, field)
            if value.__class__ is str:
                for test in tests.get(value.lower(), none):
                    if test(item):
                        return True
        return anywhere is not None and anywhere(item)

    return selects


def either(tests: list[Test]) -> Test:
    """One predicate: does any of `tests` hold?  A loop in one function; `any()` over a
    generator cost a generator and a call per item on top of the tests."""
    if len(tests) == 1:
        return tests[0]

    def either(item: Any) -> bool:
        for test in tests:  # noqa: SIM110 - a loop is cheaper than any(genexpr)
            if test(item):
                return True
        return False

    return either
