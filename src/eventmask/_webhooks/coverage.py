"""Coverage: do the handlers take everything the subscriptions deliver, and is every handler fed?

For each subscription (a webhook's mask, for its property), the handlers
that can take its notifications are the routes scoped to that property and
the unscoped ones; for a global webhook, the unscoped ones only.  What the
subscription delivers beyond the union of their masks is a gap, shown by a
witness notification from the mask algebra.  A route whose mask meets no
subscription of its property (or of any property, when unscoped) is idle.
``on_unmatched`` does not count as taking anything: it is there for the
unexpected (docs/provisioning.md, "coverage").
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from typing import Any

import attrs

from .._channex.webhook import Webhook
from .._errors import MaskSyntaxError
from .._language.algebra import overlap_example, uncovered_example
from .._language.mask import Mask
from .._language.parser import parse
from .._routing.router import Router
from .._routing.routes import Route

__all__ = ["Coverage", "Gap", "coverage"]


@attrs.frozen(slots=True)
class Gap:
    """A subscription delivers `example`, and no handler takes it.

    >>> hook = Webhook(id="w1", property_id="p", callback_url="u", event_mask="review")
    >>> Gap(hook, {"event": "review"}).describe()
    "webhook w1 ('review', property p) delivers notifications no handler takes, such as review"
    """

    webhook: Webhook
    example: dict[str, Any]

    def describe(self) -> str:
        """One line, with the witness's event."""
        where = self.webhook.property_id or "global"
        return (
            f"webhook {self.webhook.id or '(from the file)'} ({self.webhook.event_mask!r}, "
            f"property {where}) delivers notifications no handler takes, such as "
            f"{self.example.get('event')}"
        )


@attrs.frozen(slots=True)
class Coverage:
    """The gaps (subscriptions delivering what no handler takes) and the idle routes.

    >>> Coverage((), ()).ok
    True
    """

    gaps: tuple[Gap, ...]
    idle: tuple[Route, ...]

    @property
    def ok(self) -> bool:
        """No subscription delivers a notification that no handler takes."""
        return not self.gaps


def _union(masks: Sequence[Mask]) -> Mask | None:
    return reduce(lambda a, b: a | b, masks) if masks else None


def _subscriptions(hooks: Sequence[Webhook]) -> list[tuple[Webhook, Mask]]:
    out = []
    for hook in hooks:
        if not hook.is_active:
            continue  # an inactive webhook delivers nothing
        try:
            out.append((hook, parse(hook.event_mask, lenient=True)))
        except MaskSyntaxError:
            continue  # `webhooks plan` reports unreadable masks
    return out


def _takes(route: Route, hook: Webhook) -> bool:
    """Whether `route` sees what `hook` delivers: unscoped, or scoped to its property."""
    return route.property_id is None or route.property_id == hook.property_id


def coverage(router: Router, hooks: Sequence[Webhook]) -> Coverage:
    """Compare `router`'s handler masks with the masks of the subscriptions `hooks`.

    >>> router = Router()
    >>> _ = router.add("booking_new", print)
    >>> hook = Webhook(id="w1", property_id="p", callback_url="u",
    ...                event_mask="booking_new;review", is_active=True)
    >>> [g.example["event"] for g in coverage(router, [hook]).gaps]
    ['review']
    """
    routes = list(router.routes)
    subscribed = _subscriptions(hooks)
    gaps = []
    for hook, mask in subscribed:
        taken = _union([r.mask for r in routes if _takes(r, hook)])
        if taken is None:  # nothing could take it: any notification it delivers will do
            example = overlap_example(mask.items, mask.items)
        else:
            example = uncovered_example(taken.items, mask.items)
        if example:
            gaps.append(Gap(hook, example))
    idle = []
    for route in routes:
        feeding = [m for h, m in subscribed if _takes(route, h)]
        if not any(route.mask.overlaps(m) for m in feeding):
            idle.append(route)
    return Coverage(tuple(gaps), tuple(idle))
