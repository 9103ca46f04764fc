"""The filter's fast path gives exactly what the general path gives, line by line.

The general path (decode the line whole, ask the index) is the reference.
Generated and adversarial lines go through both; every output, every count
and every error must be the same.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from eventmask import Catalogue, FilterStats, InputError, Mask, Predicates, filter_lines, parse
from eventmask._routing.filter_fast import FastLine, WholeLine, fast_path

from ..strategies import PROPERTIES, UNMENTIONED_ID

# Ids with hex letters, so that their case can differ.
ROOM_TYPES = [f"abcdef0{i}-0000-4000-8000-00000000000{i}" for i in range(1, 4)]
RATE_PLANS = [f"fedcba0{i}-1111-4b00-8e00-0000000000a{i}" for i in range(1, 4)]

MASKS = [
    f"ari:rate:*:{RATE_PLANS[0]}",
    f"ari:availability,booked:{ROOM_TYPES[1]}:*",
    f"ari:rate:{ROOM_TYPES[0]}:{RATE_PLANS[0]},{RATE_PLANS[1]}",
    f"booking_new;ari:stop_sell:*:{RATE_PLANS[2]}",
    "ari:min_stay:*:*;message",
    f"ari:*:{ROOM_TYPES[2]}:*",
    # Filters of both kinds (keys alone, ids), and two filters with ids.
    f"ari:rate:*:*;ari:availability:{ROOM_TYPES[1]}:*",
    f"ari:stop_sell,booked:*:*;ari:*:*:{RATE_PLANS[1]};booking",
    f"ari:rate:*:{RATE_PLANS[0]};ari:availability:{ROOM_TYPES[1]}:*",
    # From three filters naming ids on, a gate of all their ids and a dict by id.
    f"ari:rate:{ROOM_TYPES[0]}:*;ari:availability:{ROOM_TYPES[1]}:*;"
    f"ari:stop_sell:*:{RATE_PLANS[2]};ari:booked:{ROOM_TYPES[2]}:{RATE_PLANS[0]}",
    f"ari:rate:{ROOM_TYPES[0]}:*;ari:min_stay:*:*;ari:availability:*:{RATE_PLANS[1]}",
    # Filters that name only restrictions: one need, any of their names.
    "ari:rate:*:*;ari:stop_sell,min_stay:*:*;booking_new",
    # Whole notifications only (`WholeLine`).
    "*",
    "ari",
    "booking;message",
    "ari;booking_new",
]


def run(
    mask: Mask,
    lines: list[bytes],
    fast: bool,
    property_id: str | None = None,
    predicates: Predicates | None = None,
    items: bool = False,
) -> Any:
    """Outputs, reported problems and counts of one filter run."""
    problems: list[str] = []
    stats = FilterStats()
    out = list(
        filter_lines(
            mask,
            lines,
            property_id=property_id,
            on_invalid=lambda e: problems.append(str(e)),
            stats=stats,
            fast=fast,
            source="feed",
            predicates=predicates,
            items=items,
        )
    )
    counts = (stats.lines, stats.blank, stats.invalid, stats.matched, stats.items_read,
              stats.items_selected, stats.bytes_read)  # fmt: skip
    return out, problems, counts


def assert_same(
    mask: Mask,
    lines: list[bytes],
    property_id: str | None = None,
    predicates: Predicates | None = None,
    items: bool = False,
) -> None:
    fast = run(mask, lines, True, property_id, predicates, items)
    assert fast == run(mask, lines, False, property_id, predicates, items)


_ids = st.sampled_from([*ROOM_TYPES, *RATE_PLANS, UNMENTIONED_ID]) | st.sampled_from(
    [RATE_PLANS[0].upper(), RATE_PLANS[0][:9] + RATE_PLANS[0][9:].upper(), None, 7]
)
_keys = st.sampled_from(["rate", "availability", "booked", "stop_sell", "min_stay", "other"])
_values = st.one_of(
    st.integers(-5, 10**30),
    st.sampled_from(["100.00", "1.50", None, True, 1.5, 1e300]),
    st.text(max_size=3),
)


@st.composite
def items(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 20)) == 0:
        return draw(st.sampled_from([1, "x", None, [], [1]]))  # not an object
    item: dict[str, Any] = {"date": draw(st.sampled_from(["2026-05-01", "2026-06-15", 5]))}
    for key in ("room_type_id", "rate_plan_id"):
        if draw(st.integers(0, 5)):
            item[key] = draw(_ids)
    for key in draw(st.lists(_keys, max_size=3)):
        item[key] = draw(_values)
    return item


@st.composite
def documents(draw: st.DrawFn) -> Any:
    event = draw(st.sampled_from(["ari", "ari", "ari", "booking_new", "message", "review", 5]))
    doc: dict[str, Any] = {"event": event}
    if draw(st.booleans()):
        doc["property_id"] = draw(st.sampled_from([*PROPERTIES, PROPERTIES[0].upper(), None, 3]))
    shape = draw(st.integers(0, 9))
    if shape < 6:
        doc["payload"] = draw(st.lists(items(), max_size=6))
    elif shape == 6:
        doc["payload"] = draw(st.sampled_from([None, {"booking_id": "b"}, 5, "x"]))
    elif shape == 7:
        doc["payload"] = {"revision_id": "R"}
    if draw(st.booleans()):
        doc["timestamp"] = draw(
            st.sampled_from(["2026-05-01T10:00:00.000000Z", "2026-04-30T23:59:59Z", "late", 7])
        )
    return doc


@st.composite
def lines(draw: st.DrawFn) -> bytes:
    """A line as a producer might write it: compact, spaced, escaped, or broken."""
    doc = draw(documents())
    style = draw(st.integers(0, 9))
    if style <= 4:
        line = msgspec.json.encode(doc)
    elif style == 5:
        line = json.dumps(doc).encode()  # spaces after separators
    elif style == 6:
        line = json.dumps(doc, ensure_ascii=True).replace("a", "\\u0061", 1).encode()
    elif style == 7:
        line = json.dumps(doc, ensure_ascii=False).encode() + " é".encode()
    elif style == 8:
        text = msgspec.json.encode(doc)
        cut = draw(st.integers(0, len(text)))
        line = text[:cut] + draw(st.sampled_from([b"", b"}", b"x", b"\xff", b"\\"])) + text[cut:]
    else:
        line = draw(st.sampled_from([b"", b"   ", b"[]", b"null", b'{"event": "ari"}']))
    return line + draw(st.sampled_from([b"\n", b"", b"\r\n", b" \n"]))


@settings(max_examples=400)
@given(st.sampled_from(MASKS), st.lists(lines(), max_size=8), st.sampled_from([None, *PROPERTIES]))
def test_fast_and_general_paths_agree(text: str, batch: list[bytes], scope: str | None) -> None:
    """On generated lines the fast path's outputs, errors and counts are the general path's."""
    assert_same(parse(text), batch, scope)


@settings(max_examples=300)
@given(
    st.sampled_from(MASKS),
    st.lists(lines(), max_size=8),
    st.sampled_from([None, *PROPERTIES]),
    st.sampled_from([None, Predicates.of(where=["rate>=1.00"]), Predicates.of(dates="2026-05-01")]),
)
def test_one_item_a_line_is_the_general_paths_with_the_lines_it_rules_out_counted_here(
    text: str, batch: list[bytes], scope: str | None, predicates: Predicates | None
) -> None:
    """``--items``: the fast path only rules lines out (`ScreenLine`); what it writes and
    counts is still the general path's."""
    assert_same(parse(text), batch, scope, predicates, items=True)


