"""The matching semantics of docs/routing.md ("Matching"), written to be obviously correct.

This is the reference matcher: one mask, one notification, item by item, no
cleverness.  `Mask.matches` and `Mask.select` use it, the compiled router is
tested against it, and `explain` reuses its per-item verdicts.  Every
function takes the catalogue in use, whose `Catalogue.resolve` is the one
alias resolution.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .._catalogue import ARI, Catalogue
from .._envelope import NotificationInput, ari_items, load
from .items import AriFilter, EventItem, Item, Wildcard, is_wildcard

__all__ = [
    "ItemVerdict",
    "MaskExplanation",
    "explain_mask",
    "filter_selects",
    "reference_matches",
    "reference_select",
]


def _lower(value: object) -> str | None:
    return value.lower() if isinstance(value, str) else None


def rejection(f: AriFilter, item: Mapping[str, Any]) -> str | None:
    """Why filter `f` does not select `item` (None when it does).

    The reason names the first failing part: restriction, room type or rate plan.

    >>> rejection(AriFilter(restrictions={"rate"}), {"booked": 1})
    'restriction: the item carries none of rate'
    """
    if f.restrictions is not None and not any(key in item for key in f.restrictions):
        return "restriction: the item carries none of " + ",".join(sorted(f.restrictions))
    if f.room_type_ids is not None and _lower(item.get("room_type_id")) not in f.room_type_ids:
        return f"room type: {item.get('room_type_id')!r} is not in the filter"
    if f.rate_plan_ids is not None and _lower(item.get("rate_plan_id")) not in f.rate_plan_ids:
        return f"rate plan: {item.get('rate_plan_id')!r} is not in the filter"
    return None


def filter_selects(f: AriFilter, item: Mapping[str, Any]) -> bool:
    """Whether ARI filter `f` selects `item`.

    >>> filter_selects(AriFilter(restrictions={"rate"}), {"rate": 100, "booked": 1})
    True
    """
    return rejection(f, item) is None


def _item_matches(item: Item, event: str, items: Sequence[Mapping[str, Any]] | None) -> bool:
    if isinstance(item, Wildcard):
        return True
    if isinstance(item, EventItem):
        return event == item.name
    if event != ARI:
        return False
    if item.is_all or items is None:
        return True  # plain `ari`, or a signal-only notification: the receiver pulls
    return any(filter_selects(item, i) for i in items)


def reference_matches(
    mask: Sequence[Item], notification: NotificationInput, catalogue: Catalogue
) -> bool:
    """Whether mask items `mask` match `notification`.

    >>> from eventmask import parse
    >>> reference_matches(parse("message").items, {"event": "message"}, Catalogue.default())
    True
    """
    doc = load(notification)
    event = catalogue.resolve(doc["event"])
    items = ari_items(doc) if event == ARI else None
    return any(_item_matches(i, event, items) for i in mask)


def reference_select(
    mask: Sequence[Item], notification: NotificationInput, catalogue: Catalogue
) -> list[Mapping[str, Any]]:
    """The ARI items mask items `mask` select, in payload order, each once.

    >>> from eventmask import parse
    >>> reference_select(parse("ari:rate:*:*").items,
    ...                  {"event": "ari", "payload": [{"rate": 1}, {"booked": 2}]},
    ...                  Catalogue.default())
    [{'rate': 1}]
    """
    doc = load(notification)
    if catalogue.resolve(doc["event"]) != ARI:
        return []
    items = ari_items(doc) or []
    chosen: list[Mapping[str, Any]] = []
    for ari_item in items:
        for item in mask:
            if isinstance(item, Wildcard) or (
                isinstance(item, AriFilter) and filter_selects(item, ari_item)
            ):
                chosen.append(ari_item)
                break
    return chosen


@attrs.frozen(slots=True)
class ItemVerdict:
    """What one mask did with one ARI item: which mask item selected it, or why none did.

    >>> ItemVerdict(0, "ari:rate:*:*", ()).selected_by
    'ari:rate:*:*'
    """

    index: int
    selected_by: str | None
    reasons: tuple[str, ...]


@attrs.frozen(slots=True)
class MaskExplanation:
    """Why a mask matched a notification or not.

    ``reason`` is one line for the notification; ``items`` has one verdict per
    ARI item (empty for other events and for signal-only notifications).

    >>> MaskExplanation(True, "'*' matches every notification").matched
    True
    """

    matched: bool
    reason: str
    items: tuple[ItemVerdict, ...] = ()


def explain_mask(
    mask: tuple[Item, ...], doc: Mapping[str, Any], catalogue: Catalogue
) -> MaskExplanation:
    """Explain mask items `mask` against a loaded notification `doc`.

    >>> from eventmask import parse
    >>> explain_mask(parse("booking").items, {"event": "message"}, Catalogue.default()).reason
    "event: 'message' is not in the mask (booking)"
    """
    event = catalogue.resolve(doc["event"])
    if is_wildcard(mask):
        return MaskExplanation(True, "'*' matches every notification")
    names = [str(i) for i in mask if isinstance(i, EventItem)]
    filters = [i for i in mask if isinstance(i, AriFilter)]
    if event in names:
        return MaskExplanation(True, f"event {event!r} is in the mask")
    if event != ARI or not filters:
        listed = ", ".join(str(i) for i in mask)
        return MaskExplanation(False, f"event: {event!r} is not in the mask ({listed})")
    everything = next((f for f in filters if f.is_all), None)
    if everything is not None:
        return MaskExplanation(True, "'ari' matches every ARI notification")
    items = ari_items(doc)
    if items is None:
        return MaskExplanation(True, "signal-only ARI notification: every ari filter matches")
    verdicts = []
    for index, ari_item in enumerate(items):
        reasons = []
        selected_by = None
        for f in filters:
            why = rejection(f, ari_item)
            if why is None:
                selected_by = str(f)
                break
            reasons.append(f"{f}: {why}")
        verdicts.append(ItemVerdict(index, selected_by, () if selected_by else tuple(reasons)))
    chosen = sum(1 for v in verdicts if v.selected_by)
    if chosen:
        return MaskExplanation(
            True, f"{chosen} of {len(items)} ARI items selected", tuple(verdicts)
        )
    return MaskExplanation(False, f"none of {len(items)} ARI items selected", tuple(verdicts))
