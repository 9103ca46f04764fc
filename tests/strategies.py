"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from eventmask import AriFilter, EventItem, Item, Mask, Wildcard
from eventmask._catalogue import DEFAULT_EVENTS, DEFAULT_RESTRICTIONS
from eventmask._language.grammar import parser

EVENTS = [e for e in DEFAULT_EVENTS if e != "ari"]
RESTRICTIONS = list(DEFAULT_RESTRICTIONS)
# A small id pool makes collisions (and so covering and overlap) common.
ROOM_TYPES = [f"{i:08x}-0000-4000-8000-00000000000{i}" for i in range(1, 4)]
RATE_PLANS = [f"{i:08x}-1111-4000-8000-00000000000{i}" for i in range(1, 4)]


def _dim(values: list[str]) -> st.SearchStrategy[frozenset[str] | None]:
    return st.none() | st.frozensets(st.sampled_from(values), min_size=1, max_size=len(values))


ari_filters: st.SearchStrategy[AriFilter] = st.builds(
    AriFilter,
    restrictions=_dim(RESTRICTIONS[:4]),
    room_type_ids=_dim(ROOM_TYPES),
    rate_plan_ids=_dim(RATE_PLANS),
)
event_items: st.SearchStrategy[EventItem] = st.builds(EventItem, st.sampled_from(EVENTS[:8]))
items: st.SearchStrategy[Item] = st.one_of(event_items, ari_filters, st.just(Wildcard()))
masks: st.SearchStrategy[Mask] = st.builds(
    lambda xs: Mask(tuple(xs)),
    st.lists(st.one_of(event_items, ari_filters), min_size=1, max_size=4),
) | st.just(Mask((Wildcard(),)))


def _render_segment(values: frozenset[str] | None, draw: st.DrawFn, upper: bool) -> str:
    if values is None:
        return "*"
    ordered = draw(st.permutations(sorted(values)))
    return ",".join(v.upper() if upper and draw(st.booleans()) else v for v in ordered)


@st.composite
def mask_texts(draw: st.DrawFn, mask_strategy: st.SearchStrategy[Mask] = masks) -> tuple[Mask, str]:
    """A mask and a strictly valid, non-canonical spelling of it.

    Items are shuffled and list values permuted; UUIDs may be upper case.
    """
    mask = draw(mask_strategy)
    parts: list[str] = []
    for item in draw(st.permutations(list(mask.items))):
        if isinstance(item, AriFilter) and not item.is_all:
            parts.append(
                "ari:"
                + ":".join(
                    [
                        _render_segment(item.restrictions, draw, upper=False),
                        _render_segment(item.room_type_ids, draw, upper=True),
                        _render_segment(item.rate_plan_ids, draw, upper=True),
                    ]
                )
            )
        elif isinstance(item, AriFilter) and draw(st.booleans()):
            parts.append("ari:*:*:*")
        else:
            parts.append(str(item))
    return mask, ";".join(parts)


# -- notifications -------------------------------------------------------------------

PROPERTIES = ["aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"]
UNMENTIONED_ID = "ffffffff-ffff-4fff-8fff-ffffffffffff"


def _id_value(pool: list[str]) -> st.SearchStrategy[object]:
    known = st.sampled_from([*pool, UNMENTIONED_ID])
    return st.one_of(known, known.map(str.upper), st.none(), st.just(7))


@st.composite
def ari_items(draw: st.DrawFn) -> dict[str, object]:
    """A sparse ARI item: some restriction keys, ids that may be null, absent or odd."""
    item: dict[str, object] = {"date": "2026-03-01"}
    if draw(st.booleans()):
        item["room_type_id"] = draw(_id_value(ROOM_TYPES))
    if draw(st.booleans()):
        item["rate_plan_id"] = draw(_id_value(RATE_PLANS))
    for key in draw(st.lists(st.sampled_from([*RESTRICTIONS[:5], "mystery_key"]), max_size=3)):
        item[key] = draw(st.integers(0, 5) | st.none())
    return item


@st.composite
def notifications(draw: st.DrawFn) -> dict[str, object]:
    """A notification as Channex could send it, ARI or not, scoped or not."""
    event = draw(st.sampled_from(["ari", "ari", "ari", *EVENTS[:8], "disconnected_channel", "x"]))
    doc: dict[str, object] = {"event": event}
    prop = draw(st.sampled_from([*PROPERTIES, PROPERTIES[0].upper(), None]))
    if prop is not None:
        doc["property_id"] = prop
    if event == "ari":
        shape = draw(st.sampled_from(["items", "items", "items", "empty", "signal"]))
        if shape == "items":
            doc["payload"] = draw(st.lists(ari_items(), min_size=1, max_size=8))
        elif shape == "empty":
            doc["payload"] = []
    elif draw(st.booleans()):
        doc["payload"] = {"booking_id": "b"}
    return doc


def grammar_strings() -> st.SearchStrategy[str]:
    """Strings the grammar generates, from catalogue names, odd names and ids."""
    lark = parser()
    names = st.sampled_from([*DEFAULT_EVENTS, *DEFAULT_RESTRICTIONS, "Booking", "unknown_x"])
    uuids = st.sampled_from([*ROOM_TYPES, *RATE_PLANS, RATE_PLANS[0].upper()])
    return from_lark(lark, start="mask", explicit={"NAME": names | uuids})
