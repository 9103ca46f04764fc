"""Counts per group and the latest state per cell, against a reference written plainly."""

from __future__ import annotations

import csv
import io
import itertools
import re
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventmask import filter_lines, parse
from eventmask._cli.tables import write_rows
from eventmask._routing.aggregate import (
    CELL,
    Counter,
    Latest,
    _in_order,
    asked_restrictions,
    changes,
)

from ..conftest import ROOT
from ..helpers import dumps, loads, run_cli

SAMPLE = ROOT / "examples" / "sample.jsonl"
ROOMS = ["11111111-0000-4000-8000-000000000001", "11111111-0000-4000-8000-000000000002"]
RATES = ["22222222-0000-4000-8000-000000000001", None]


def _as_meant(key: str, raw: Any) -> Any:
    if key == "rate":
        return Decimal(raw) / 100 if isinstance(raw, int) else Decimal(raw)
    return raw


def reference_counts(docs: list[dict[str, Any]], fields: tuple[str, ...], keys: set[str]) -> dict:
    """Per group: count, min, max, last, from every item's asked keys, in log order."""
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for doc in docs:
        for item in doc["payload"]:
            for key in sorted(set(item) & keys, key=list(item).index):
                cell = {
                    "property_id": doc["property_id"],
                    "room_type_id": item.get("room_type_id"),
                    "rate_plan_id": item.get("rate_plan_id"),
                    "date": item["date"],
                    "restriction": key,
                    "user_id": doc.get("user_id"),
                    "event": "ari",
                }
                value = _as_meant(key, item[key])
                g = groups.setdefault(tuple(cell[f] for f in fields), {"count": 0, "values": []})
                g["count"] += 1
                g["values"].append(value)
    return {
        k: (g["count"], min(g["values"]), max(g["values"]), g["values"][-1])
        for k, g in groups.items()
    }


ITEM = st.fixed_dictionaries(
    {
        "date": st.sampled_from(["2026-06-01", "2026-06-02"]),
        "room_type_id": st.sampled_from(ROOMS),
        "rate_plan_id": st.sampled_from(RATES),
    },
    optional={
        "rate": st.sampled_from([10000, "99.50", 25000, "250.00"]),
        "availability": st.integers(0, 3),
    },
)
DOC = st.builds(
    lambda items, user, minute: {
        "event": "ari",
        "property_id": "p",
        "user_id": user,
        "payload": items,
        "timestamp": f"2026-05-01T10:{minute:02d}:00.000Z",
    },
    st.lists(ITEM, min_size=1, max_size=3),
    st.sampled_from([None, "u1"]),
    st.integers(0, 59),
)


GROUPINGS = [("restriction",), ("rate_plan_id", "date"), ("room_type_id", "restriction", "user_id")]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(DOC, max_size=8), st.sampled_from(GROUPINGS), st.sampled_from(["ari", "ari:rate:*:*"])
)
def test_counts_per_group_are_the_references(
    docs: list[dict[str, Any]], fields: tuple[str, ...], mask_text: str
) -> None:
    mask = parse(mask_text)
    lines = list(filter_lines(mask, [dumps(d) for d in docs]))
    counter = Counter(fields)
    for change in changes(lines, asked_restrictions(mask)):
        counter.add(change)
    keys = {"rate", "availability"} if mask_text == "ari" else {"rate"}
    selected = [loads(line) for line in lines]
    got = {tuple(r[f] for f in fields): (r["count"], r["min"], r["max"], r["last"])
           for r in counter.rows()}  # fmt: skip
    assert got == reference_counts(selected, fields, keys)


@settings(max_examples=150, deadline=None)
@given(st.lists(DOC, max_size=8))
def test_the_latest_state_is_the_last_timestamp_per_cell(docs: list[dict[str, Any]]) -> None:
    """Webhooks arrive out of order: the latest timestamp wins, the later line on a tie."""
    state = Latest()
    for change in changes([dumps(d) for d in docs], None):
        state.add(change)
    want: dict[tuple[Any, ...], tuple[str, Any]] = {}
    for doc in docs:
        for item in doc["payload"]:
            for key in set(item) - {"date", "room_type_id", "rate_plan_id"}:
                cell = ("p", item["room_type_id"], item["rate_plan_id"], item["date"], key)
                held = want.get(cell)
                if held is None or doc["timestamp"] >= held[0]:
                    want[cell] = (doc["timestamp"], _as_meant(key, item[key]))
    got = {tuple(r[f] for f in CELL): (r["timestamp"], r["value"]) for r in state.rows()}
    assert got == want


