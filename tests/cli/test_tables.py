"""Tables: CSV as the `csv` module writes it, TSV one row a line, values as Channex means them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventmask._cli.tables import text, write_cells, write_rows

from ..helpers import run_cli

# Fields with every character a table treats specially, and plain ones.
FIELD = st.text(st.sampled_from(["a", "1", " ", ",", '"', "\t", "\r", "\n", "é"]), max_size=4)


@st.composite
def tables(draw: st.DrawFn) -> tuple[list[str], list[list[str]]]:
    width = draw(st.integers(1, 4))
    columns = [f"c{n}" for n in range(width)]
    rows = draw(st.lists(st.lists(FIELD, min_size=width, max_size=width), max_size=6))
    return columns, rows


@given(tables(), st.booleans())
def test_csv_is_what_the_csv_module_writes(table: tuple[list[str], list[list[str]]],
                                           header: bool) -> None:  # fmt: skip
    """The oracle is the module itself, which quotes as RFC 4180 says."""
    columns, rows = table
    expected = io.StringIO()
    writer = csv.writer(expected)
    if header:
        writer.writerow(columns)
    writer.writerows(rows)
    out = io.StringIO()
    write_cells(rows, columns, "csv", out, header=header)
    assert out.getvalue() == expected.getvalue()


@given(tables())
def test_tsv_is_one_row_a_line_whatever_the_values_hold(
    table: tuple[list[str], list[list[str]]],
) -> None:
    """A tab, CR or LF inside a value is a space: each row is one line of its fields."""
    columns, rows = table
    out = io.StringIO()
    write_cells(rows, columns, "tsv", out)
    lines = out.getvalue().split("\n")
    assert lines.pop() == ""
    assert [line.split("\t") for line in lines] == [columns] + [
        [f.replace("\t", " ").replace("\r", " ").replace("\n", " ") for f in row] for row in rows
    ]


def test_values_print_as_channex_means_them_and_json_as_json() -> None:
    assert text(None) == ""
    assert (text(True), text(False)) == ("true", "false")
    assert text(Decimal("248.33")) == "248.33"
    assert text({"a": [1, None, "x"]}) == '{"a":[1,null,"x"]}'  # not Python's repr
    assert text([]) == "[]"
    assert text(float("inf")) == ""  # 1e400: --items writes it null
    assert text(2.5) == "2.5"


@pytest.mark.parametrize("fmt", ["tsv", "csv", "jsonl"])
def test_rows_of_dicts_write_missing_values_as_empty(fmt: str) -> None:
    out = io.StringIO()
    write_rows([{"a": Decimal("1.50")}], ["a", "b"], fmt, out)
    assert out.getvalue() == {"tsv": "a\tb\n1.50\t\n", "csv": "a,b\r\n1.50,\r\n",
                              "jsonl": '{"a":"1.50","b":null}\n'}[fmt]  # fmt: skip


def test_a_value_with_a_line_break_stays_in_its_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--items --format tsv` on hostile values: one row an item, nested values as JSON."""
    log = tmp_path / "log.jsonl"
    log.write_text(
        '{"event":"ari","property_id":"p","payload":[{"date":"2026\\n-01\\r","rate":{"a":[1]}},'
        '{"date":"2026-01-02","rate":"1.50","room_type_id":"a\\tb"}]}\n'
    )
    status, out, _ = run_cli(capsys, "filter", "ari:rate:*:*", str(log), "--items",
                             "--format", "tsv", "--fields", "date,room_type_id,rate")  # fmt: skip
    assert status == 0
    assert out.splitlines() == [
        "date\troom_type_id\trate",
        '2026 -01 \t\t{"a":[1]}',
        "2026-01-02\ta b\t1.50",
    ]


@given(tables(), st.sampled_from(["tsv", "csv"]))
def test_rows_of_dicts_are_written_as_their_fields(
    table: tuple[list[str], list[list[str]]], fmt: str
) -> None:
    """`write_rows` (the summaries' rows) writes what `write_cells` writes of the same text."""
    columns, rows = table
    cells, dicts = io.StringIO(), io.StringIO()
    write_cells(rows, columns, fmt, cells)
    write_rows([dict(zip(columns, row, strict=True)) for row in rows], columns, fmt, dicts)
    assert dicts.getvalue() == cells.getvalue()
