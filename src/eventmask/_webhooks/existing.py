"""The webhooks that already exist, and what a new one has in common with them.

`overlaps_with_existing` reads the ``GET /api/v1/webhooks`` response (or
the typed `Webhook`s a client returned) and says which existing webhooks
would deliver the same notifications again, with a witness notification
from the mask algebra (docs/algebra.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import attrs

from .._channex.webhook import Webhook
from .._errors import MaskSyntaxError
from .._json import loads
from .._language.mask import Mask, overlap_example
from .._language.parser import parse
from .validation import validate_webhook

__all__ = ["FindingKind", "OverlapFinding", "overlaps_with_existing"]


class _Existing(NamedTuple):
    """An existing webhook (the one public model is `Webhook`) and its mask, read leniently."""

    hook: Webhook
    mask: Mask | None  # None when even a lenient parse fails


FindingKind = Literal["overlap", "redundant", "same_url", "global_shadowed", "invalid_existing"]


@attrs.frozen(slots=True)
class OverlapFinding:
    """Something the new webhook has in common with an existing one.

    ``kind`` is one of ``overlap`` (both deliver some notification: it
    arrives twice), ``redundant`` (the existing mask covers the new one),
    ``same_url`` (the same callback URL registered twice), ``global_shadowed``
    (a property webhook next to a global one: Channex delivers only the
    property one) and ``invalid_existing`` (an existing mask eventmask cannot
    read).  ``example`` is a notification both masks select, for ``overlap``.

    >>> OverlapFinding("same_url", "w1", "webhook w1 already posts there").kind
    'same_url'
    """

    kind: FindingKind
    webhook_id: str | None
    message: str
    example: dict[str, Any] | None = None


def _existing(entries: object) -> list[_Existing]:
    if isinstance(entries, (bytes, bytearray, str)):
        entries = loads(entries)
    if isinstance(entries, Mapping):
        entries = entries.get("data", [entries])
    if not isinstance(entries, Sequence):
        raise TypeError("existing webhooks: expected the GET /api/v1/webhooks response")
    out = []
    for entry in entries:
        if isinstance(entry, Webhook):
            hook = entry
        elif isinstance(entry, Mapping) and isinstance(entry.get("attributes", entry), Mapping):
            hook = Webhook.from_api(entry)  # the one reader of Channex's webhook resources
        else:
            continue
        try:
            mask: Mask | None = parse(hook.event_mask, lenient=True)
        except MaskSyntaxError:
            mask = None
        out.append(_Existing(hook, mask))
    return out


def overlaps_with_existing(body: object, existing: object) -> list[OverlapFinding]:
    """Compare a new webhook body with the existing webhooks.

    `existing` is the ``GET /api/v1/webhooks`` response (JSON text, or decoded,
    or its ``data`` list), or the `Webhook`s a `ChannexClient` listed.

    Only active webhooks of the same property, or global ones, are compared.

    >>> prop = "716305c4-561a-4561-a187-7f5b8aeb5920"
    >>> existing = {"data": [{"id": "w1", "attributes": {"event_mask": "booking",
    ...     "callback_url": "https://pms.example.com/hook", "is_active": True},
    ...     "relationships": {"property": {"data": {"id": prop}}}}]}
    >>> body = {"property_id": prop, "event_mask": "booking_new;booking",
    ...         "callback_url": "https://other.example.com/hook"}
    >>> [f.kind for f in overlaps_with_existing(body, existing)]
    ['overlap']
    """
    report = validate_webhook(body)
    hook = report.webhook
    prop = hook.get("property_id")
    prop = prop.lower() if isinstance(prop, str) else None
    is_global = hook.get("is_global") is True or prop is None
    url = hook.get("callback_url")
    findings: list[OverlapFinding] = []
    for other in _existing(existing):
        them = other.hook
        if them.is_active and (them.is_global or is_global or them.property_id == prop):
            new = _NewWebhook(report.mask, is_global, url if isinstance(url, str) else None)
            findings += _compare(new, other)
    return findings


class _NewWebhook(NamedTuple):
    mask: Mask | None
    is_global: bool
    url: str | None


def _compare(new: _NewWebhook, existing: _Existing) -> list[OverlapFinding]:
    """What the new webhook has in common with one active existing webhook it meets."""
    other, their_mask = existing
    where = f"webhook {other.id or '(no id)'} ({other.event_mask!r})"
    if their_mask is None:
        message = f"{where} has a mask eventmask cannot read"
        return [OverlapFinding("invalid_existing", other.id, message)]
    findings = []
    if new.is_global != other.is_global:
        message = (
            f"{where} is {'global' if other.is_global else 'for this property'} "
            f"and the new one {'global' if new.is_global else 'for a property'}: Channex "
            "delivers a property's notifications only to its property webhooks"
        )
        findings.append(OverlapFinding("global_shadowed", other.id, message))
    if new.url and other.callback_url == new.url:
        message = f"{where} already posts to {new.url}: overlapping notifications arrive twice"
        findings.append(OverlapFinding("same_url", other.id, message))
    mask = new.mask
    if mask is None:
        return findings
    if their_mask.covers(mask):
        message = (
            f"{where} already delivers everything {str(mask)!r} does: "
            "the new webhook is probably redundant"
        )
        example = overlap_example(their_mask, mask)
        findings.append(OverlapFinding("redundant", other.id, message, example))
    elif their_mask.overlaps(mask):
        message = f"{where} overlaps {str(mask)!r}: some notifications arrive at both"
        example = overlap_example(their_mask, mask)
        findings.append(OverlapFinding("overlap", other.id, message, example))
    return findings
