"""Carrying a plan out, proving the webhooks work, and rotating their secret.

The functions that call Channex take a client first (`apply_plan`, `verify`,
and `aapply_plan`, `averify` for `AsyncChannexClient`); the others only
compute (`managed`, `rotation_steps`).  Each step is its own API call; a
step that fails is reported and the others go on.  Running `apply` again
re-plans from what Channex now holds, so it resumes where a partial run
stopped and is a no-op once all is done (docs/provisioning.md, "apply", "verify", "rotate-secret").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import attrs

from .._channex.client import AsyncChannexClient, ChannexClient, TestResult
from .._channex.webhook import Webhook
from .._errors import ChannexError
from .desired import DesiredState
from .plan import Step, WebhookPlan, changes

__all__ = [
    "Proof",
    "StepOutcome",
    "aapply_plan",
    "apply_plan",
    "averify",
    "managed",
    "posting_to_managed_urls",
    "rotation_steps",
    "verify",
]


@attrs.frozen(slots=True)
class StepOutcome:
    """How one step went: the webhook as Channex now holds it, or the error.

    >>> hook = Webhook(property_id="p", callback_url="u", event_mask="message")
    >>> StepOutcome(Step("create", hook, None, ()), None, "HTTP 422").ok
    False
    """

    step: Step
    webhook: Webhook | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the step was carried out."""
        return self.error is None


def _carry_out(client: ChannexClient, step: Step) -> Webhook | None:
    if step.action == "create":
        return client.create(step.webhook)
    assert step.existing is not None
    assert step.existing.id is not None
    if step.action == "update":
        return client.update(step.existing.id, step.webhook)
    client.delete(step.existing.id)
    return None


async def _acarry_out(client: AsyncChannexClient, step: Step) -> Webhook | None:
    if step.action == "create":
        return await client.create(step.webhook)
    assert step.existing is not None
    assert step.existing.id is not None
    if step.action == "update":
        return await client.update(step.existing.id, step.webhook)
    await client.delete(step.existing.id)
    return None


def apply_plan(
    client: ChannexClient, plan: WebhookPlan, on_done: Callable[[StepOutcome], None] | None = None
) -> list[StepOutcome]:
    """Carry out the plan's pending steps, one API call each; a failure does not stop the rest.

    ``on_done`` sees each outcome as it happens (to print progress).

    >>> from eventmask.channex import ChannexClient, make_plan, read_desired
    >>> desired = read_desired('''
    ... [[webhook]]
    ... property_id = "716305c4-561a-4561-a187-7f5b8aeb5920"
    ... callback_url = "https://pms.example.com/channex"
    ... event_mask = "booking"
    ... ''')
    >>> plan = make_plan(desired, existing=[])
    >>> with ChannexClient("http://127.0.0.1:9/api/v1", "key", attempts=1) as client:
    ...     (outcome,) = apply_plan(client, plan)  # nothing listens on port 9
    >>> outcome.step.action, outcome.ok
    ('create', False)
    """
    outcomes = []
    for step in plan.pending:
        try:
            outcome = StepOutcome(step, _carry_out(client, step))
        except ChannexError as exc:
            outcome = StepOutcome(step, None, str(exc))
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    return outcomes


async def aapply_plan(
    client: AsyncChannexClient,
    plan: WebhookPlan,
    on_done: Callable[[StepOutcome], None] | None = None,
) -> list[StepOutcome]:
    """`apply_plan` with an `AsyncChannexClient`: the same steps in the same order, awaited.

    >>> import asyncio
    >>> from eventmask.channex import AsyncChannexClient
    >>> async def main() -> list[StepOutcome]:
    ...     async with AsyncChannexClient("http://127.0.0.1:9/api/v1", "key") as client:
    ...         return await aapply_plan(client, WebhookPlan((), (), (), prune=False))
    >>> asyncio.run(main())
    []
    """
    outcomes = []
    for step in plan.pending:
        try:
            outcome = StepOutcome(step, await _acarry_out(client, step))
        except ChannexError as exc:
            outcome = StepOutcome(step, None, str(exc))
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)
    return outcomes


def managed(account: Iterable[Webhook], desired: DesiredState | None) -> list[Webhook]:
    """The account's webhooks the file asks for (every active one, without a file).

    >>> hooks = [Webhook(id="w1", property_id="p", callback_url="u", event_mask="*",
    ...                  is_active=True)]
    >>> [h.id for h in managed(hooks, None)]
    ['w1']
    """
    if desired is None:
        return [h for h in account if h.is_active]
    wanted = {d.key for d in desired.webhooks}
    return [h for h in account if h.key in wanted]


