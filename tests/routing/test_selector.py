"""`PropertySelector`: which routes of a property select which ARI items, against the reference."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventmask import AriFilter, Mask, NotificationError, parse
from eventmask._routing import selector as selector_module
from eventmask._routing.selector import PropertySelector, SelectorRoute

from ..strategies import RATE_PLANS, RESTRICTIONS, ROOM_TYPES, ari_filters, ari_items

RT, RP = ROOM_TYPES, RATE_PLANS


def selector_of(*masks: str) -> tuple[PropertySelector, list[SelectorRoute]]:
    routes = []
    for position, text in enumerate(masks):
        filters = tuple(i for i in parse(text).items if isinstance(i, AriFilter))
        takes_all = any(f.is_all for f in filters)
        routes.append(SelectorRoute(position, takes_all, () if takes_all else filters))
    return PropertySelector(routes), routes


def reference(routes: list[SelectorRoute], payload: list[Any]) -> list[tuple[int, tuple[Any, ...]]]:
    """What each route should select, by the reference matcher: the oracle.

    A route that takes every item (`ari`) matches even an empty payload.
    """
    doc = {"event": "ari", "payload": payload}
    found = []
    for route in sorted(routes):
        if route.takes_all:
            found.append((route.position, tuple(payload)))
        elif selected := Mask(route.filters).select(doc):
            found.append((route.position, tuple(selected)))
    return found


def item(**fields: Any) -> dict[str, Any]:
    return {"date": "2026-03-01", "room_type_id": RT[0], "rate_plan_id": RP[0], **fields}


# -- the rules, one by one ---------------------------------------------------------------


def test_an_item_carrying_several_keys_of_one_filter_is_selected_once() -> None:
    """A filter's keys are one test however many of them an item carries."""
    selector, _ = selector_of(
        "ari:availability,booked:*:*", f"ari:rate,booked,stop_sell,max_stay:*:{RP[0]}"
    )
    one = item(availability=1, booked=2, rate=3, stop_sell=True, max_stay=4)
    other = item(booked=2, max_stay=4)
    assert selector.select([one, other]) == [(0, (one, other)), (1, (one, other))]


def test_the_same_item_object_twice_is_selected_twice() -> None:
    selector, _ = selector_of(f"ari:availability,booked,stop_sell:{RT[0]}:*")
    twice = item(availability=1, booked=2, stop_sell=False)
    assert selector.select([twice, twice]) == [(0, (twice, twice))]


def test_a_pair_with_many_routes_is_decided_by_its_key_names() -> None:
    """Over TEST_LIMIT tests, an entry remembers the slots of each pattern of key names."""
    masks = [f"ari:{r}:*:*" for r in RESTRICTIONS[:8]]
    masks += ["ari:rate,booked,stop_sell:*:*", f"ari:rate:*:{RP[0]}", f"ari:booked:{RT[1]}:*"]
    masks += [f"ari:{','.join(RESTRICTIONS[:3])}:*:*"]
    selector, routes = selector_of(*masks)
    one, other = item(rate=1, booked=2), item(stop_sell=True)
    elsewhere = item(booked=1, room_type_id=RT[1], rate_plan_id=RP[1])
    payload = [one, other, one, item(rate=3, booked=4), elsewhere, other]
    assert selector.select(payload) == reference(routes, payload)
    assert selector.select(payload) == reference(routes, payload)  # now from the patterns
    take = selector._resolve(RT[0], RP[0])[1]
    assert take.__name__ == "take_by_pattern"  # more than TEST_LIMIT tests: patterns


def test_a_rate_plan_sent_with_another_room_type_is_resolved_again() -> None:
    """Entries are remembered by rate plan; the room type is compared on every item."""
    selector, _ = selector_of(f"ari:rate:{RT[0]}:*")
    here, there = item(rate=1), item(rate=1, room_type_id=RT[1])
    assert selector.select([here, there, here]) == [(0, (here, here))]
    assert selector.select([there]) == []


