"""Predicates on values, dates and times beside a mask, against a reference written plainly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventmask import FilterStats, PredicateError, Predicates, filter_lines, parse
from eventmask._routing.predicates import Comparison

from ..conftest import ROOT
from ..helpers import dumps, loads, run_cli

SAMPLE = ROOT / "examples" / "sample.jsonl"
ROOM = "11111111-0000-4000-8000-000000000001"


def _value(key: str, raw: Any) -> Any:
    """The reference reading of a value: as Channex means it, without eventmask's readers."""
    if key == "rate":
        if isinstance(raw, bool):
            return None
        return Decimal(raw) / 100 if isinstance(raw, int) else Decimal(str(raw))
    if key in ("stop_sell", "closed_to_arrival"):
        return raw if raw.__class__ is bool else {1: True, 0: False}.get(raw)
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


OPS = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def reference(lines: list[bytes], where: list[tuple[str, str, Any]], dates: tuple[str, str] | None,
              since: dt.datetime | None) -> list[Any]:  # fmt: skip
    """Every ARI line, its items kept when they pass; lines with none left dropped."""
    out = []
    for line in lines:
        doc = loads(line)
        if doc.get("event") != "ari":
            continue
        if since is not None:
            stamp = doc.get("timestamp")
            if not stamp or dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")) < since:
                continue
        kept = []
        for item in doc["payload"]:
            if dates is not None and not dates[0] <= item.get("date", "") <= dates[1]:
                continue
            ok = True
            for key, op, value in where:
                have = _value(key, item[key]) if key in item else None
                ok = ok and have is not None and OPS[op](have, value)
            if ok:
                kept.append(item)
        if kept:
            out.append({**doc, "payload": kept})
    return out


ITEM = st.fixed_dictionaries(
    {
        "date": st.sampled_from(["2026-05-31", "2026-06-01", "2026-06-15", "2026-07-01"]),
        "room_type_id": st.just(ROOM),
    },
    optional={
        # Around the comparisons' own values, where an off-by-one shows.
        "rate": st.sampled_from([9999, 10000, 10001, "99.99", "100.00", "100", "250.5", 0]),
        "availability": st.integers(-1, 3),
        "stop_sell": st.booleans() | st.sampled_from([0, 1]),
        "closed_to_arrival": st.booleans(),
    },
)


def _line(items: list[dict[str, Any]], day: int) -> bytes:
    stamp = f"2026-06-{day:02d}T10:00:00.000Z"
    return dumps({"event": "ari", "property_id": "p", "payload": items, "timestamp": stamp})


LINE = st.builds(_line, st.lists(ITEM, min_size=1, max_size=4), st.integers(1, 28))
WHERE = st.sampled_from(
    [("rate", ">=", "100.00"), ("rate", "<", "100"), ("availability", "<=", "0"),
     ("availability", "=", "2"), ("stop_sell", "!=", "false"), ("closed_to_arrival", "=", "true")]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(LINE | st.just(b'{"event":"message","payload":{"message":"hi"}}'), max_size=6),
    st.lists(WHERE, max_size=2),
    st.none() | st.just(("2026-06-01", "2026-06-30")),
    st.none() | st.integers(1, 28),
)
def test_predicates_narrow_as_the_reference_does(
    lines: list[bytes],
    where: list[tuple[str, str, str]],
    dates: tuple[str, str] | None,
    since_day: int | None,
) -> None:
    since = None if since_day is None else dt.datetime(2026, 6, since_day, 10, tzinfo=dt.UTC)
    asked = Predicates.of(
        dates=None if dates is None else f"{dates[0]}..{dates[1]}",
        since=since,
        where=[f"{k}{op}{v}" for k, op, v in where],
    )
    typed = [(k, op, Comparison.parse(f"{k}{op}{v}").value) for k, op, v in where]
    if not asked.on_items and since is None:
        return  # no predicate: the mask alone, tested elsewhere
    got = [loads(x) for x in filter_lines(parse("ari"), lines, predicates=asked)]
    assert got == reference(lines, typed, dates, since)


def test_the_three_questions_on_the_sample() -> None:
    """Closed to arrival: 1,484 items carry the key, 453 are true (docs/filter.md)."""
    lines = SAMPLE.read_bytes().splitlines()
    mask = parse("ari:closed_to_arrival:*:*")
    carried = list(filter_lines(mask, lines, items=True))
    closed = list(
        filter_lines(
            mask, lines, items=True, predicates=Predicates.of(where=["closed_to_arrival=true"])
        )
    )
    assert (len(carried), len(closed)) == (1484, 453)
    assert all(loads(i)["closed_to_arrival"] is True for i in closed)


