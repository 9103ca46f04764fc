"""The fields of a table of items (``filter --items --format``), made from rows of values.

A row of values is one selected item's values in the columns' order, as
decoded (`ItemRows.values`); here they become text for TSV and CSV, or
values for JSON, as Channex means them (`tables.text`, `aggregate.shown`).
Both are written as code for the columns, as `pickers.written` is: an id or
a date is a string as sent, tested inline, and a restriction's field is
remembered per value (`_remembered`), where a function called per field
cost three times as much (docs/filter.md, "Tables").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar

from .._catalogue import ARI_ID_KEYS
from .._routing.aggregate import shown_of
from .tables import text

__all__ = ["ITEM_IDS", "row_objects", "row_texts"]

# The columns of an item that are not restrictions: a string as sent, never read.
ITEM_IDS: Final = ("property_id", "date", "room_type_id", "rate_plan_id")
assert set(ITEM_IDS) == {"property_id", *ARI_ID_KEYS}, ARI_ID_KEYS

# A memo of a column's fields holds at most this many values (per type).
_MEMO: Final = 1 << 16

Field = TypeVar("Field")


def _remembered(make: Callable[[object], Field]) -> Callable[[object], Field]:
    """`make`, remembered for string and integer values: a log sets the same rates and
    counts over and over, and a rate's `Decimal` is the row's costliest step.  Keyed by
    type too, so that ``true`` and ``1`` print apart (they are equal as keys).

    >>> calls = []
    >>> cell = _remembered(lambda raw: calls.append(raw) or repr(raw))
    >>> cell(1), cell(True), cell(1), calls
    ('1', 'True', '1', [None, 1, True])
    """
    empty = make(None)  # an item without the key: the commonest value of a column
    by_type: dict[type, dict[object, Field]] = {str: {}, int: {}}

    def cell(raw: object) -> Field:
        if raw is None:
            return empty
        memo = by_type.get(raw.__class__)
        if memo is None:
            return make(raw)
        try:
            return memo[raw]
        except KeyError:
            made = memo[raw] = make(raw)
            if len(memo) > _MEMO:
                memo.clear()
            return made

    return cell


def _text_of(column: str) -> Callable[[object], str]:
    show = shown_of(column)
    return lambda raw: text(show(raw))


Rows = list[tuple[Any, ...]]


def row_texts(columns: tuple[str, ...]) -> Callable[[Rows], list[tuple[str, ...]]]:
    """What turns rows of values into rows of fields for TSV and CSV.

    On 200,000 rows of four ids and a rate: 330 ns a row, against 1,040 with a
    function called per field.

    >>> texts = row_texts(("date", "rate", "stop_sell"))
    >>> texts([("2026-06-01", 24833, 1), (None, "1.5", 9)])
    [('2026-06-01', '248.33', 'true'), ('', '1.5', '9')]
    """
    names: dict[str, object] = {"text": text}
    parts = []
    for n, column in enumerate(columns):
        if column in ITEM_IDS:
            parts.append(f"(r[{n}] if r[{n}].__class__ is str else text(r[{n}]))")
        else:
            names[f"cell{n}"] = _remembered(_text_of(column))
            parts.append(f"cell{n}(r[{n}])")
    row = "".join(f"{part}, " for part in parts)  # a tuple display, also of no columns
    texts: Callable[[Rows], list[tuple[str, ...]]] = eval(
        f"lambda rows: [({row}) for r in rows]", names
    )
    return texts


def row_objects(columns: tuple[str, ...]) -> Callable[[Rows], list[dict[str, Any]]]:
    """What turns rows of values into JSON objects, the columns as keys (a later column
    of the same name wins): an id as sent, a restriction as Channex means it.

    >>> objects = row_objects(("date", "rate"))
    >>> objects([("2026-06-01", 24833), (None, None)])
    [{'date': '2026-06-01', 'rate': Decimal('248.33')}, {'date': None, 'rate': None}]
    """
    names: dict[str, object] = {}
    parts = []
    for n, column in enumerate(columns):
        assert column.isidentifier(), column  # a name of ours (`item_columns`)
        if column in ITEM_IDS:
            parts.append(f"{column!r}: r[{n}]")
        else:
            names[f"cell{n}"] = _remembered(shown_of(column))
            parts.append(f"{column!r}: cell{n}(r[{n}])")
    objects: Callable[[Rows], list[dict[str, Any]]] = eval(
        f"lambda rows: [{{{', '.join(parts)}}} for r in rows]", names
    )
    return objects