def test_one_item_a_line_rules_out_from_the_bytes_and_leaves_the_rest() -> None:
    screen = fast_path(parse(f"ari:rate:*:{RATE_PLANS[0]}"), None, Catalogue.default(), items=True)
    assert screen is not None
    other = f'{{"event":"ari","payload":[{{"rate_plan_id":"{RATE_PLANS[1]}","rate":1}}]}}'
    assert screen(other.encode()) == (None, 1, 0, False)
    assert screen(other.replace(RATE_PLANS[1], RATE_PLANS[0]).encode()) is None
    assert fast_path(parse("*"), None, Catalogue.default(), items=True) is None


# Predicates on the generated values: the fast path asks them of its typed items.
PREDICATES = [
    Predicates.of(where=["rate>=1.00"]),
    Predicates.of(where=["stop_sell=true", "availability<=3"]),
    Predicates.of(dates="2026-05-01"),
    Predicates.of(dates="2026-06-01..2026-06-30", where=["min_stay>0"]),
    Predicates.of(since=dt.datetime(2026, 5, 1, tzinfo=dt.UTC)),
    Predicates.of(until=dt.datetime(2026, 5, 1, tzinfo=dt.UTC), where=["booked!=0"]),
]


@settings(max_examples=400)
@given(
    st.sampled_from(MASKS),
    st.lists(lines(), max_size=8),
    st.sampled_from([None, *PROPERTIES]),
    st.sampled_from(PREDICATES),
)
@example(
    MASKS[4],
    [b'{"event":"ari","timestamp":"2026-04-30T23:59:59Z","payload":[{"min_stay":1}]}'],
    None,
    PREDICATES[4],
)
@example(
    MASKS[4],
    [b'{"event":"ari","payload":[{"date":"2026-05-01","min_stay":1},{"min_stay":2}]}'],
    None,
    PREDICATES[3],
)
@example(
    MASKS[0],
    [b'{"event":"ari","payload":[{"rate_plan_id":"%s","rate":5},{"rate_plan_id":"%s","rate":"1.00"}]}'
     % (RATE_PLANS[0].encode(), RATE_PLANS[0].encode())],
    None,
    PREDICATES[0],
)  # fmt: skip
def test_fast_and_general_paths_agree_with_predicates(
    text: str, batch: list[bytes], scope: str | None, asked: Predicates
) -> None:
    """With value, date and time predicates, too: the same outputs, errors and counts."""
    assert_same(parse(text), batch, scope, asked)


