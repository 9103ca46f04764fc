"""The aggregates' fast path sums exactly what the general path and `changes` sum.

The reference: every line through the general path, the narrowed lines read
again by `aggregate.changes`.  Generated and adversarial lines go through
both; the tables, the problems reported and the counts must be the same.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from eventmask import Catalogue, Predicates, parse
from eventmask._cli.summaries import ChangeRows, Summary
from eventmask._routing.aggregate import Change
from eventmask._routing.aggregate_fast import summing_path

from ..helpers import through
from ..strategies import PROPERTIES
from .test_filter_fast import ADVERSARIAL, MASKS, PREDICATES, RATE_PLANS, lines

# (count-by fields or None for --latest alone, and --latest)
SUMMARIES = [
    ("rate_plan_id", False),
    ("restriction", False),
    ("property_id,restriction", True),
    ("date,user_id", False),
    (None, True),
]


def summed(text: str, batch: list[bytes], scope: str | None, asked: Predicates | None,
           shape: tuple[str | None, bool], fast: bool) -> Any:  # fmt: skip
    """The tables, problems and counts of one run, by the fast path or the reference."""
    mask = parse(text)
    summary = Summary(mask, shape[0], shape[1], "tsv")
    problems, counts = through(summary, mask, batch, scope, asked, fast)
    tables = (
        summary.counter.rows() if summary.counter is not None else None,
        summary.latest.rows() if summary.latest is not None else None,
    )
    return tables, problems, counts


def _ignore(found: list[Change]) -> None:
    del found


# Masks the summing path takes: the fast path's and those that take every item (`ari`).
SUMMED_MASKS = [
    m
    for m in [*MASKS, "ari:rate,stop_sell:*:*"]
    if summing_path(parse(m), None, Catalogue.default(), None, _ignore) is not None
]


def _takes(text: str, shape: tuple[str | None, bool]) -> bool:
    summary = Summary(parse(text), shape[0], shape[1], "tsv")
    return summary.fast_path(None, Catalogue.default(), None) is not None


_STAMPS = ["2026-05-01T10:00:00Z", "2026-04-30T23:59:59Z", "2026-05-02T00:00:00.5Z", "late"]


@st.composite
def ari_lines(draw: st.DrawFn) -> bytes:
    """An ARI notification that the masks above mostly select: the cases that sum."""
    payload = []
    for _ in range(draw(st.integers(1, 4))):
        item: dict[str, Any] = {"date": draw(st.sampled_from(["2026-05-01", "2026-06-15"]))}
        if draw(st.booleans()):
            item["rate_plan_id"] = draw(st.sampled_from([RATE_PLANS[0], RATE_PLANS[2]]))
        for key in draw(st.lists(st.sampled_from(["rate", "min_stay", "stop_sell"]), max_size=2)):
            item[key] = draw(st.sampled_from([5, 100, "1.00", 0, 1, True, None, "x"]))
        payload.append(item)
    doc = {"event": "ari", "property_id": draw(st.sampled_from(PROPERTIES)),
           "user_id": draw(st.sampled_from(["u1", None])),
           "timestamp": draw(st.sampled_from(_STAMPS)), "payload": payload}  # fmt: skip
    return json.dumps(doc).encode() + b"\n"


# Each mask with each table the summing path takes for it.
TAKEN = [(m, shape) for m in SUMMED_MASKS for shape in SUMMARIES if _takes(m, shape)]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(TAKEN),
    st.lists(ari_lines() | lines(), max_size=8),
    st.sampled_from([None, *PROPERTIES]),
    st.sampled_from([None, *PREDICATES]),
)
@example(
    (f"ari:rate:*:{RATE_PLANS[0]}", ("rate_plan_id", True)),
    [b'{"event":"ari","timestamp":"2026-05-01T10:00:00Z","payload":[{"rate_plan_id":"%s",'
     b'"date":"2026-05-01","rate":5},{"rate_plan_id":"%s","rate":"1.00","rate":"2.5"}]}'
     % (RATE_PLANS[0].encode(), RATE_PLANS[0].upper().encode())],
    None,
    None,
)  # fmt: skip
def test_the_summing_path_sums_what_the_reference_sums(
    taken: tuple[str, tuple[str | None, bool]],
    batch: list[bytes],
    scope: str | None,
    asked: Predicates | None,
) -> None:
    """Counts per group and the latest state: the same tables, problems and counts."""
    text, shape = taken
    assert summed(text, batch, scope, asked, shape, True) == summed(
        text, batch, scope, asked, shape, False
    )


@pytest.mark.parametrize(
    ("text", "shape"),
    [(f"ari:rate:*:{RATE_PLANS[0]}", ("rate_plan_id", True)), ("ari", ("restriction", True))],
)
@pytest.mark.parametrize("line", ADVERSARIAL)
def test_adversarial_lines_sum_as_the_reference_sums(
    line: bytes, text: str, shape: tuple[str, bool]
) -> None:
    assert summed(text, [line], None, None, shape, True) == summed(
        text, [line], None, None, shape, False
    )


def test_the_summing_path_takes_the_masks_it_is_for() -> None:
    """It serves the common questions; where an item's key order could show, it stands aside."""
    assert _takes("ari:rate:*:*", ("rate_plan_id", False))
    assert _takes("ari:rate,stop_sell:*:*", ("restriction", False))
    assert _takes("ari:rate,stop_sell:*:*", (None, True))
    assert _takes("ari:rate,stop_sell:*:*", ("rate_plan_id", False))  # last: in key order
    assert _takes("ari", (None, True))  # every key, in key order
    assert {"ari", "ari;booking_new", MASKS[5]} <= set(SUMMED_MASKS)  # MASKS[5]: ari:*:RT:*
    assert "*" not in SUMMED_MASKS


