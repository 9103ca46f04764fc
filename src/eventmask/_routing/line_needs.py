"""What a line must hold for a mask item to match it: the fast path's byte pre-check.

A line that lacks one of an item's needs cannot match the item, whatever
else it holds, so the fast path passes it over without decoding it for
matching (docs/filter.md, "Speed").  A need is one of some ids, in either
case (ids compare in either case), or one of some quoted names (JSON keys
and event names are exact).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from .._catalogue import ARI, Catalogue
from .._language.items import AriFilter, EventItem, Item

__all__ = ["Ids", "Need", "met", "needs_of"]


class Ids:
    """A search for any of some ids, in either case, with a cheap check first.

    An IGNORECASE search is slow when an id starts with a letter: the regex
    engine then tries every position of the line.  Measured on 3.8 KB lines,
    23 us a line against 3 us for an id that starts with a digit.  So it
    runs only on lines that hold, verbatim, each id's longest run of bytes
    that are not letters (a run case cannot change: a line holding the id in
    any case holds it), found as plain bytes in about 2 us.

    >>> ids = Ids(["ab12-34cd"])
    >>> ids.found(b'"id":"AB12-34CD"'), ids.found(b'"id":"ab12-35cd"')
    (True, False)
    """

    __slots__ = ("_pattern", "_runs")

    # Above this many ids, one search of them all beats a check per id; below
    # this length a run is too common to rule lines out.
    RUNS_UP_TO: Final = 8
    SHORTEST_RUN: Final = 4

    def __init__(self, ids: Iterable[str]) -> None:
        encoded = sorted(i.encode() for i in ids)
        self._pattern = re.compile(b"|".join(map(re.escape, encoded)), re.IGNORECASE)
        runs = [max(re.findall(rb"[^A-Za-z]+", i) or [b""], key=len) for i in encoded]
        usable = len(runs) <= self.RUNS_UP_TO and min(map(len, runs)) >= self.SHORTEST_RUN
        self._runs = tuple(runs) if usable else None

    def found(self, line: bytes) -> bool:
        """Whether `line` holds one of the ids, in any case."""
        runs = self._runs
        if runs is not None:
            for run in runs:  # a loop: cheaper than any(genexpr)
                if run in line:
                    break
            else:
                return False
        return self._pattern.search(line) is not None


Need = Ids | tuple[bytes, ...]


def needs_of(item: Item, catalogue: Catalogue, scope: str | None) -> list[Need]:
    """What a line must hold, each need met, for `item` to possibly match it.

    The rarest need comes first, so that most lines are ruled out by one
    search: the ids, then the property of ``--property`` (a notification of
    that property holds its id: the line has no escapes), then the names.

    >>> from eventmask import Catalogue, parse
    >>> item = parse("ari:rate:*:96a44e07-2158-43e4-8baa-8f6f56922ba8").items[0]
    >>> [type(n).__name__ for n in needs_of(item, Catalogue.default(), None)]
    ['Ids', 'tuple', 'tuple']
    """
    needs: list[Need] = [] if scope is None else [Ids([scope])]
    if isinstance(item, EventItem):
        return [*needs, tuple(f'"{s}"'.encode() for s in sorted(catalogue.spellings([item.name])))]
    assert isinstance(item, AriFilter)
    ids = [Ids(ids) for ids in (item.rate_plan_ids, item.room_type_ids) if ids is not None]
    needs = [*ids, *needs]
    if item.restrictions is not None:
        needs.append(tuple(f'"{r}"'.encode() for r in sorted(item.restrictions)))
    needs.append(tuple(f'"{s}"'.encode() for s in sorted(catalogue.spellings([ARI]))))
    return needs


def met(need: Need, line: bytes) -> bool:
    """Whether `line` holds what `need` asks: one of its names, or one of its ids.

    >>> met((b'"rate"', b'"availability"'), b'{"availability":1}'), met(Ids(["ab12"]), b'AB1')
    (True, False)
    """
    if need.__class__ is tuple:
        for token in need:  # noqa: SIM110 - a loop is cheaper than any(genexpr)
            if token in line:
                return True
        return False
    return need.found(line)  # type: ignore[union-attr]
