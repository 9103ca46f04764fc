"""What the account's webhooks show, whatever the file asks (docs/provisioning.md, "Findings").

Two active webhooks of one property posting to one URL whose masks overlap
deliver a notification twice (a witness from the mask algebra says which);
one may cover the other.  A mask may carry EM1xx warnings.  A webhook may be
inactive or send no data (Channex's defaults).  A webhook on a URL the file
manages may lack the secret header its receiver needs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import attrs

from .._channex.webhook import Webhook
from .._errors import MaskSyntaxError
from .._language.mask import Mask, overlap_example
from .._language.parser import parse
from .validation import looks_secret

if TYPE_CHECKING:
    from .desired import DesiredState

__all__ = ["Finding", "FindingKind", "audit"]

FindingKind = Literal[
    "duplicate", "redundant", "mask_warning", "unreadable", "inactive", "no_data", "no_secret"
]


@attrs.frozen(slots=True)
class Finding:
    """One thing worth knowing about the account's webhooks.

    >>> Finding("inactive", "webhook w1 is inactive", ("w1",)).as_json()["kind"]
    'inactive'
    """

    kind: FindingKind
    message: str
    webhook_ids: tuple[str | None, ...]
    example: dict[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        """The finding as JSON."""
        return {"kind": self.kind, "message": self.message,
                "webhook_ids": list(self.webhook_ids), "example": self.example}  # fmt: skip


def _name(hook: Webhook) -> str:
    return f"webhook {hook.id or '(new)'} ({hook.event_mask!r})"


def _mask(hook: Webhook, found: list[Finding]) -> Mask | None:
    try:
        mask = parse(hook.event_mask, lenient=True)
    except MaskSyntaxError as exc:
        found.append(Finding("unreadable", f"{_name(hook)}: {exc.message}", (hook.id,)))
        return None
    for w in mask.warnings:
        if w.code.startswith("EM1"):
            message = f"{_name(hook)}: {w.code} {w.message}"
            found.append(Finding("mask_warning", message, (hook.id,)))
    return mask


def _pairs(group: Sequence[tuple[Webhook, Mask]], found: list[Finding]) -> None:
    for i, (a, ma) in enumerate(group):
        for b, mb in group[i + 1 :]:
            ids = (a.id, b.id)
            if ma.covers(mb) or mb.covers(ma):
                big, small = (a, b) if ma.covers(mb) else (b, a)
                message = (f"{_name(big)} delivers everything {_name(small)} does, to the "
                           f"same URL: each of those notifications arrives twice")  # fmt: skip
                found.append(Finding("redundant", message, ids, overlap_example(ma, mb)))
            elif ma.overlaps(mb):
                message = f"{_name(a)} and {_name(b)} post some notifications twice to one URL"
                found.append(Finding("duplicate", message, ids, overlap_example(ma, mb)))


def _secret(hook: Webhook, desired: DesiredState | None, found: list[Finding]) -> None:
    if desired is None or hook.callback_url not in desired.managed_urls:
        return
    names = {n.lower() for n in hook.headers}
    wanted = desired.secret_headers
    if (wanted and not names & wanted) or (not wanted and not any(map(looks_secret, names))):
        which = ", ".join(sorted(wanted)) or "a secret header"
        message = f"{_name(hook)} posts to {hook.callback_url} without {which}"
        found.append(Finding("no_secret", message, (hook.id,)))


def audit(account: Sequence[Webhook], desired: DesiredState | None = None) -> list[Finding]:
    """Every finding about the webhooks of `account` (and their secrets, given the file).

    >>> hooks = [Webhook(id=f"w{n}", property_id="p", callback_url="u", event_mask=m,
    ...                  headers={"X-Channex-Webhook-Secret": "s"}, is_active=True,
    ...                  send_data=True) for n, m in ((1, "booking"), (2, "booking;message"))]
    >>> [f.kind for f in audit(hooks)]
    ['redundant']
    """
    found: list[Finding] = []
    groups: dict[tuple[str | None, str], list[tuple[Webhook, Mask]]] = defaultdict(list)
    for hook in account:
        mask = _mask(hook, found)
        if not hook.is_active:
            found.append(Finding("inactive", f"{_name(hook)} is inactive: it never fires",
                                 (hook.id,)))  # fmt: skip
        elif mask is not None:
            groups[(hook.property_id, hook.callback_url)].append((hook, mask))
        if not hook.send_data:
            message = f"{_name(hook)} sends no data: each notification is a signal to pull"
            found.append(Finding("no_data", message, (hook.id,)))
        _secret(hook, desired, found)
    for group in groups.values():
        _pairs(group, found)
    return found
