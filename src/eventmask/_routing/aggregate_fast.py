"""The aggregates' fast path: the filter's typed decode, summed as it reads.

``filter --count-by`` and ``--latest`` do not print the lines they select,
so nothing needs narrowing: this path (a `FastLine` that keeps the values
of the restrictions the mask names) turns the items it selects straight
into `Change` records and hands them on, and the line is decoded once.
Where the order of an item's keys shows (``--changes`` of several
restrictions, a group's last value of several, every key under ``ari``),
it decodes the items as objects, which keep it.
It answers exactly the lines `FastLine` answers; every other line goes
through the general path, and the aggregate reads it there
(`aggregate.changes`, the reference; tests/routing/test_aggregate_fast.py
checks the two agree).  docs/filter.md, "Counting and the latest state".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .._catalogue import ARI, Catalogue
from .._language.items import AriFilter, Item
from .aggregate import Change, _new, item_changes, reader_of, readers_for, when_of
from .filter_fast import _UNSET, FastLine, Result, items_fit
from .pickers import inline

if TYPE_CHECKING:
    from .._language.mask import Mask
    from .predicates import Predicates

__all__ = ["SummingLine", "summing_path"]


def summing_path(
    mask: Mask,
    property_id: str | None,
    catalogue: Catalogue,
    predicates: Predicates | None,
    take: Callable[[list[Change]], None],
    valued: bool = True,
    in_order: bool = False,
) -> SummingLine | None:
    """The summing fast path for `mask`, handing each line's changes to `take`; None when
    the mask neither fits the fast path nor takes every item.  With `in_order`, an item's
    changes come in its keys' order, as the reference gives them; so they do where a
    filter takes every restriction (``ari``, ``ari:*:<room type>:*``).  Both read the
    items as objects: None where the picker cannot (`pickers.inline`).

    >>> from eventmask import parse
    >>> got = []
    >>> line = summing_path(parse("ari:rate:*:*"), None, Catalogue.default(), None, got.extend)
    >>> line(b'{"event":"ari","payload":[{"date":"2026-06-01","rate":100},{"booked":1}]}')
    (None, 2, 1, True)
    >>> [(c.restriction, c.value) for c in got]
    [('rate', Decimal('1.00'))]
    """
    if not items_fit(mask):
        return None
    filters = [i for i in mask.items if isinstance(i, AriFilter)]
    if (in_order or _every_key(filters)) and not inline(filters):
        return None
    return SummingLine(mask.items, property_id, catalogue, predicates, take, valued, in_order)


def _every_key(items: Iterable[Item]) -> bool:
    """Whether a filter of `items` takes every restriction (``ari``, ``ari:*:<room type>:*``):
    every key of an item is asked, in its order, which only items read as objects keep."""
    return any(isinstance(i, AriFilter) and i.restrictions is None for i in items)


class SummingLine(FastLine):
    """A `FastLine` whose selected items become `Change` records instead of output.

    A restriction is one change when the item carries it, in the order of the
    mask's restriction names (the caller uses this path only where that
    order cannot show: one restriction, or groups that tell them apart), or
    with `in_order` in the item's order of keys: its items are decoded as
    objects, which keep it, as the reference's are.  Under a filter that takes
    every restriction, every key but the ids and the date is one.
    """

    values_kept = True

    def __init__(
        self,
        items: Any,
        property_id: str | None,
        catalogue: Catalogue,
        predicates: Predicates | None,
        take: Callable[[list[Change]], None],
        valued: bool = True,
        in_order: bool = False,
    ) -> None:
        items = tuple(items)
        every_key = _every_key(items)
        # Read by `_as_objects`, as the item type is made.  Every key is read in the
        # item's order too: a typed item names its fields.
        self._in_order = in_order or every_key
        super().__init__(items, property_id, catalogue, predicates)
        self._take = take
        # Only the restrictions a filter names count (`aggregate.asked_restrictions`):
        # a --where key that no filter names narrows, but is not a change.
        named = {r for f in self._filters for r in f.restrictions or ()}
        # Unvalued (`aggregate.changes(valued=False)`): the latest state reads only winners.
        self._fields = tuple(
            (key, field, reader_of(key, valued))
            for key, field in self._keys.items()
            if key in named
        )
        # Read as objects: the keys asked (None, a filter that takes every restriction:
        # every key but the ids and the date), each reader found as it is met.
        self._keys_asked = None if every_key else frozenset(named)
        self._readers = readers_for(self._keys_asked, valued)
        self._valued = valued

    def _as_objects(self) -> bool:
        return self._in_order

    def _maybe(self, line: bytes) -> Result | None:
        doc: Any = self._line.decode(line)  # the envelope and the items in one pass
        # The reference reads only the event spelled "ari"; so does this path.
        if doc.event != ARI or not self._in_scope(doc.property_id):
            return None
        typed: list[Any] | None = doc.payload
        if typed is None:
            return None
        if not typed and self._every:  # matched, with no item picked: the general
            return None  # path's to count (as `FastLine._maybe`)
        if self._asked is not None and not self._asked.at(doc.timestamp):
            return (None, len(typed), 0, False)
        chosen = [typed[n] for n in self._pick(typed)]
        if not chosen:
            return (None, len(typed), 0, False)
        prop, user, stamp = doc.property_id, doc.user_id, doc.timestamp
        if self._objects:
            self._take(item_changes(chosen, prop, stamp, user, self._keys_asked, self._readers,
                                    self._valued))  # fmt: skip
            return (None, len(typed), len(chosen), True)
        when = when_of(stamp)
        found = []
        for item in chosen:
            room, rate, day = item.room, item.rate, item.date
            for key, field, read in self._fields:
                raw = getattr(item, field)
                if raw is not _UNSET:
                    value = read(raw)
                    found.append(_new(Change, (prop, room, rate, day, key, raw, value, stamp,
                                               when, user, ARI)))  # fmt: skip
        self._take(found)
        return (None, len(typed), len(chosen), True)