# Masks of many filters (`line_needs.GATE_FROM` on): a gate of all their ids, and the
# items asked only of the filters filed under their ids; the last has a filter that
# names no id, so it has no gate, and with item predicates that filter is asked of
# every item; the third has two filters of restrictions alone.
MANY_FILTERS = [MASKS[9], MASKS[10], MASKS[11]]


@settings(max_examples=300)
@given(
    st.sampled_from(MANY_FILTERS),
    st.lists(lines(), max_size=8),
    st.sampled_from([None, PREDICATES[2], PREDICATES[3]]),
)
@example(  # only the filter without ids can take these items
    MANY_FILTERS[1],
    [b'{"event":"ari","payload":[{"date":"2026-06-15","min_stay":1,"room_type_id":"%s"}]}'
     % UNMENTIONED_ID.encode()],
    None,
)  # fmt: skip
@example(
    MANY_FILTERS[1],
    [b'{"event":"ari","payload":[{"date":"2026-06-15","min_stay":1},{"min_stay":0}]}'],
    PREDICATES[3],
)
def test_many_filters_agree_with_the_general_path(
    text: str, batch: list[bytes], asked: Predicates | None
) -> None:
    assert_same(parse(text), batch, None, asked)


def test_each_value_predicate_asks_its_own_key() -> None:
    """Two --where comparisons written inline: each holds for its own key's value only."""
    asked = Predicates.of(where=["stop_sell=true", "availability<=3"])
    mask = parse("ari:stop_sell,availability:*:*")
    line = (
        b'{"event":"ari","payload":[{"stop_sell":true,"availability":0},'
        b'{"stop_sell":true,"availability":4},{"availability":0},{"stop_sell":1}]}'
    )
    out, problems, _ = run(mask, [line], True, None, asked)
    assert (out, problems) == (
        [b'{"event":"ari","payload":[{"stop_sell":true,"availability":0}]}'],
        [],
    )
    assert_same(mask, [line], None, asked)


