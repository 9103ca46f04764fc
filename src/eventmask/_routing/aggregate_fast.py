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

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._catalogue import ARI, ARI_ID_KEYS, Catalogue
from .._language.items import AriFilter
from .aggregate import Change, _new, reader_of, when_of
from .filter_fast import _UNSET, FastLine, Result, items_fit
from .pickers import ID_FIELDS, inline

if TYPE_CHECKING:
    from .._language.mask import Mask
    from .predicates import Predicates

# The item keys of the ids and the date, where an item decoded as an object holds them.
ROOM, RATE, DATE = ID_FIELDS["room"], ID_FIELDS["rate"], ID_FIELDS["date"]

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
    in_order = in_order or any(f.restrictions is None for f in filters)
    if in_order and not inline(filters):
        return None
    return SummingLine(mask.items, property_id, catalogue, predicates, take, valued, in_order)


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
        # Read by `_as_objects`, as the item type is made.  Every key (a filter of no
        # restrictions) is read in the item's order too: a typed item names its fields.
        self._in_order = in_order or any(
            isinstance(i, AriFilter) and i.restrictions is None for i in items
        )
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
        self._readers = {key: read for key, _, read in self._fields}
        self._valued = valued
        # A filter that takes every restriction: every key but the ids and the date is a
        # change, its reader found as the key is first met (`aggregate.changes`).
        self._every_key = any(f.restrictions is None for f in self._filters)

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
        when = when_of(stamp)
        found = []
        if self._objects:
            self._take(self._in_keys_order(chosen, prop, stamp, when, user))
            return (None, len(typed), len(chosen), True)
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

    def _in_keys_order(
        self, chosen: list[dict[str, Any]], prop: Any, stamp: Any, when: Any, user: Any
    ) -> list[Change]:
        """The changes of items decoded as objects, each item's in its keys' order."""
        readers, every = self._readers, self._every_key
        found = []
        for item in chosen:
            room, rate, day = item.get(ROOM), item.get(RATE), item.get(DATE)
            for key, raw in item.items():
                read = readers.get(key)
                if read is None:
                    if not every or key in ARI_ID_KEYS:
                        continue
                    read = readers[key] = reader_of(key, self._valued)
                found.append(_new(Change, (prop, room, rate, day, key, raw, read(raw), stamp,
                                           when, user, ARI)))  # fmt: skip
        return found