@attrs.frozen(slots=True)
class Proof:
    """What the receiver answered to Channex's test delivery for one webhook.

    >>> hook = Webhook(id="w1", property_id="p", callback_url="u", event_mask="*")
    >>> Proof(hook, TestResult(200, "{}"), None).ok
    True
    """

    webhook: Webhook
    result: TestResult | None
    error: str | None

    @property
    def ok(self) -> bool:
        """Whether the receiver answered 2xx."""
        return self.result is not None and self.result.ok


def verify(
    client: ChannexClient,
    hooks: Sequence[Webhook],
    on_done: Callable[[Proof], None] | None = None,
) -> list[Proof]:
    """Have Channex send each webhook's test delivery; what each receiver answered.

    >>> from eventmask.channex import ChannexClient, Webhook
    >>> hook = Webhook(id="w1", property_id=None, callback_url="https://pms.example.com/",
    ...                event_mask="*")
    >>> with ChannexClient("http://127.0.0.1:9/api/v1", "key", attempts=1) as client:
    ...     (proof,) = verify(client, [hook])  # nothing listens on port 9
    >>> proof.ok, proof.error is not None
    (False, True)
    """
    proofs = []
    for hook in hooks:
        try:
            proof = Proof(hook, client.test(hook), None)
        except ChannexError as exc:
            proof = Proof(hook, None, str(exc))
        proofs.append(proof)
        if on_done is not None:
            on_done(proof)
    return proofs


async def averify(
    client: AsyncChannexClient,
    hooks: Sequence[Webhook],
    on_done: Callable[[Proof], None] | None = None,
) -> list[Proof]:
    """`verify` with an `AsyncChannexClient`: one test delivery per webhook, awaited.

    >>> import asyncio
    >>> from eventmask.channex import AsyncChannexClient
    >>> async def main() -> list[Proof]:
    ...     async with AsyncChannexClient("http://127.0.0.1:9/api/v1", "key") as client:
    ...         return await averify(client, [])
    >>> asyncio.run(main())
    []
    """
    proofs = []
    for hook in hooks:
        try:
            proof = Proof(hook, await client.test(hook), None)
        except ChannexError as exc:
            proof = Proof(hook, None, str(exc))
        proofs.append(proof)
        if on_done is not None:
            on_done(proof)
    return proofs


def posting_to_managed_urls(account: Iterable[Webhook], desired: DesiredState) -> list[Webhook]:
    """Every webhook of the account that posts to a URL the file uses.

    A rotation must reach them all, the file's or not: one whose mask drifted
    in Channex, or one held for ``--prune``, still posts to the receivers, and
    once they drop the old secret its deliveries would all be refused.

    >>> hooks = [Webhook(id="w1", property_id="p", callback_url="u", event_mask="*")]
    >>> posting_to_managed_urls(hooks, DesiredState("f", (), frozenset(), frozenset()))
    []
    """
    return [h for h in account if h.callback_url in desired.managed_urls]


def rotation_steps(account: Iterable[Webhook], desired: DesiredState) -> list[Step]:
    """The updates that put the file's secret header values on every webhook on its URLs.

    It computes, and sends nothing: `apply_plan` carries the steps out.

    Only the headers named by ``{ env = ... }`` in the file change; every
    other field stays as Channex holds it.  A webhook the file does not ask
    for as it is (a drifted mask, one held for ``--prune``) takes the secret
    of the file's webhook of the same property and URL, else of the URL.

    >>> rotation_steps([], DesiredState("f", (), frozenset(), frozenset()))
    []
    """
    by_key = {d.key: d for d in desired.webhooks}
    by_place = {(d.webhook.property_id, d.webhook.callback_url): d for d in desired.webhooks}
    by_url = {d.webhook.callback_url: d for d in desired.webhooks}
    steps = []
    for hook in posting_to_managed_urls(account, desired):
        d = (
            by_key.get(hook.key)
            or by_place.get((hook.property_id, hook.callback_url))
            or by_url[hook.callback_url]
        )
        secrets = {
            n: v for n, v in d.webhook.headers.items() if n.lower() in desired.secret_headers
        }
        headers = {n: v for n, v in hook.headers.items() if n.lower() not in desired.secret_headers}
        headers.update(secrets)
        if headers != dict(hook.headers):
            new = attrs.evolve(hook, headers=headers)
            diff = changes(hook, new, desired.secret_headers)
            steps.append(Step("update", new, hook, diff, d.where))
    return steps