def test_rates_compare_as_decimals_in_both_forms() -> None:
    minor = dumps({"event": "ari", "payload": [{"date": "2026-06-01", "rate": 10000}]})
    text = dumps({"event": "ari", "payload": [{"date": "2026-06-01", "rate": "100.00"}]})
    asked = Predicates.of(where=["rate=100"])
    assert len(list(filter_lines(parse("ari"), [minor, text], predicates=asked))) == 2


@pytest.mark.parametrize(
    ("where", "message", "position"),
    [
        ("rates>1", "unknown restriction 'rates'", 0),
        ("rate>=abc", "rate is a decimal amount", 6),
        ("stop_sell>true", "compare it with = or !=", 9),
        ("availability=1.5", "availability is a whole number", 13),
        ("closed_to_arrival=yes", "closed_to_arrival is true or false", 18),
        ("rate", "expected RESTRICTION OP VALUE", 0),
    ],
)
def test_a_bad_where_names_the_column(where: str, message: str, position: int) -> None:
    with pytest.raises(PredicateError, match=message) as caught:
        Comparison.parse(where)
    assert caught.value.position == position


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        ("2026-06-31", "expected a date YYYY-MM-DD, not '2026-06-31'"),
        ("2026-06-30..2026-06-01", "the range ends before it starts"),
        ("June", "expected a date"),
    ],
)
def test_a_bad_date_range_is_an_error(dates: str, message: str) -> None:
    with pytest.raises(PredicateError, match=message):
        Predicates.of(dates=dates)


def test_the_command_line_takes_them_and_reports_a_bad_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["filter", "ari:closed_to_arrival:*:*", str(SAMPLE), "--items", "--count"]
    assert run_cli(capsys, *args)[1] == "1484\n"
    assert run_cli(capsys, *args, "--where", "closed_to_arrival=true")[1] == "453\n"
    june = run_cli(capsys, *args, "--dates", "2026-06-01..2026-06-30")[1]
    assert 0 < int(june) < 1484
    status, out, err = run_cli(capsys, *args, "--where", "rates>=1")
    assert (status, out) == (2, "")
    assert err.startswith("eventmask: error: invalid predicate: unknown restriction 'rates'")
    assert "  rates>=1\n  ^\n" in err
    status, _, err = run_cli(capsys, *args, "--since", "2026-06-02", "--until", "2026-06-01")
    assert (status, err) == (
        2,
        "eventmask: error: invalid predicate: --until is not after --since\n",
    )


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">="])
def test_each_operator_at_its_boundary(op: str) -> None:
    """Below, at and above the value, in both rate forms: as the reference compares."""
    items = [{"date": "2026-06-01", "rate": r} for r in (9999, 10000, 10001, "99.99", "100.00")]
    line = dumps({"event": "ari", "payload": items})
    got = list(filter_lines(parse("ari"), [line], predicates=Predicates.of(where=[f"rate{op}100"])))
    kept = [Decimal(str(i["rate"])) / (100 if isinstance(i["rate"], int) else 1) for i in items]
    want = [i for i, rate in zip(items, kept, strict=True) if OPS[op](rate, Decimal(100))]
    assert (loads(got[0])["payload"] if got else []) == want


@settings(max_examples=200, deadline=None)
@given(
    st.lists(LINE | st.just(b'{"event":"message","payload":{"message":"hi"}}'), max_size=6),
    st.lists(WHERE, min_size=1, max_size=2),
    st.none() | st.just("2026-06-01..2026-06-30"),
    st.sampled_from(["ari:rate:*:*", "ari:availability,stop_sell:*:*", f"ari:*:{ROOM}:*;message"]),
)
def test_the_fast_path_refined_equals_the_general_path(
    lines: list[bytes], where: list[tuple[str, str, str]], dates: str | None, mask_text: str
) -> None:
    """Masks the fast path takes: its selections, asked afterwards, are what the general
    path gives when it asks every line (and the same counts)."""
    asked = Predicates.of(dates=dates, where=[f"{k}{op}{v}" for k, op, v in where])
    mask = parse(mask_text)
    fast_stats, slow_stats = FilterStats(), FilterStats()
    fast = list(filter_lines(mask, lines, predicates=asked, stats=fast_stats))
    slow = list(filter_lines(mask, lines, predicates=asked, stats=slow_stats, fast=False))
    assert [loads(x) for x in fast] == [loads(x) for x in slow]
    assert (fast_stats.matched, fast_stats.items_selected) == (
        slow_stats.matched,
        slow_stats.items_selected,
    )
