"""What a line must hold for a mask item to match it: the fast path's byte pre-check.

A line that lacks one of an item's needs cannot match the item, whatever
else it holds, so the fast path passes it over without decoding it for
matching (docs/filter.md, "Speed").  A need is a key holding one of some
ids, in either case (ids compare in either case), or one of some quoted
names (JSON keys and event names are exact).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Final

from .._catalogue import ARI, Catalogue
from .._language.items import AriFilter, EventItem, Item

__all__ = ["Ids", "Names", "Need", "gate_of", "mask_needs", "needs_of"]


class Ids:
    """A search for a `key` whose string value is one of some ids, in either case.

    One regex does it: the key as a literal (which the regex engine looks for
    as plain bytes), then the value among the ids, case-insensitively.  On
    3.8 kB lines of ARI that is about 4 us a line for 1 id as for 40; the
    search for any id anywhere in the line that this replaces cost 2.6 us for
    1 id, 12 us for 3 and 227 us for 12 (an IGNORECASE alternation tries
    every position of the line).  For a single id, the id's longest run of
    bytes that are not letters (a run case cannot change) is looked for first
    as plain bytes, about 2 us, and rules out most lines before the regex.

    The fast path only asks this of pure ASCII lines without a backslash, so
    a value's bytes between its quotes are the value (docs/filter.md, "Speed").

    >>> ids = Ids(["ab12-34cd"], "rate_plan_id")
    >>> ids.found(b'{"rate_plan_id": "AB12-34CD"}'), ids.found(b'{"room_type_id":"ab12-34cd"}')
    (True, False)
    """

    __slots__ = ("_ids", "_pattern", "_run", "_values")

    # Below this length a run is too common to rule lines out.
    SHORTEST_RUN: Final = 4
    # The alternation tries each id where a key stands: 6 us a line for 10 ids, 21 for
    # 100, 307 for 2,000.  Above this many, the key's values are taken out and looked
    # up in a set instead, about 16 us a line whatever the number.
    ALTERNATION_UP_TO: Final = 64

    def __init__(self, ids: Iterable[str], key: str) -> None:
        encoded = sorted({i.lower().encode() for i in ids})
        quoted = re.escape(f'"{key}"'.encode())
        # JSON's whitespace may stand around the colon; a key of a nested object
        # matches too, which only lets a line through to the typed decode.
        colon = quoted + rb"[ \t\r\n]*:[ \t\r\n]*"
        self._ids = frozenset(encoded)
        self._values = None
        self._pattern = None
        if len(encoded) > self.ALTERNATION_UP_TO:
            self._values = re.compile(colon + b'"([^"]*)"')
        else:
            self._pattern = re.compile(
                colon + b'"(?i:' + b"|".join(map(re.escape, encoded)) + b')"'
            )
        run = max(re.findall(rb"[^A-Za-z]+", encoded[0]) or [b""], key=len)
        self._run = run if len(encoded) == 1 and len(run) >= self.SHORTEST_RUN else None

    def found(self, line: bytes) -> bool:
        """Whether `line` holds the key with one of the ids as its value, in any case."""
        run = self._run
        if run is not None and run not in line:
            return False
        if self._pattern is not None:
            return self._pattern.search(line) is not None
        assert self._values is not None
        values = self._values.findall(line)
        if not self._ids.isdisjoint(values):
            return True
        # A value in another case (rare: Channex writes ids in lower case).
        return any(not v.islower() and v.lower() in self._ids for v in values)


class Names:
    """A search for any of some quoted names: JSON keys and event names, which are exact.

    A name found as a string value, not a key, only lets a line through to the
    typed decode, which decides (a necessary condition, as `Ids`).

    Up to `LOOPED_UP_TO` names, each is looked for as plain bytes in turn; from
    three, one alternation finds the first of them in one pass over the line.
    On 20,000 lines of the generated ARI stream (whole passes, ms): 3 restriction
    names 30.9 looped against 16.9 as one expression, 9 names 51.0 against 11.6,
    3 booking event names that are absent 62.2 against 30.2; but a single name
    that is absent 24.7 against 29.7, and 2 names 27.3 against 28.9.

    >>> Names(["rate", "availability", "min_stay"]).found(b'{"min_stay":2}')
    True
    >>> Names(["rate"]).found(b'{"rate_plan_id":"x"}'), Names(["rate"]).found(b'["rate"]')
    (False, True)
    """

    __slots__ = ("_pattern", "_quoted")

    LOOPED_UP_TO: Final = 2

    def __init__(self, names: Iterable[str]) -> None:
        self._quoted = tuple(f'"{name}"'.encode() for name in sorted(set(names)))
        self._pattern = (
            re.compile(b"|".join(map(re.escape, self._quoted)))
            if len(self._quoted) > self.LOOPED_UP_TO
            else None
        )

    def found(self, line: bytes) -> bool:
        """Whether `line` holds one of the names, quoted."""
        if self._pattern is not None:
            return self._pattern.search(line) is not None
        for quoted in self._quoted:  # noqa: SIM110 - a loop is cheaper than any(genexpr)
            if quoted in line:
                return True
        return False


Need = Ids | Names


def needs_of(item: Item, catalogue: Catalogue, scope: str | None) -> list[Need]:
    """What a line must hold, each need met, for `item` to possibly match it.

    The rarest need comes first, so that most lines are ruled out by one
    search: the ids, then the property of ``--property`` (a notification of
    that property holds its id: the line has no escapes), then the names.

    >>> from eventmask import Catalogue, parse
    >>> item = parse("ari:rate:*:96a44e07-2158-43e4-8baa-8f6f56922ba8").items[0]
    >>> [type(n).__name__ for n in needs_of(item, Catalogue.default(), None)]
    ['Ids', 'Names', 'Names']
    """
    needs: list[Need] = [] if scope is None else [Ids([scope], "property_id")]
    if isinstance(item, EventItem):
        return [*needs, Names(catalogue.spellings([item.name]))]
    assert isinstance(item, AriFilter)
    keyed = (("rate_plan_id", item.rate_plan_ids), ("room_type_id", item.room_type_ids))
    ids = [Ids(ids, key) for key, ids in keyed if ids is not None]
    needs = [*ids, *needs]
    if item.restrictions is not None:
        needs.append(Names(item.restrictions))
    needs.append(Names(catalogue.spellings([ARI])))
    return needs


def mask_needs(items: Sequence[Item], catalogue: Catalogue, scope: str | None) -> list[list[Need]]:
    """The needs of each of a mask's items, of which a line must meet all of one item's.

    The filters that name restrictions and no id are one item here, needing any of
    their restrictions: a line that holds none of one such filter's names may still
    hold another's, and asking each filter in turn searched a line for the same few
    names again and again (a mask of 8 such filters: up to 16 searches of the line).

    That item comes first.  A line that meets one item's needs is not searched for
    the others', and restriction names are met by most ARI lines, where ids and
    event names are met by few: ``ari:rate:*:*;ari:availability:<room type>:*``
    searched each line for the room type before its ``"rate"``.

    >>> from eventmask import Catalogue, parse
    >>> mask = parse("ari:rate:*:*;booking_new;ari:availability:*:*")
    >>> [len(needs) for needs in mask_needs(mask.items, Catalogue.default(), None)]
    [2, 1]
    """
    alone: set[str] = set()
    needs: list[list[Need]] = []
    for item in items:
        if isinstance(item, AriFilter) and item.restrictions and not item.names_ids:
            alone.update(item.restrictions)
        else:
            needs.append(needs_of(item, catalogue, scope))
    if alone:
        ari = Names(catalogue.spellings([ARI]))
        needs.insert(
            0, [*([] if scope is None else [Ids([scope], "property_id")]), Names(alone), ari]
        )
    return needs


# From this many mask items that name ids, one search of all their ids comes first.
GATE_FROM: Final = 3


def gate_of(items: Sequence[Item]) -> list[Ids] | None:
    """One search per key of the ids of every mask item, of which a line must meet one.

    Each item's needs are met one item after another, so a mask of eight filters,
    each naming its room type, searched a line eight times before passing it
    over (30 us a 3.8 kB line).  When every item names ids, a line that holds none
    of them under its key can match no item: the gate asks that of every item's
    rate plans (or, for an item naming none, its room types) in at most two
    searches, about 4 us each whatever the number of ids.  Below `GATE_FROM` items
    the items' own needs are as cheap.

    >>> from eventmask import parse
    >>> ids = [f"{n}0000000-0000-4000-8000-000000000000" for n in (1, 2, 3)]
    >>> (gate,) = gate_of(parse(";".join(f"ari:rate:*:{i}" for i in ids)).items)
    >>> gate.found(b'{"rate_plan_id":"' + ids[1].encode() + b'"}')
    True
    """
    filters = [i for i in items if isinstance(i, AriFilter)]
    if len(filters) < len(items) or len(filters) < GATE_FROM:
        return None
    by_key: dict[str, set[str]] = {}
    for f in filters:
        if f.rate_plan_ids is not None:
            by_key.setdefault("rate_plan_id", set()).update(f.rate_plan_ids)
        elif f.room_type_ids is not None:
            by_key.setdefault("room_type_id", set()).update(f.room_type_ids)
        else:
            return None  # an item that names no id: any line may match it
    return [Ids(ids, key) for key, ids in sorted(by_key.items())]
