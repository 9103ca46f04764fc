"""What a line must hold: the byte pre-check, held to an oracle that decodes the line."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from eventmask import parse
from eventmask._routing.line_needs import GATE_FROM, Ids, Names, gate_of

KEY = "rate_plan_id"
_id_text = st.text(alphabet="abcdefABCDEF0123456789-x", min_size=1, max_size=12)
# JSON's whitespace, where it may stand around a colon.
_space = st.sampled_from(["", " ", "\t", "\r\n  "])


def values_of(doc: Any, key: str) -> list[Any]:
    """Every value `key` has anywhere in `doc`, duplicates included."""
    found: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, list) and node and isinstance(node[0], tuple):  # an object's pairs
            for k, v in node:
                if k == key:
                    found.append(v)
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)
    return found


# Ids no line holds ('p' is not in `_id_text`), to search for more than
# `Ids.ALTERNATION_UP_TO` of them.
PADDING = [f"{n:08x}-pad" for n in range(Ids.ALTERNATION_UP_TO)]


@settings(max_examples=400)
@given(
    st.lists(_id_text, min_size=1, max_size=14),
    st.lists(st.tuples(st.sampled_from([KEY, "room_type_id", "id"]), _id_text), max_size=6),
    st.data(),
    st.booleans(),
)
@example(["ab12-34cd"], [(KEY, "AB12-34CD")], None, False)
@example(["ab12-34cd"], [(KEY, "AB12-34CD")], None, True)
@example(["ab12-34cd"], [("id", "ab12-34cd")], None, False)  # under another key: no
def test_an_id_search_finds_the_key_holding_an_id_in_any_case_and_nothing_else(
    ids: list[str], pairs: list[tuple[str, str]], data: st.DataObject | None, many: bool
) -> None:
    """The oracle: the decoded line has `KEY` with one of the ids (in any case) as a value."""
    searched = ids + PADDING if many else ids
    items = []
    for key, value in pairs:
        if data is not None:
            value = data.draw(st.sampled_from([value, value.upper(), value.swapcase()]))
            if data.draw(st.booleans()):
                value = data.draw(st.sampled_from(ids))  # often one of the ids
            before, after = data.draw(_space), data.draw(_space)
        else:
            before = after = ""
        items.append(f'{{"date":"2026-01-01",{json.dumps(key)}{before}:{after}"{value}"}}')
    line = ('{"event":"ari","payload":[' + ",".join(items) + "]}").encode()
    doc = json.loads(line, object_pairs_hook=list)
    expected = any(v.lower() in {i.lower() for i in ids} for v in values_of(doc, KEY))
    assert Ids([i.lower() for i in searched], KEY).found(line) == expected


ROOM, RATE = "abcdef01-0000-4000-8000-000000000001", "fedcba01-1111-4b00-8e00-0000000000a1"


def test_a_gate_asks_each_filter_by_its_rate_plans_or_else_its_room_types() -> None:
    mask = parse(f"ari:rate:{ROOM}:*;ari:availability:*:{RATE};ari:booked:{ROOM}:{RATE}")
    gate = gate_of(mask.items)
    assert gate is not None
    assert len(mask.items) == GATE_FROM
    for key, held in (("rate_plan_id", RATE), ("room_type_id", ROOM)):
        line = f'{{"event":"ari","payload":[{{"{key}":"{held.upper()}"}}]}}'.encode()
        assert [ids.found(line) for ids in gate].count(True) == 1
    other = b'{"event":"ari","payload":[{"rate_plan_id":"x","room_type_id":"y"}]}'
    assert not any(ids.found(other) for ids in gate)


def test_no_gate_when_a_filter_names_no_id_or_the_filters_are_few() -> None:
    assert gate_of(parse(f"ari:rate:{ROOM}:*;ari:min_stay:*:*;ari:booked:*:{RATE}").items) is None
    assert gate_of(parse(f"ari:rate:{ROOM}:*;ari:booked:*:{RATE}").items) is None


# Names that are prefixes of each other, and of other keys, as restriction names are.
NAMES = ["rate", "rate_plan_id", "min_stay", "min_stay_arrival", "stop_sell", "ari", "x.y"]
_fragment = st.sampled_from([*(f'"{n}"' for n in NAMES), *NAMES, '"RATE"', '"rate ', ":", ","])


@settings(max_examples=400)
@given(
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=len(NAMES), unique=True),
    st.lists(_fragment, max_size=8),
)
@example(["rate", "min_stay", "stop_sell"], ['"rate_plan_id"', '"min_stay_arrival"', '"x-y"'])
@example(["x.y", "ari", "rate"], ['"xzy"'])  # a name's dot is a dot, not any byte
def test_a_names_search_finds_a_quoted_name_exactly_and_nothing_else(
    names: list[str], fragments: list[str]
) -> None:
    """The oracle: one of the names stands in the line between quotes.  Three names or
    more are one expression (`Names.LOOPED_UP_TO`), fewer are looked for in turn; both
    are drawn."""
    line = "".join(fragments).encode()
    expected = any(f'"{name}"' in "".join(fragments) for name in names)
    assert Names(names).found(line) == expected