# A notification whose timestamp is missing or unreadable loses to any timed one.
ANY_TIME = st.builds(
    lambda doc, stamp: {**doc, "timestamp": stamp} if stamp != "-" else dict(doc, timestamp=None),
    DOC,
    st.sampled_from(["2026-05-01T10:00:00Z", "2026-05-01T09:00:00.5Z", "late", "-"]),
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(DOC, ANY_TIME), max_size=10),
    st.lists(st.integers(0, 10), max_size=3),
    st.sampled_from(GROUPINGS),
)
def test_tables_of_consecutive_runs_merge_into_the_table_of_the_whole(
    docs: list[dict[str, Any]], cuts: list[int], fields: tuple[str, ...]
) -> None:
    """What ``filter --jobs`` relies on: sum the pieces apart, merge them in order."""
    lines = [dumps(d) for d in docs]
    points = [0, *sorted({min(c, len(lines)) for c in cuts}), len(lines)]
    whole_counts, whole_state = Counter(fields), Latest()
    whole_counts.add_all(changes(lines, None))
    whole_state.add_all(changes(lines, None))
    counts, state = Counter(fields), Latest()
    for start, end in itertools.pairwise(points):
        part_counts, part_state = Counter(fields), Latest()
        part_counts.add_all(changes(lines[start:end], None))
        part_state.add_all(changes(lines[start:end], None))
        counts.merge(part_counts.groups)
        state.merge(part_state.cells)
    assert counts.rows() == whole_counts.rows()
    assert state.rows() == whole_state.rows()


def test_the_sample_counts_per_rate_plan(capsys: pytest.CaptureFixture[str]) -> None:
    """The breakdown `jq | sort | uniq -c` gave: the counts add up to the --count total."""
    status, out, _ = run_cli(capsys, "filter", "ari:rate:*:*", str(SAMPLE), "--count-by",
                             "rate_plan_id")  # fmt: skip
    assert status == 0
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0] == ["rate_plan_id", "count", "min", "max", "last"]
    total = run_cli(capsys, "filter", "ari:rate:*:*", str(SAMPLE), "--items", "--count")[1]
    assert sum(int(r[1]) for r in rows[1:]) == int(total)
    counts = [int(r[1]) for r in rows[1:]]
    assert counts == sorted(counts, reverse=True)


@pytest.mark.parametrize("mask_text", ["ari", "ari:rate,availability:*:*"])
def test_the_command_prints_the_latest_state_as_channex_means_it(
    capsys: pytest.CaptureFixture[str], mask_text: str
) -> None:
    """The command reads only each cell's winning value; it prints what reading every
    value on the general path gives (rates as decimals: 24833 is 248.33)."""
    status, out, _ = run_cli(capsys, "filter", mask_text, str(SAMPLE), "--latest")
    assert status == 0
    mask = parse(mask_text)
    state = Latest()
    state.add_all(changes(filter_lines(mask, SAMPLE.read_bytes().splitlines(), fast=False),
                          asked_restrictions(mask)))  # fmt: skip
    want = io.StringIO()
    write_rows(state.rows(), [*CELL, "value", "timestamp", "user_id"], "tsv", want)
    assert out == want.getvalue()
    rates = [line.split("\t")[5] for line in out.splitlines() if "\trate\t" in line]
    assert rates
    assert all(re.fullmatch(r"\d+\.\d+", rate) for rate in rates)


