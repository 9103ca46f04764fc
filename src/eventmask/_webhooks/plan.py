"""The plan: what to create, update and delete so that Channex holds what the file asks.

A desired webhook is found among the existing ones by its property, its
callback URL and its mask in canonical form.  Failing that, when exactly
one desired and one existing webhook of a property post to the same URL,
they are the same webhook with a new mask (an update, not a delete and a
create).  Only webhooks posting to a URL the file manages are ever changed
or deleted, and deletions wait for ``prune`` (docs/provisioning.md, "plan").
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Literal

import attrs

from .._channex.webhook import Webhook, canonical
from .audit import Finding, audit
from .desired import Desired, DesiredState

__all__ = [
    "Change",
    "Step",
    "WebhookPlan",
    "changes",
    "looks_secret",
    "make_plan",
    "plan_summary",
]

Action = Literal["create", "update", "delete"]
_FIELDS = ("event_mask", "headers", "request_params", "is_active", "send_data")


# The rule of docs/provisioning.md, "Masked values": a header or parameter is a
# credential when its name says so, or its value looks like one.  A plan is
# printed into CI logs; a false positive costs a masked value, a miss a leak.
_CREDENTIAL_NAME = re.compile(
    r"auth|token|secret|key|passw|pwd|session|cookie|signature|credential|bearer", re.I
)
_SCHEME = re.compile(r"(bearer|basic|digest|token|apikey)\s+\S", re.I)
_OPAQUE = re.compile(r"[A-Za-z0-9+/=_.~-]{20,}")


def looks_secret(name: str, value: Any) -> bool:
    """Whether a header or request parameter holds a credential (then it is masked).

    >>> looks_secret("Authorization", "x"), looks_secret("X-Source", "channex")
    (True, False)
    >>> looks_secret("X-Note", "Bearer abc"), looks_secret("hmm", "d7f9a8c1e2b34f5a6b7c8d9e")
    (True, True)
    """
    if _CREDENTIAL_NAME.search(name):
        return True
    if not isinstance(value, str):
        return False
    opaque = _OPAQUE.fullmatch(value) is not None and any(c.isdigit() for c in value)
    return _SCHEME.match(value) is not None or (opaque and any(c.isalpha() for c in value))


def _masked(value: Any, secret: bool) -> Any:
    if not secret or value is None or value == "":
        return value
    text = str(value)  # a numeric token is a token too
    return "****" if len(text) < 12 else f"****{text[-4:]}"


@attrs.frozen(slots=True)
class Change:
    """One field that differs: its old and new values, credentials masked when shown.

    >>> Change("is_active", False, True).describe()
    'is_active: False -> True'
    >>> Change("headers.X-Secret", "old-secret-123", "new-secret-456", secret=True).describe()
    'headers.X-Secret: ****-123 -> ****-456'
    """

    field: str
    old: Any
    new: Any
    secret: bool = False

    def describe(self) -> str:
        """``field: old -> new``, with credentials shown by their last 4 characters at most."""
        if self.secret:
            return f"{self.field}: {_masked(self.old, True)} -> {_masked(self.new, True)}"
        return f"{self.field}: {self.old!r} -> {self.new!r}"

    def as_json(self) -> dict[str, Any]:
        """The change as JSON, secrets masked.

        >>> Change("send_data", False, True).as_json()
        {'field': 'send_data', 'old': False, 'new': True}
        """
        old, new = _masked(self.old, self.secret), _masked(self.new, self.secret)
        return {"field": self.field, "old": old, "new": new}


def changes(old: Webhook, new: Webhook, secret_headers: frozenset[str]) -> tuple[Change, ...]:
    """The fields in which `new` differs from `old`, credentials marked secret.

    A header is secret when its name is in `secret_headers` (its value comes
    from the environment) or `looks_secret`; so is a request parameter that
    `looks_secret`.  Each header and each parameter is a change of its own.

    >>> old = Webhook(property_id="p", callback_url="u", event_mask="message")
    >>> [c.field for c in changes(old, attrs.evolve(old, is_active=True), frozenset())]
    ['is_active']
    """
    out: list[Change] = []
    if canonical(old.event_mask) != canonical(new.event_mask):
        out.append(Change("event_mask", old.event_mask, new.event_mask))
    for name in sorted(set(old.headers) | set(new.headers)):
        before, after = old.headers.get(name), new.headers.get(name)
        if before != after:
            secret = name.lower() in secret_headers or _either_secret(name, before, after)
            out.append(Change(f"headers.{name}", before, after, secret))
    for key in sorted(set(old.request_params) | set(new.request_params)):
        before, after = old.request_params.get(key), new.request_params.get(key)
        if before != after:
            secret = _either_secret(key, before, after)
            out.append(Change(f"request_params.{key}", before, after, secret))
    for flag in ("is_active", "send_data"):
        if getattr(old, flag) != getattr(new, flag):
            out.append(Change(flag, getattr(old, flag), getattr(new, flag)))
    return tuple(out)


def _either_secret(name: str, before: Any, after: Any) -> bool:
    return looks_secret(name, before) or looks_secret(name, after)


@attrs.frozen(slots=True)
class Step:
    """One thing to do: create `webhook`, update `existing` to it, or delete `existing`.

    >>> hook = Webhook(property_id="p", callback_url="u", event_mask="message")
    >>> Step("create", hook, None, (), "webhooks.toml:4").title()
    'create p  message  -> u  (webhooks.toml:4)'
    """

    action: Action
    webhook: Webhook
    existing: Webhook | None
    changes: tuple[Change, ...]
    where: str | None = None

    def title(self) -> str:
        """One line: the action, the property, the mask, the URL, and where it was asked for."""
        hook = self.webhook if self.action != "delete" else (self.existing or self.webhook)
        ident = f" {self.existing.id}" if self.existing is not None and self.existing.id else ""
        where = f"  ({self.where})" if self.where else ""
        prop = hook.property_id or "(global)"
        return f"{self.action}{ident} {prop}  {hook.event_mask}  -> {hook.callback_url}{where}"

    def as_json(self) -> dict[str, Any]:
        """The step as JSON (secrets masked).

        >>> hook = Webhook(property_id="p", callback_url="u", event_mask="message")
        >>> Step("create", hook, None, ()).as_json()["action"]
        'create'
        """
        hook = self.webhook if self.action != "delete" else (self.existing or self.webhook)
        return {
            "action": self.action,
            "id": self.existing.id if self.existing is not None else None,
            "property_id": hook.property_id,
            "callback_url": hook.callback_url,
            "event_mask": hook.event_mask,
            "changes": [c.as_json() for c in self.changes],
            "where": self.where,
        }


@attrs.frozen(slots=True)
class WebhookPlan:
    """What `apply` would do, what is already right, and what the account shows.

    >>> WebhookPlan((), (), (), prune=False).pending
    ()
    """

    steps: tuple[Step, ...]
    unchanged: tuple[Webhook, ...]
    findings: tuple[Finding, ...]
    prune: bool

    def holds(self, step: Step) -> bool:
        """Whether `step` is a deletion waiting for ``--prune`` (the one rule of both lists).

        >>> hook = Webhook(id="w", property_id="p", callback_url="u", event_mask="*")
        >>> WebhookPlan((), (), (), prune=False).holds(Step("delete", hook, hook, ()))
        True
        """
        return step.action == "delete" and not self.prune

    @property
    def pending(self) -> tuple[Step, ...]:
        """The steps `apply` carries out: deletions only with ``prune``."""
        return tuple(s for s in self.steps if not self.holds(s))

    @property
    def held(self) -> tuple[Step, ...]:
        """Deletions that wait for ``--prune``."""
        return tuple(s for s in self.steps if self.holds(s))


def _pair_leftovers(
    wanted: list[Desired], left: list[Webhook]
) -> tuple[list[tuple[Desired, Webhook]], list[Desired], list[Webhook]]:
    """Pair what is left 1:1 per property and URL: the same webhook with another mask."""
    by_place_wanted: dict[tuple[str | None, str], list[Desired]] = defaultdict(list)
    by_place_left: dict[tuple[str | None, str], list[Webhook]] = defaultdict(list)
    for d in wanted:
        by_place_wanted[(d.webhook.property_id, d.webhook.callback_url)].append(d)
    for e in left:
        by_place_left[(e.property_id, e.callback_url)].append(e)
    pairs = []
    for place, ds in by_place_wanted.items():
        es = by_place_left.get(place, [])
        if len(ds) == 1 and len(es) == 1:
            pairs.append((ds[0], es[0]))
    paired_d = {id(d) for d, _ in pairs}
    paired_e = {id(e) for _, e in pairs}
    return (
        pairs,
        [d for d in wanted if id(d) not in paired_d],
        [e for e in left if id(e) not in paired_e],
    )


def make_plan(
    desired: DesiredState, existing: Iterable[Webhook], *, prune: bool = False
) -> WebhookPlan:
    """Compare the file with the account: the steps, the unchanged webhooks, the findings.

    >>> from eventmask._webhooks.desired import read_desired
    >>> state = read_desired('''
    ... [[webhook]]
    ... property_id = "716305c4-561a-4561-a187-7f5b8aeb5920"
    ... callback_url = "https://pms.example.com/channex"
    ... event_mask = "booking_new"
    ... headers = { "X-Channex-Webhook-Secret" = "a-long-shared-secret" }
    ... ''')
    >>> [s.action for s in make_plan(state, []).steps]
    ['create']
    """
    account = list(existing)
    managed = [e for e in account if e.callback_url in desired.managed_urls]
    index: dict[tuple[str | None, str, str], list[Webhook]] = defaultdict(list)
    for hook in managed:
        index[hook.key].append(hook)
    steps: list[Step] = []
    unchanged: list[Webhook] = []
    matched: list[tuple[Desired, Webhook]] = []
    unmatched: list[Desired] = []
    for d in desired.webhooks:
        same = index.get(d.key)
        if same:
            matched.append((d, same.pop(0)))
        else:
            unmatched.append(d)
    left = [hook for hooks in index.values() for hook in hooks]
    pairs, unmatched, left = _pair_leftovers(unmatched, left)
    for d, hook in [*matched, *pairs]:
        diff = changes(hook, d.webhook, desired.secret_headers)
        if diff:
            steps.append(Step("update", d.webhook, hook, diff, d.where))
        else:
            unchanged.append(hook)
    steps += [Step("create", d.webhook, None, (), d.where) for d in unmatched]
    steps += [Step("delete", hook, hook, ()) for hook in left]
    return WebhookPlan(tuple(steps), tuple(unchanged), tuple(audit(account, desired)), prune)


def plan_summary(plan: WebhookPlan) -> dict[str, int]:
    """Counts of the plan by kind.

    >>> plan_summary(WebhookPlan((), (), (), prune=False))
    {'create': 0, 'update': 0, 'delete': 0, 'held': 0, 'unchanged': 0}
    """
    pending: Sequence[Step] = plan.pending
    return {
        "create": sum(s.action == "create" for s in pending),
        "update": sum(s.action == "update" for s in pending),
        "delete": sum(s.action == "delete" for s in pending),
        "held": len(plan.held),
        "unchanged": len(plan.unchanged),
    }
