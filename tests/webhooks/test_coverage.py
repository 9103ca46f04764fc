"""Coverage of subscriptions by handlers, checked against the reference matcher."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from eventmask import Mask, Router
from eventmask._channex.webhook import Webhook
from eventmask._webhooks.coverage import coverage

from ..strategies import EVENTS, RATE_PLANS, RESTRICTIONS, ROOM_TYPES, UNMENTIONED_ID, masks

PROPERTY = "716305c4-561a-4561-a187-7f5b8aeb5920"


def _hook(mask: Mask | str, prop: str | None = PROPERTY, active: bool = True) -> Webhook:
    return Webhook(id="w", property_id=prop, callback_url="u", event_mask=str(mask),
                   is_active=active, send_data=True)  # fmt: skip


def _atoms() -> list[dict[str, object]]:
    """Every notification that can tell the strategies' masks apart, one event or item each.

    An item with several keys is taken when one of its keys is, so single-key
    items decide coverage; an id no mask names stands for every such id.
    """
    atoms: list[dict[str, object]] = [{"event": e, "property_id": PROPERTY} for e in EVENTS]
    for room in (*ROOM_TYPES, UNMENTIONED_ID):
        for rate in (*RATE_PLANS, UNMENTIONED_ID):
            for key in (*RESTRICTIONS, "unknown_restriction"):
                item = {"date": "2026-05-01", "room_type_id": room, "rate_plan_id": rate, key: 1}
                atoms.append({"event": "ari", "property_id": PROPERTY, "payload": [item]})
    return atoms


ATOMS = _atoms()


def _delivered_and_untaken(example: dict[str, object], sub: Mask, handlers: list[Mask]) -> bool:
    """Oracle: the subscription delivers the witness, and no handler takes any of it."""
    if not sub.matches(example):
        return False
    if example["event"] == "ari" and example.get("payload"):
        chosen = sub.select(example)
        taken = [i for h in handlers for i in h.select(example)]
        return bool(chosen) and not any(i in taken for i in chosen)
    return not any(h.matches(example) for h in handlers)


@settings(max_examples=300, deadline=None)
@given(st.lists(masks, min_size=0, max_size=3), masks)
def test_a_gap_is_reported_exactly_when_the_handlers_miss_something(
    handlers: list[Mask], sub: Mask
) -> None:
    router = Router()
    for mask in handlers:
        router.add(mask, print)
    report = coverage(router, [_hook(sub)])
    # The oracle uses no algebra: every atom the subscription delivers, one by one.
    missed = [atom for atom in ATOMS if _delivered_and_untaken(atom, sub, handlers)]
    assert report.ok == (not missed), missed[:1]
    for gap in report.gaps:
        assert _delivered_and_untaken(gap.example, sub, handlers), gap.example


def test_scopes_inactive_webhooks_and_idle_handlers() -> None:
    """A route of another property takes nothing here; an inactive webhook delivers nothing."""
    router = Router()
    router.add("booking_new", print, property_id="90958ec0-9713-1196-873e-4add0d834670")
    router.add("message", print)
    router.add("review", print)
    report = coverage(router, [_hook("booking_new;message"), _hook("review", active=False)])
    (gap,) = report.gaps
    assert gap.example["event"] == "booking_new"
    assert sorted(r.mask.items[0].name for r in report.idle) == ["booking_new", "review"]  # type: ignore[union-attr]


def test_a_global_webhook_is_taken_by_unscoped_handlers_only() -> None:
    router = Router()
    router.add("message", print, property_id=PROPERTY)
    assert not coverage(router, [_hook("message", prop=None)]).ok
    router.add("message", print)
    assert coverage(router, [_hook("message", prop=None)]).ok