ADVERSARIAL = [
    b'\xef\xbb\xbf{"event":"ari","payload":[]}',  # a byte order mark
    b'{"event":"ari","payload":[{"rate_plan_id":"'
    + RATE_PLANS[0].upper().encode()
    + b'","rate":1},{"rate":2}]}',  # upper-case ids
    b'{"event":"ari","payload":[{"rate_plan_id":"'
    + RATE_PLANS[0].encode()
    + b'","rate":1,"x":"\xff"}]}',  # invalid UTF-8 in a skipped field
    b'{"event":"ari","payload":[{"rate_plan_id":"'
    + RATE_PLANS[0].encode()
    + b'","rate":1,"rate":2},{"rate_plan_id":"x","rate":3}]}',  # duplicate keys
    b'{"event":"ari","payload":[{"rate_plan_id":"\\u0030'
    + RATE_PLANS[0][1:].encode()
    + b'","rate":1}]}',  # an escape hides the id
    b'{"event":"ari","payload":' + b"[" * 3000 + b"]" * 3000 + b"}",  # deep nesting
    b'{"event":"ari","payload":[{"rate_plan_id":"'
    + RATE_PLANS[0].encode()
    + b'","rate":123456789012345678901234567890},{"booked":1}]}',  # a 30-digit integer
    b'{"event":"ari","payload":[{"rate_plan_id":"'
    + RATE_PLANS[0].encode()
    + b'","rate":1e400}]}',  # out of a float's range
    b'{"event":"ari","payload":[1, 2]}',
    b'{"event":"ari","payload":"not a list"}',
    b'{"event":"ari","payload":null}',
    b'{"event":"ari"}',
    b'{"event":"ari","payload":[{"rate_plan_id":"'
    + RATE_PLANS[0].encode()
    + b'","rate":1}]}'
    + b"\x0b",  # whitespace that is not JSON's
    b'{"payload":[], "event": "ari"} ',
    b'{"event":"ari","payload":[{"rate_plan_id":"'
    + RATE_PLANS[0].encode()
    + b'", "rate" : 1.50}, {"booked": 2}]}',  # spaces and a number written its own way
    # Narrowed, with other values at the top level that must keep their bytes: a
    # list and an object written with spaces, numbers written their own way.
    *(
        b'{"event":"ari",%s,"payload":[{"rate_plan_id":"%s","rate":1},{"booked":2}]}'
        % (extra, RATE_PLANS[0].encode())
        for extra in (
            b'"tags": [ "a" , 1.50 ]',
            b'"meta": {"k" : [1]}',
            b'"n": 1.50',
            b'"n": -0',
            b'"n": 12345678901234567890123',
            b'"user_id": null, "ok": true',
            b'"payload": "first", "x": []',
        )
    ),
]


@pytest.mark.parametrize("line", ADVERSARIAL)
@pytest.mark.parametrize("text", MASKS[:3])
def test_adversarial_lines(text: str, line: bytes) -> None:
    """The edge cases the fast path must leave to the general path, or get right."""
    assert_same(parse(text), [line + b"\n"])


def test_the_fast_path_answers_the_common_lines() -> None:
    """It is not vacuous: plain ARI lines, matching or not, are answered by the fast path."""
    mask = parse(f"ari:rate:*:{RATE_PLANS[0]}")
    fast = fast_path(mask, None, Catalogue.default())
    assert fast is not None
    hit = b'{"event":"ari","payload":[{"rate_plan_id":"' + RATE_PLANS[0].encode() + b'","rate":1}'
    hit += b',{"rate_plan_id":"x","rate":2}]}'
    miss = b'{"event":"ari","payload":[{"rate_plan_id":"y","rate":2}]}'
    assert fast(hit) == (
        b'{"event":"ari","payload":[{"rate_plan_id":"' + RATE_PLANS[0].encode() + b'","rate":1}]}',
        2,
        1,
        True,
    )
    assert fast(miss) == (None, 1, 0, False)
    assert fast(b'{"event":"booking_new","payload":{}}') == (None, 0, 0, False)


