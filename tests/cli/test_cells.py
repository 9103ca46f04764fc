"""The fields of a table of items are `text(shown(column, value))`, however they are made."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from eventmask._cli.cells import ITEM_IDS, row_objects, row_texts
from eventmask._cli.tables import text
from eventmask._routing.aggregate import shown

COLUMNS = st.lists(
    st.sampled_from([*ITEM_IDS, "rate", "availability", "stop_sell", "min_stay", "booked"]),
    min_size=1,
    max_size=6,
)
# Values that are equal as keys but print apart (1, True, 1.0; 0.0 and -0.0), repeated
# so that the remembered fields are read back.
VALUE = (
    st.sampled_from(
        [None, 0, 1, True, False, 1.0, 0.0, -0.0, 24833, "1.50", "1e2", "x", "", [1], {"a": None}]
    )
    | st.integers()
    | st.floats()
    | st.text(max_size=3)
)


@given(COLUMNS, st.data())
def test_fields_are_each_values_text_as_channex_means_it(columns: list[str],
                                                        data: st.DataObject) -> None:  # fmt: skip
    rows: list[tuple[Any, ...]] = data.draw(
        st.lists(st.tuples(*[VALUE] * len(columns)), max_size=12)
    )
    names = tuple(columns)
    assert row_texts(names)(rows) == [
        tuple(text(shown(c, v)) for c, v in zip(names, row, strict=True)) for row in rows
    ]
    # By repr: True and 1, or 0.0 and -0.0, are equal values that JSON writes apart.
    assert repr(row_objects(names)(rows)) == repr(
        [{c: shown(c, v) for c, v in zip(names, row, strict=True)} for row in rows]
    )