def test_a_payload_of_more_pairs_than_a_selector_remembers_is_selected_in_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past `MEMO_LIMIT` pairs a selector starts again, in the middle of a payload: the
    entries of that payload's items are made again as they come."""
    monkeypatch.setattr(selector_module, "MEMO_LIMIT", 4)
    selector, routes = selector_of("ari:rate:*:*", f"ari:booked:*:{RP[0]}")
    payload = [item(rate=n, booked=n, rate_plan_id=f"rate plan {n}") for n in range(10)]
    payload.append(item(booked=1))
    for _ in range(2):
        assert selector.select(payload) == reference(routes, payload)
    assert len(selector._pairs) <= 4


def test_items_without_an_id_and_odd_ids_take_the_slower_paths() -> None:
    selector, _ = selector_of(f"ari:availability:{RT[0]}:*", "ari:rate:*:*")
    no_rate = {"date": "2026-03-01", "room_type_id": RT[0], "availability": 1}
    odd = {"date": "2026-03-01", "room_type_id": [RT[0]], "rate_plan_id": 7, "rate": 1}
    upper = item(availability=1, room_type_id=RT[0].upper())
    assert selector.select([no_rate, odd, upper]) == [(0, (no_rate, upper)), (1, (odd,))]


def test_routes_that_name_no_id_select_in_one_pass_per_route() -> None:
    selector, routes = selector_of("ari:rate:*:*", "ari:availability,booked:*:*", "ari")
    payload = [item(rate=1), item(booked=1), item(availability=1, booked=2), {"date": "x"}]
    assert selector.select(payload) == reference(routes, payload)


def test_a_bad_item_is_named_on_every_path() -> None:
    for masks in (("ari:rate:*:*",), (f"ari:rate:*:{RP[0]}",), ("ari", "ari:rate:*:*")):
        selector, _ = selector_of(*masks)
        with pytest.raises(NotificationError) as caught:
            selector.select([item(rate=1), "not an item"])
        assert caught.value.path == "$.payload[1]"


# -- the oracle ------------------------------------------------------------------------------

# Filters name one to four keys; a shared pool of item objects repeats the
# same object within and across payloads.
filter_lists = st.lists(
    st.lists(ari_filters, min_size=1, max_size=3).map(tuple), min_size=1, max_size=8
)


@settings(max_examples=400)
@given(filter_lists, st.lists(ari_items(), min_size=1, max_size=6), st.data())
def test_plan_agrees_with_reference(
    filters: list[tuple[AriFilter, ...]], pool: list[dict[str, object]], data: st.DataObject
) -> None:
    """Fresh and remembered entries, repeated objects, ids absent, null, odd or upper-case."""
    routes = [
        SelectorRoute(position, all(f.is_all for f in fs), tuple(f for f in fs if not f.is_all))
        for position, fs in enumerate(filters)
    ]
    selector = PropertySelector(routes)
    for _ in range(3):  # the later payloads meet the entries the earlier ones made
        payload = data.draw(st.lists(st.sampled_from(pool), max_size=12))
        assert selector.select(payload) == reference(routes, payload)


@settings(max_examples=200)
@given(
    st.lists(
        st.builds(
            AriFilter, restrictions=st.frozensets(st.sampled_from(RESTRICTIONS[:5]), min_size=1)
        ),
        min_size=1,
        max_size=6,
    ),
    st.lists(ari_items(), max_size=12),
)
def test_plan_without_ids_agrees_with_reference(
    filters: list[AriFilter], payload: list[dict[str, object]]
) -> None:
    """When no filter names an id, one entry serves every item (one pass per route)."""
    routes = [SelectorRoute(position, False, (f,)) for position, f in enumerate(filters)]
    assert PropertySelector(routes).select(payload) == reference(routes, payload)


def test_an_entry_made_meanwhile_by_another_thread_is_taken() -> None:
    """An entry another thread makes mid-payload is taken as it is."""
    selector, routes = selector_of(f"ari:rate,booked,stop_sell:*:{RP[1]}", "ari:rate:*:*")
    later = item(rate_plan_id=RP[1], stop_sell=True)

    class Interleaved(dict[str, Any]):
        """An item that lets 'another thread' select while it is being read."""

        def __getitem__(self, key: str) -> Any:
            if key == "rate_plan_id":
                selector.select([later])  # makes the entry of RP[1]
            return super().__getitem__(key)

    selector.select([item(rate=1)])  # the first item's entry is remembered: no miss, no rebinding
    first = Interleaved(item(rate=1))
    payload = [first, later]
    assert selector.select(payload) == reference(routes, payload)