def test_a_mask_of_keys_and_ids_selects_the_items_of_each_filter() -> None:
    """The keys take the `rate` items, and the room type's test the items it alone
    selects, in the payload's order, as the general path does."""
    text = f"ari:rate:*:*;ari:availability:{ROOM_TYPES[1]}:*"
    fast = fast_path(parse(text), None, Catalogue.default())
    assert fast is not None
    room = b'{"availability":1,"room_type_id":"' + ROOM_TYPES[1].upper().encode() + b'"}'
    line = b'{"event":"ari","payload":[' + room + b',{"booked":3},{"rate":2},{"availability":4}]}'
    narrowed = b'{"event":"ari","payload":[' + room + b',{"rate":2}]}'
    assert fast(line) == (narrowed, 4, 2, True)
    assert_same(parse(text), [line], None)


@pytest.mark.parametrize("text", MASKS[:6])
def test_repeated_keys_mean_what_the_general_path_says(text: str) -> None:
    """A key given twice counts once, the last (as JSON decoders read it): the envelope
    and the items are read in one typed decode, which must agree."""
    rp, rt = RATE_PLANS[0], ROOM_TYPES[1]
    items = b'[{"rate_plan_id":"%s","room_type_id":"%s","rate":1,"availability":2}]' % (
        rp.encode(), rt.encode())  # fmt: skip
    lines = [
        b'{"event":"ari","payload":' + items + b',"payload":null}',
        b'{"event":"ari","payload":null,"payload":' + items + b"}",
        b'{"event":"booking_new","event":"ari","payload":' + items + b"}",
        b'{"event":"ari","payload":5,"payload":' + items + b"}",
        b'{"event":"ari","property_id":"x","property_id":"%s","payload":' % PROPERTIES[0].encode()
        + items
        + b"}",
    ]
    for scope in (None, PROPERTIES[0]):
        assert_same(parse(text), lines, scope)


def test_lines_of_other_properties_are_answered_by_the_fast_path() -> None:
    """Under --property, a line of another property is ruled out by its bytes and counted,
    not handed to the general path (which would decode it whole)."""
    fast = fast_path(parse("ari:stop_sell:*:*"), PROPERTIES[0].upper(), Catalogue.default())
    assert fast is not None
    line = b'{"event":"ari","property_id":"%s","payload":[{"stop_sell":true},{"rate":2}]}'
    assert fast(line % PROPERTIES[1].encode()) == (None, 2, 0, False)
    mine = PROPERTIES[0].encode()
    narrowed = b'{"event":"ari","property_id":"%s","payload":[{"stop_sell":true}]}' % mine
    assert fast(line % mine) == (narrowed, 2, 1, True)


def test_narrowed_lines_keep_numbers_as_sent() -> None:
    """A 30-digit integer and `1.50` come out as they came, in both paths."""
    line = (
        b'{"event":"ari","payload":[{"rate_plan_id":"' + RATE_PLANS[0].encode()
        + b'","rate":1.50,"big":123456789012345678901234567890},{"booked":1}]}'
    )  # fmt: skip
    for fast in (True, False):
        (out,), _, _ = run(parse(f"ari:rate:*:{RATE_PLANS[0]}"), [line], fast)
        assert b'"rate":1.50,"big":123456789012345678901234567890' in out


def test_masks_the_fast_path_leaves_alone() -> None:
    """`*`, plain `ari` and pure event masks take notifications whole: their path only
    checks lines; given predicates, they go to the general path."""
    catalogue = Catalogue.default()
    for text in ("*", "ari", "booking;message", "ari;booking"):
        assert isinstance(fast_path(parse(text), None, catalogue), WholeLine)
        assert fast_path(parse(text), None, catalogue, Predicates.of(dates="2026-06-01")) is None
    assert isinstance(fast_path(parse("ari:rate:*:*;booking"), None, catalogue), FastLine)
    with pytest.raises(InputError):
        list(filter_lines(parse("ari"), [b"{"]))
