"""``--items`` by the item path writes the bytes the reference writes.

The reference: every line through the general path, each selected item
written by `dumps` on its own with the notification's ``property_id`` in
front.  The item path picks the items as the fast path does (or takes them
all) and writes a line's items in one call.  Generated and adversarial lines
go through both; the output, the problems reported and the counts must be
the same.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from eventmask import Catalogue, Predicates, parse
from eventmask._cli.selection import LineOutput
from eventmask._routing.items_fast import ItemLine, item_path

from ..helpers import through
from ..strategies import PROPERTIES
from .test_filter_fast import ADVERSARIAL, MASKS, PREDICATES, RATE_PLANS, lines
from .test_rows_fast import ari_lines


def _ignore(block: bytes, count: int) -> None:
    del block, count


# Masks the item path takes: the fast path's, and those that take every item (`ari`).
ITEM_MASKS = [
    m
    for m in [*MASKS, "ari:*:*:*;booking_new", "ari:rate:*:*", "ari:rate:*:*;ari"]
    if item_path(parse(m), None, Catalogue.default(), None, _ignore)
]


def written(text: str, batch: list[bytes], scope: str | None, asked: Predicates | None,
            fast: bool) -> Any:  # fmt: skip
    """The output, problems and counts of one ``--items`` run, by the item path or the
    reference."""
    mask = parse(text)
    out = io.BytesIO()
    output = LineOutput(out, count_only=False, items_of=mask)
    if fast:
        assert isinstance(output.fast_path(scope, Catalogue.default(), asked), ItemLine)
    problems, counts = through(output, mask, batch, scope, asked, fast, items=True)
    return out.getvalue(), problems, counts


def test_the_item_path_takes_both_kinds_of_mask() -> None:
    assert {"ari", "ari:*:*:*;booking_new", "ari:rate:*:*", MASKS[0]} <= set(ITEM_MASKS)
    assert "*" not in ITEM_MASKS  # the whole-line path's
    assert "booking;message" not in ITEM_MASKS


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(ITEM_MASKS),
    st.lists(ari_lines() | lines(), max_size=8),
    st.sampled_from([None, *PROPERTIES]),
    st.sampled_from([None, *PREDICATES]),
)
@example(
    "ari",
    [
        b'{"event":"ari","property_id":"p","payload":[{"rate":1e400,"property_id":"own"},'
        b'{"rate":"1.00","rate":1.50},{}]}',
        b'{"event":"ari","payload":[]}',
        b'{"event":"ari","payload":null}',
        b'{"event":"ari","payload":[{"a":[1,{"b":2}]}],"property_id":{"x":[1]}}',
    ],
    None,
    None,
)
@example(  # the property asked for named by an item, not by the envelope
    "ari",
    [
        b'{"event":"ari","property_id":"%s","payload":[{"property_id":"%s"}]}'
        % (PROPERTIES[1].encode(), PROPERTIES[0].encode())
    ],
    PROPERTIES[0],
    None,
)
@example(  # no items, in the time asked for: matched, nothing written
    "ari",
    [b'{"event":"ari","timestamp":"2026-05-02T00:00:00Z","payload":[]}'],
    None,
    PREDICATES[4],
)  # fmt: skip
def test_the_item_path_writes_the_items_the_reference_writes(
    text: str, batch: list[bytes], scope: str | None, asked: Predicates | None
) -> None:
    """The same bytes, the same problems and counts."""
    assert written(text, batch, scope, asked, True) == written(text, batch, scope, asked, False)


@pytest.mark.parametrize("text", ["ari", f"ari:rate:*:{RATE_PLANS[0]}"])
@pytest.mark.parametrize("line", ADVERSARIAL)
def test_adversarial_lines_make_the_reference_items(text: str, line: bytes) -> None:
    assert written(text, [line], None, None, True) == written(text, [line], None, None, False)


@pytest.mark.parametrize("text", ["ari", "ari:rate:*:*"])
def test_the_item_path_writes_the_common_lines_itself(text: str) -> None:
    """It is not vacuous: a plain ARI line's items are written here, in one block, merged
    as the reference merges them (an item's own property_id in front, with its value)."""
    got: list[tuple[bytes, int]] = []
    quick = item_path(parse(text), None, Catalogue.default(), None,
                      lambda block, count: got.append((block, count)))  # fmt: skip
    assert quick is not None
    line = (b'{"event":"ari","property_id":"p","payload":[{"rate":1.50},'
            b'{"property_id":"q","rate":7},{"rate":1e400}]}')  # fmt: skip
    assert quick(line) == (None, 3, 3, True)
    assert got == [
        (b'{"property_id":"p","rate":1.5}\n{"property_id":"q","rate":7}\n'
         b'{"property_id":"p","rate":null}\n', 3)
    ]  # fmt: skip


def test_items_are_picked_where_they_are_decoded_unless_many_filters_name_ids() -> None:
    """Fewer than three filters naming ids: picked from the items decoded as objects, the
    line read once; from three on (one test per filter), typed, then read again to write."""
    few = item_path(parse(MASKS[6]), None, Catalogue.default(), None, _ignore)
    many = item_path(parse(MASKS[9]), None, Catalogue.default(), None, _ignore)
    assert few is not None
    assert many is not None
    assert few._objects
    assert not many._objects
