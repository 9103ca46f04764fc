"""``filter --items --format``'s fast path: the typed items handed on as rows of values.

A table of items needs each selected item's values, not its JSON: this path
(a `FastLine` that keeps the ids, the date and the values of the columns)
turns the items it selects straight into rows, one tuple of values per item
in the columns' order, and the line is decoded once.  Before it, each item
was written as JSON and read again to make its row.  It takes the fast
path's masks and those that take every item (``ari``), and answers the
lines `FastLine` answers, less those naming ``property_id`` more than once
(an item's own ``property_id`` stands in its row, as the general path
merges it); every other line goes through the general path, which writes
the items as JSON for the table to read (tests/routing/test_rows_fast.py
checks the two agree).  docs/filter.md, "Tables".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final

from .._catalogue import Catalogue
from .filter_fast import _UNSET, FastLine, Result, items_fit
from .pickers import ID_FIELDS

if TYPE_CHECKING:
    from .._language.mask import Mask
    from .predicates import Predicates

__all__ = ["RowLine", "row_path", "values_of"]

# A table's columns that are not restriction keys: where a typed item holds them.
_FIELDS: Final = {key: f"item.{field}" for field, key in ID_FIELDS.items()}

# What a row is made from: the typed items, the indexes selected, the notification's property.
Values = Callable[[list[Any], list[int], Any], list[tuple[Any, ...]]]


def row_path(
    mask: Mask,
    property_id: str | None,
    catalogue: Catalogue,
    predicates: Predicates | None,
    columns: tuple[str, ...],
    take: Callable[[list[tuple[Any, ...]]], None],
) -> RowLine | None:
    """The fast path for a table of `columns` of the items `mask` selects, handing each
    line's rows to `take`; None when the mask neither fits the fast path nor takes every
    item (`filter_fast.items_fit`).

    >>> from eventmask import parse
    >>> got = []
    >>> line = row_path(parse("ari:rate:*:*"), None, Catalogue.default(), None,
    ...                 ("property_id", "date", "rate", "availability"), got.extend)
    >>> line(b'{"event":"ari","property_id":"p","payload":[{"date":"2026-06-01","rate":100},'
    ...      b'{"booked":1}]}')
    (None, 2, 1, True)
    >>> got
    [('p', '2026-06-01', 100, None)]
    """
    if not items_fit(mask):
        return None
    return RowLine(mask.items, property_id, catalogue, predicates, columns, take)


class RowLine(FastLine):
    """A `FastLine` whose selected items become rows of values instead of output.

    A value is as decoded (None where the item has no such key); the table
    says how each prints.
    """

    values_kept = True

    def __init__(
        self,
        items: Any,
        property_id: str | None,
        catalogue: Catalogue,
        predicates: Predicates | None,
        columns: tuple[str, ...],
        take: Callable[[list[tuple[Any, ...]]], None],
    ) -> None:
        kept = {c for c in columns if c != "property_id" and c not in _FIELDS}
        super().__init__(items, property_id, catalogue, predicates, kept)
        self._take = take
        self._values = values_of(columns, self._keys)

    def _selected(self, line: bytes, doc: Any, typed: list[Any], picks: list[int]) -> Result | None:
        # The envelope names property_id once; a second may be an item's own, which
        # stands in its row: the general path merges the two as it writes the item.
        if line.count(b'"property_id"') > 1:
            return None
        self._take(self._values(typed, picks, doc.property_id))
        return (None, len(typed), len(picks), True)


def values_of(columns: tuple[str, ...], keys: Mapping[str, str]) -> Values:
    """What makes the rows of the items at `chosen`: each a tuple of `columns`, the
    property from the notification, a restriction from the typed item's field that
    `keys` names (None where the item has no such key).

    Written as code, as `pickers.written` is: one tuple display a row, where a
    loop over the columns is a Python step per value.

    >>> import msgspec
    >>> Item = msgspec.defstruct("Item", [("date", Any, None), ("k0", Any, _UNSET)])
    >>> rows = values_of(("property_id", "date", "rate"), {"rate": "k0"})
    >>> rows([Item(date="2026-06-01"), Item(k0=5)], [0, 1], "p")
    [('p', '2026-06-01', None), ('p', None, 5)]
    """
    parts = []
    for column in columns:
        if column == "property_id":
            parts.append("prop")
        elif column in _FIELDS:
            parts.append(_FIELDS[column])
        else:
            field = keys[column]
            assert field.isidentifier(), field  # a name of ours (`FastLine._keys`)
            parts.append(f"(None if item.{field} is _UNSET else item.{field})")
    row = "".join(f"{part}, " for part in parts)  # a tuple display, also of no columns
    source = f"lambda typed, chosen, prop: [({row}) for item in map(typed.__getitem__, chosen)]"
    values: Values = eval(source, {"_UNSET": _UNSET})
    return values