def test_csv_opens_in_a_spreadsheet(capsys: pytest.CaptureFixture[str]) -> None:
    """A header row and RFC 4180 lines; --latest --as-of keeps the state before a time."""
    args = ["filter", "ari:availability:*:*", str(SAMPLE), "--latest", "--format", "csv"]
    out = run_cli(capsys, *args)[1]
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == [*CELL, "value", "timestamp", "user_id"]
    assert out.splitlines(keepends=True)[0].endswith("\r\n")
    earlier = run_cli(capsys, *args, "--as-of", "2026-03-01T06:00:00Z")[1]
    before = list(csv.reader(io.StringIO(earlier, newline="")))
    assert 1 < len(before) < len(rows)
    assert all(r[6] < "2026-03-01T06:00:00" for r in before[1:])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--count-by", "room,date"], "invalid --count-by: unknown field 'room'"),
        (["--count-by", "date", "--count"], "not with --count or --items"),
        (["--latest", "--items"], "not with --count or --items"),
    ],
)
def test_bad_aggregates_are_usage_errors(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    status, out, err = run_cli(capsys, "filter", "ari", str(SAMPLE), *extra)
    assert (status, out) == (2, "")
    assert message in err


def test_items_as_a_table_print_rates_as_decimals(capsys: pytest.CaptureFixture[str]) -> None:
    """--items --format: the documented columns, rates as decimal strings in either form;
    without --format the items are printed as sent, byte for byte."""
    prop = "4fe04802-f435-4573-ae8c-d94e7223c68a"
    args = ["filter", "ari:rate:*:*", str(SAMPLE), "--items", "--property", prop]
    as_sent = [loads(x) for x in run_cli(capsys, *args)[1].splitlines()]
    rows = list(csv.DictReader(io.StringIO(run_cli(capsys, *args, "--format", "csv")[1])))
    assert list(rows[0]) == ["property_id", "date", "room_type_id", "rate_plan_id", "rate"]
    assert len(rows) == len(as_sent)
    assert any(isinstance(i["rate"], int) for i in as_sent)  # both forms are in the sample
    for row, item in zip(rows, as_sent, strict=True):
        assert Decimal(row["rate"]) == _as_meant("rate", item["rate"])
        assert row["date"] == item["date"]
    lines = run_cli(capsys, *args, "--format", "jsonl", "--fields", "date,rate")[1].splitlines()
    assert loads(lines[0]) == {
        "date": as_sent[0]["date"],
        "rate": str(_as_meant("rate", as_sent[0]["rate"])),
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--format", "csv"], "with --count-by, --latest or --items"),
        (["--items", "--fields", "dates"], "invalid --fields: unknown field 'dates'"),
        (["--items", "--count", "--format", "tsv"], "and not --count"),
        (["--count-by", "date", "--fields", "date"], "--fields names the columns of --items"),
        (["--ignore-user", "u1"], "--ignore-user goes with --changes"),
        (["--changes", "--latest"], "--changes prints a table of its own"),
    ],
)
def test_bad_tables_are_usage_errors(
    capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    status, out, err = run_cli(capsys, "filter", "ari:rate:*:*", str(SAMPLE), *extra)
    assert (status, out) == (2, "")
    assert message in err


@settings(max_examples=150, deadline=None)
@given(st.lists(DOC, max_size=8), st.sampled_from([(), ("u1",)]))
def test_changes_are_each_new_value_of_a_cell_in_log_order(
    docs: list[dict[str, Any]], ignored: tuple[str, ...]
) -> None:
    """Old -> new per cell; a repeated value is no change; an ignored user's change moves the
    cell on unreported."""
    from eventmask._routing.aggregate import Changes

    seen = Changes(ignored)
    got = [r for c in changes([dumps(d) for d in docs], None) for r in seen.add(c)]
    want, last = [], {}
    for doc in docs:
        for item in doc["payload"]:
            for key in [k for k in item if k not in ("date", "room_type_id", "rate_plan_id")]:
                cell = ("p", item["room_type_id"], item["rate_plan_id"], item["date"], key)
                new = _as_meant(key, item[key])
                old = last.get(cell, "never")
                last[cell] = new
                if old != new and doc["user_id"] not in ignored:
                    want.append((*cell, None if old == "never" else old, new, doc["user_id"]))
    assert [(*cell, old, new, user) for *cell, old, new, _, user in got] == want


_PART = st.none() | st.text(st.sampled_from(["a", "b", "\x00", "\x01", "N"]), max_size=3)


@given(st.lists(st.tuples(_PART, _PART, _PART), max_size=12, unique=True))
def test_cells_come_in_the_order_of_their_parts_texts(keys: list[tuple[Any, ...]]) -> None:
    """The latest state's order: the parts' texts compared one after another, also where
    a part holds the NUL the fast order joins them with."""
    assert _in_order(keys) == sorted(keys, key=lambda key: [str(part) for part in key])
