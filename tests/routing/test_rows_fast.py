"""A table of items by the row path is the table the reference writes.

The reference: every line through the general path with ``--items``, each
item written as JSON and read again by the table (`ItemRows.add`).  The row
path hands the typed items' values straight to the table.  Generated and
adversarial lines go through both; the table's text, the problems reported
and the counts must be the same, in each format.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from eventmask import Catalogue, Predicates, parse
from eventmask._cli.selection import LineOutput
from eventmask._cli.summaries import ItemRows, item_columns
from eventmask._routing.rows_fast import RowLine, row_path

from ..helpers import through
from ..strategies import PROPERTIES
from .test_filter_fast import ADVERSARIAL, MASKS, PREDICATES, RATE_PLANS, ROOM_TYPES, lines


def _ignore(rows: list[tuple[Any, ...]]) -> None:
    del rows


# Masks the row path takes: the fast path's, and those that take every item (`ari`).
ROW_MASKS = [m for m in MASKS if row_path(parse(m), None, Catalogue.default(), None, (), _ignore)]

COLUMNS = [
    None,  # the default: the ids, then the mask's restrictions
    "rate,date",
    "property_id,availability,stop_sell,booked",  # keys the mask may not name
    "min_stay",  # one column: CSV quotes a row of one empty field
    "rate_plan_id,room_type_id,property_id,rate,rate",
]


def tabled(text: str, batch: list[bytes], scope: str | None, asked: Predicates | None,
           fields: str | None, fmt: str, fast: bool) -> Any:  # fmt: skip
    """The table, problems and counts of one run, by the row path or the reference."""
    mask = parse(text)
    out = io.StringIO()
    table = ItemRows(mask, item_columns(mask, fields), fmt, out)
    if fast:
        assert isinstance(table.fast_path(scope, Catalogue.default(), asked), RowLine)
    problems, counts = through(table, mask, batch, scope, asked, fast, items=True)
    return out.getvalue(), problems, counts


_KEYS = ["rate", "availability", "stop_sell", "min_stay", "booked", "property_id"]


@st.composite
def ari_lines(draw: st.DrawFn) -> bytes:
    """An ARI notification the masks mostly select, with values of every kind."""
    payload = []
    for _ in range(draw(st.integers(1, 4))):
        item: dict[str, Any] = {"date": draw(st.sampled_from(["2026-05-01", "x\ty", None]))}
        if draw(st.booleans()):
            item["rate_plan_id"] = draw(st.sampled_from([RATE_PLANS[0], RATE_PLANS[2].upper()]))
        if draw(st.booleans()):
            item["room_type_id"] = draw(st.sampled_from(ROOM_TYPES))
        for key in draw(st.lists(st.sampled_from(_KEYS), max_size=3)):
            item[key] = draw(
                st.sampled_from([5, 24833, "1.50", "1e2", 0, 1, True, None, 2.5, "a,b", [1], {}])
            )
        payload.append(item)
    doc = {"event": "ari", "property_id": draw(st.sampled_from([*PROPERTIES, None])),
           "payload": payload}  # fmt: skip
    return json.dumps(doc).encode() + b"\n"


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ROW_MASKS),
    st.lists(ari_lines() | lines(), max_size=8),
    st.sampled_from([None, *PROPERTIES]),
    st.sampled_from([None, *PREDICATES]),
    st.sampled_from(COLUMNS),
    st.sampled_from(["tsv", "csv", "jsonl"]),
)
@example(
    f"ari:rate:*:{RATE_PLANS[0]}",
    [b'{"event":"ari","property_id":"p","payload":[{"rate_plan_id":"%s","rate":1e400,'
     b'"property_id":"own"},{"rate_plan_id":"%s","rate":"1.00","rate":"2.5"}]}'
     % (RATE_PLANS[0].encode(), RATE_PLANS[0].upper().encode())],
    None,
    None,
    "property_id,rate",
    "tsv",
)  # fmt: skip
def test_the_row_path_writes_the_table_the_reference_writes(
    text: str,
    batch: list[bytes],
    scope: str | None,
    asked: Predicates | None,
    fields: str | None,
    fmt: str,
) -> None:
    """The same text in every format, the same problems and counts."""
    fast = tabled(text, batch, scope, asked, fields, fmt, True)
    assert fast == tabled(text, batch, scope, asked, fields, fmt, False)


@pytest.mark.parametrize("line", ADVERSARIAL)
def test_adversarial_lines_make_the_reference_table(line: bytes) -> None:
    text = f"ari:rate:*:{RATE_PLANS[0]}"
    assert tabled(text, [line], None, None, None, "tsv", True) == tabled(
        text, [line], None, None, None, "tsv", False
    )


def test_the_row_path_reads_the_common_lines_itself() -> None:
    """It is not vacuous: a plain ARI line's items become rows here, unwritten as JSON; a
    line whose item names its own property_id is the general path's."""
    got: list[tuple[Any, ...]] = []
    columns = ("property_id", "rate_plan_id", "rate", "stop_sell")
    quick = row_path(parse("ari:rate:*:*"), None, Catalogue.default(), None, columns, got.extend)
    assert quick is not None
    rp = RATE_PLANS[0]
    line = (
        f'{{"event":"ari","property_id":"p","payload":[{{"rate_plan_id":"{rp}","rate":"1.50"}},'
        f'{{"rate_plan_id":"{rp}","stop_sell":true}},{{"rate":7,"stop_sell":false}}]}}'
    )
    assert quick(line.encode()) == (None, 3, 2, True)
    assert got == [("p", rp, "1.50", None), ("p", None, 7, False)]
    own = line.replace('"rate":7', '"rate":7,"property_id":"q"')
    assert quick(own.encode()) is None


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ROW_MASKS),
    st.lists(ari_lines() | lines(), max_size=8),
    st.sampled_from([None, *PROPERTIES]),
    st.sampled_from([None, *PREDICATES]),
)
def test_a_count_of_items_is_the_references(
    text: str, batch: list[bytes], scope: str | None, asked: Predicates | None
) -> None:
    """``--items --count``: a table of no columns counts the items the reference writes."""

    def counted(fast: bool) -> Any:
        mask = parse(text)
        out = io.BytesIO()
        output = LineOutput(out, count_only=True, items_of=mask)
        problems, counts = through(output, mask, batch, scope, asked, fast, items=True)
        return out.getvalue(), problems, counts

    assert counted(True) == counted(False)