def changed(text: str, batch: list[bytes], scope: str | None, asked: Predicates | None,
            ignore: tuple[str, ...], fast: bool) -> Any:  # fmt: skip
    """The rows of `--changes`, problems and counts, by the summing path or the reference."""
    mask = parse(text)
    out = io.StringIO()
    problems, counts = through(ChangeRows(mask, ignore, "tsv", out), mask, batch, scope, asked,
                               fast)  # fmt: skip
    return out.getvalue(), problems, counts


def _changes_taken(text: str) -> bool:
    table = ChangeRows(parse(text), (), "tsv", io.StringIO())
    return table.fast_path(None, Catalogue.default(), None) is not None


# The masks whose changes the summing path reads: of one restriction (an item makes at most
# one change), and of several, read in the item's keys' order.
CHANGED_MASKS = [m for m in SUMMED_MASKS if _changes_taken(m)]


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CHANGED_MASKS),
    st.lists(ari_lines() | lines(), max_size=8),
    st.sampled_from([None, *PROPERTIES]),
    st.sampled_from([None, *PREDICATES]),
    st.sampled_from([(), ("u1",)]),
)
@example(
    "ari:min_stay:*:*;message",
    # An escape sends the first line to the general path; the second is the fast path's.
    [b'{"event":"ari","payload":[{"date":"2026-05-01","min_stay":1,"note":"\\u0061"}]}',
     b'{"event":"ari","payload":[{"date":"2026-05-01","min_stay":2}]}'],
    None,
    None,
    (),
)  # fmt: skip
def test_the_changes_the_summing_path_reads_are_the_references(
    text: str,
    batch: list[bytes],
    scope: str | None,
    asked: Predicates | None,
    ignore: tuple[str, ...],
) -> None:
    """``--changes``: the same rows in the same order, problems and counts."""
    assert changed(text, batch, scope, asked, ignore, True) == changed(
        text, batch, scope, asked, ignore, False
    )


def test_the_changes_of_several_restrictions_come_in_each_items_keys_order() -> None:
    """As the reference gives them: the items are read as objects, which keep the order."""
    mask = parse("ari:rate,stop_sell:*:*")
    got: list[Change] = []
    quick = summing_path(mask, None, Catalogue.default(), None, got.extend, in_order=True)
    assert quick is not None
    line = (b'{"event":"ari","timestamp":"2026-05-01T10:00:00Z","payload":['
            b'{"date":"2026-05-01","stop_sell":true,"rate":100},'
            b'{"date":"2026-05-01","rate":90,"stop_sell":false}]}')  # fmt: skip
    assert quick(line) == (None, 2, 2, True)
    assert [c.restriction for c in got] == ["stop_sell", "rate", "rate", "stop_sell"]
    assert "ari:rate,stop_sell:*:*" in CHANGED_MASKS  # `--changes` takes this path


def test_the_changes_of_several_restrictions_under_many_id_filters_are_the_references() -> None:
    """Three or more filters that name ids are tested one at a time on typed items, which
    do not keep the keys' order: the general path's.  Every key (``ari``) is read in order."""
    p1, p2, p3 = RATE_PLANS
    many = f"ari:rate:*:{p1};ari:stop_sell:*:{p2};ari:rate:*:{p3}"
    assert not _changes_taken(many)
    assert _changes_taken("ari")
