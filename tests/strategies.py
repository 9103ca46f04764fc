"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from eventmask import AriFilter, EventItem, Item, Mask, Wildcard
from eventmask._catalogue import DEFAULT_EVENTS, DEFAULT_RESTRICTIONS

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
