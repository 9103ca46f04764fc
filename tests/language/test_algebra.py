"""Tests of the mask algebra (docs/algebra.md, "Set relations") against a brute-force oracle."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given, settings

from eventmask import AriFilter, EventItem, Mask, overlap_example, parse
from eventmask._language import algebra

from ..strategies import masks

UNMENTIONED_ROOM = "eeeeeeee-0000-4000-8000-000000000000"
UNMENTIONED_RATE = "eeeeeeee-1111-4000-8000-000000000000"
UNMENTIONED_KEY = "unmentioned_key"
UNMENTIONED_EVENT = "unmentioned_event"
ABSENT = object()


def _mentioned(*ms: Mask) -> tuple[set[str], set[str], set[str], set[str]]:
    events, names, rooms, rates = set(), set(), set(), set()
    for m in ms:
        for item in m.items:
            if isinstance(item, EventItem):
                events.add(item.name)
            elif isinstance(item, AriFilter):
                names |= item.restrictions or set()
                rooms |= item.room_type_ids or set()
                rates |= item.rate_plan_ids or set()
    return events, names, rooms, rates


def universe(*ms: Mask) -> list[dict[str, Any]]:
    """Single-item notifications over every mentioned value plus one unmentioned per dimension."""
    events, names, rooms, rates = _mentioned(*ms)
    docs: list[dict[str, Any]] = [
        {"event": e, "payload": {"x": 1}} for e in sorted(events | {UNMENTIONED_EVENT, "booking"})
    ]
    docs += [{"event": "ari", "payload": []}, {"event": "ari"}]
    keys = sorted(names | {UNMENTIONED_KEY})
    keysets = [(), *((k,) for k in keys), *itertools.combinations(keys, 2)]
    for room in [*sorted(rooms), UNMENTIONED_ROOM, None, ABSENT]:
        for rate in [*sorted(rates), UNMENTIONED_RATE, None, ABSENT]:
            for keyset in keysets:
                item: dict[str, Any] = {"date": "2026-01-01"}
                if room is not ABSENT:
                    item["room_type_id"] = room
                if rate is not ABSENT:
                    item["rate_plan_id"] = rate
                item.update(dict.fromkeys(keyset, 1))
                docs.append({"event": "ari", "payload": [item]})
    return docs


def _carries_data(doc: dict[str, Any]) -> bool:
    return doc.get("payload") not in (None, [])


def brute_covers(a: Mask, b: Mask, docs: list[dict[str, Any]]) -> bool:
    for doc in docs:
        if b.matches(doc):
            if not a.matches(doc):
                return False
            if any(item not in a.select(doc) for item in b.select(doc)):
                return False
    return True


def brute_overlaps(a: Mask, b: Mask, docs: list[dict[str, Any]]) -> bool:
    for doc in docs:
        if not _carries_data(doc) or not (a.matches(doc) and b.matches(doc)):
            continue
        if doc["event"] != "ari" or (a.select(doc) and b.select(doc)):
            return True
    return False


# -- worked examples ---------------------------------------------------------------

RT = "27e24739-239c-4619-9c30-0dc390f5d7ac"
RP = "96a44e07-2158-43e4-8baa-8f6f56922ba8"


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("ari:rate:*:*;ari:availability:*:*", "ari:availability,rate:*:*", True),
        ("ari:availability,rate:*:*", "ari:rate:*:*;ari:availability:*:*", True),
        ("*", "booking;ari", True),
        ("booking;message;ari", "*", False),
        ("ari", f"ari:rate:*:{RP}", True),
        (f"ari:rate:*:{RP}", "ari", False),
        ("ari:*:*:*", "ari:rate:*:*", True),
        ("ari:rate,availability,booked:*:*", "ari:*:*:*", False),
        (f"ari:*:{RT}:*", f"ari:rate:{RT}:{RP}", True),
        (f"ari:rate:{RT}:*", f"ari:rate:*:{RP}", False),
        ("booking_new;booking_modification;booking_cancellation", "booking_new", True),
        ("booking", "booking_new", False),
        ("disconnected_channel", "disconnect_channel", True),
        ("booking", "ari:rate:*:*", False),
        (f"ari:rate:{RT}:*;ari:rate:*:*", f"ari:rate:{RT}:{RP}", True),
    ],
)
def test_covers_examples(a: str, b: str, expected: bool) -> None:
    """Worked examples from masks integrators register."""
    ma, mb = parse(a), parse(b)
    assert ma.covers(mb) is expected
    assert brute_covers(ma, mb, universe(ma, mb)) is expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("ari:rate:*:*", "ari:availability:*:*", True),  # an item may carry both keys
        (f"ari:rate:{RT}:*", "ari:rate:*:*", True),
        (f"ari:rate:{RT}:*", f"ari:rate:{RP}:*", False),
        ("booking;message", "message;review", True),
        ("booking", "booking_new", False),
        ("*", "review", True),
        ("booking", "ari", False),
    ],
)
def test_overlaps_examples(a: str, b: str, expected: bool) -> None:
    """Worked overlap examples, with a witness that both masks really select."""
    ma, mb = parse(a), parse(b)
    assert ma.overlaps(mb) is expected
    assert brute_overlaps(ma, mb, universe(ma, mb)) is expected
    witness = overlap_example(ma, mb)
    assert (witness is not None) is expected
    if witness is not None:
        assert ma.matches(witness)
        assert mb.matches(witness)
        if witness["event"] == "ari":
            assert ma.select(witness) == mb.select(witness) == witness["payload"]


def test_union_and_intersection_examples() -> None:
    """| merges and minimizes; & keeps the common part, or None."""
    assert str(parse("ari:rate:*:*") | parse("ari:availability:*:*")) == (
        "ari:availability,rate:*:*"
    )
    assert str(parse("booking;ari:rate:*:*") | parse("ari")) == "ari;booking"
    assert str(parse(f"ari:rate:{RT}:*") | parse("ari:rate:*:*")) == "ari:rate:*:*"
    assert str(parse("booking;ari:rate,booked:*:*") & parse("ari:rate:*:*;message")) == (
        "ari:rate:*:*"
    )
    assert parse("booking") & parse("message") is None
    assert str(parse("*") & parse("booking")) == "booking"
    # Common items exist (they carry both keys) but no mask can say "both keys".
    assert parse("ari:rate:*:*") & parse("ari:availability:*:*") is None
    assert parse("ari:rate:*:*").overlaps(parse("ari:availability:*:*"))


# -- the oracle ------------------------------------------------------------------------


@settings(max_examples=300)
@given(masks, masks)
def test_covers_and_overlaps_agree_with_brute_force(a: Mask, b: Mask) -> None:
    """covers and overlaps equal explicit evaluation over the finite universe."""
    docs = universe(a, b)
    assert algebra.covers(a.items, b.items) == brute_covers(a, b, docs)
    assert algebra.covers(b.items, a.items) == brute_covers(b, a, docs)
    assert algebra.overlaps(a.items, b.items) == brute_overlaps(a, b, docs)


def _candidate_filters(*ms: Mask) -> list[AriFilter]:
    _, names, rooms, rates = _mentioned(*ms)
    restriction_sets = [None, *(frozenset({n}) for n in names)]
    room_sets = [None, *(frozenset({r}) for r in rooms)]
    rate_sets = [None, *(frozenset({r}) for r in rates)]
    return [AriFilter(r, rt, rp) for r in restriction_sets for rt in room_sets for rp in rate_sets]


@settings(max_examples=150)
@given(masks, masks)
def test_intersection_is_the_largest_common_mask(a: Mask, b: Mask) -> None:
    """a & b selects only what both select, and contains every single item both cover."""
    docs = universe(a, b)
    meet = a & b
    if meet is not None:
        assert brute_covers(a, meet, docs)
        assert brute_covers(b, meet, docs)
    events, _, _, _ = _mentioned(a, b)
    candidates: list[Mask] = [Mask((EventItem(e),)) for e in events]
    candidates += [Mask((f,)) for f in _candidate_filters(a, b)]
    for candidate in candidates:
        if brute_covers(a, candidate, docs) and brute_covers(b, candidate, docs):
            assert meet is not None, candidate
            assert brute_covers(meet, candidate, docs), candidate


# -- laws ------------------------------------------------------------------------------


@given(masks)
def test_covers_is_reflexive(a: Mask) -> None:
    """Every mask covers itself and is equivalent to itself."""
    assert a.covers(a)
    assert a.equivalent(a)


@settings(max_examples=300)
@given(masks, masks, masks)
def test_covers_is_transitive(a: Mask, b: Mask, c: Mask) -> None:
    """a covers b and b covers c imply a covers c."""
    if a.covers(b) and b.covers(c):
        assert a.covers(c)


@given(masks, masks)
def test_overlaps_is_symmetric(a: Mask, b: Mask) -> None:
    """overlaps does not depend on the order of its arguments."""
    assert a.overlaps(b) == b.overlaps(a)


@given(masks, masks)
def test_union_covers_both_and_is_canonical(a: Mask, b: Mask) -> None:
    """a | b covers a and b, is covered by anything covering both, and round-trips."""
    joined = a | b
    assert joined.covers(a)
    assert joined.covers(b)
    assert joined.equivalent(Mask(a.items + b.items))
    assert parse(str(joined)) == joined


@given(masks, masks)
def test_intersection_is_covered_by_both(a: Mask, b: Mask) -> None:
    """a & b, when it exists, is covered by a and by b and overlaps both."""
    meet = a & b
    if meet is not None:
        assert a.covers(meet)
        assert b.covers(meet)
        assert a.overlaps(b)


@given(masks, masks)
def test_equivalent_is_mutual_cover(a: Mask, b: Mask) -> None:
    """equivalent holds exactly when each covers the other; equal masks are equivalent."""
    assert a.equivalent(b) == (a.covers(b) and b.covers(a))
    if a == b:
        assert str(a) == str(b)
        assert a.equivalent(b)


def test_long_id_lists_do_not_blow_up() -> None:
    """500 ids per segment: covers and overlaps stay fast (id classes, not id products)."""
    import time

    rooms = [f"{i:08x}-aaaa-4000-8000-000000000000" for i in range(500)]
    rates = [f"{i:08x}-bbbb-4000-8000-000000000000" for i in range(500)]
    a = parse(f"ari:rate,availability:{','.join(rooms)}:{','.join(rates)}")
    b = Mask(
        (
            *(AriFilter({"rate"}, {r}, rates[:250]) for r in rooms[:20]),
            AriFilter({"availability"}, rooms[:50], None),
        )
    )
    started = time.perf_counter()
    assert a.covers(parse(f"ari:rate:{rooms[3]}:{rates[7]}"))
    assert not b.covers(a)
    assert a.overlaps(b)
    assert time.perf_counter() - started < 5


@settings(max_examples=200)
@given(masks, masks)
def test_uncovered_example_is_a_real_counterexample(a: Mask, b: Mask) -> None:
    """When a does not cover b, the example is delivered by b and missed by a; else None."""
    from eventmask import uncovered_example

    example = uncovered_example(a, b)
    if a.covers(b):
        assert example is None
        return
    assert example is not None
    assert b.matches(example)
    missed = not a.matches(example) or any(
        item not in a.select(example) for item in b.select(example)
    )
    assert missed
