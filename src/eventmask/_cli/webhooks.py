"""``eventmask webhooks plan|apply|verify|rotate-secret`` and ``eventmask coverage``.

Webhooks as code against the Channex API (docs/provisioning.md).  The API
key comes from ``CHANNEX_API_KEY`` only, never the command line; the base
URL from ``--api-url`` or ``CHANNEX_API_URL``.

Exit status of ``plan``: 0 no changes, 3 changes pending, 1 an error (an
invalid file, an API failure), 2 usage.  The others: 0 done (or, for
``coverage``, covered), 1 not (a failed step, a test delivery that was not
acknowledged, a gap), 2 usage.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Final, TextIO

from .._errors import WebhookConfigError
from .._json import dumps_text
from .channex_args import api_options, channex_client, guarded
from .commands import about
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    UNREADABLE,
    progress,
    read_json,
    write_json,
)

if TYPE_CHECKING:
    from .._channex.client import ChannexClient
    from .._channex.webhook import Webhook
    from .._webhooks.desired import DesiredState
    from .._webhooks.lifecycle import Proof, StepOutcome
    from .._webhooks.plan import WebhookPlan

__all__ = ["EXIT_PENDING", "register"]

EXIT_PENDING: Final = 3


def _desired(path: str, err: TextIO, *, sends: bool = True) -> DesiredState | None:
    """The webhooks file, or None after its problems; `sends`: its secrets must be set."""
    from .._webhooks.desired import load_desired

    try:
        return load_desired(path, require_secrets=sends)
    except WebhookConfigError as exc:
        err.write(f"eventmask: {exc}\n")
        return None


def _show_plan(plan: WebhookPlan, desired: DesiredState, account: int, out: TextIO) -> None:
    from .._webhooks.plan import plan_summary

    out.write(f"Channex holds {account} webhooks; {desired.source} asks for "
              f"{len(desired.webhooks)} on {len(desired.managed_urls)} URL(s)\n")  # fmt: skip
    for step in plan.steps:
        held = "  (held: give --prune)" if plan.holds(step) else ""
        out.write(f"{step.title()}{held}\n")
        for change in step.changes:
            out.write(f"    {change.describe()}\n")
    if plan.findings:
        out.write("findings:\n")
        for finding in plan.findings:
            out.write(f"  {finding.kind}: {finding.message}\n")
            if finding.example is not None:
                out.write(f"    for example: {dumps_text(finding.example)}\n")
    counts = plan_summary(plan)
    out.write(
        f"plan: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['delete']} to delete, {counts['held']} held for --prune, "
        f"{counts['unchanged']} unchanged\n"
    )


def _plan_json(plan: WebhookPlan) -> dict[str, Any]:
    from .._webhooks.plan import plan_summary

    return {
        "summary": plan_summary(plan),
        "steps": [{**s.as_json(), "held": plan.holds(s)} for s in plan.steps],
        "unchanged": [h.id for h in plan.unchanged],
        "findings": [f.as_json() for f in plan.findings],
    }


def _make(args: argparse.Namespace, err: TextIO) -> tuple[WebhookPlan, DesiredState, int] | None:
    from .._webhooks.plan import make_plan

    desired = _desired(args.file, err)
    if desired is None:
        return None
    # One line per table of the file, not per property it expands to.
    for where, warning in dict.fromkeys((d.where, w) for d in desired.webhooks for w in d.warnings):
        err.write(f"warning: {where}: {warning}\n")
    with channex_client(args) as client:
        account = list(client.webhooks())
    return make_plan(desired, account, prune=args.prune), desired, len(account)


@guarded
def _plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    made = _make(args, err)
    if made is None:
        return EXIT_INVALID
    plan, desired, account = made
    write_json(_plan_json(plan), out) if args.json else _show_plan(plan, desired, account, out)
    return EXIT_PENDING if plan.pending else EXIT_OK


def _report(outcome: StepOutcome, out: TextIO) -> None:
    state = "done  " if outcome.ok else "FAILED"
    out.write(f"{state} {outcome.step.title()}\n")
    if outcome.error:
        out.write("".join(f"    {line}\n" for line in outcome.error.splitlines()))


@guarded
def _apply(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._webhooks.lifecycle import apply_plan

    made = _make(args, err)
    if made is None:
        return EXIT_INVALID
    plan = made[0]
    bar = progress(len(plan.pending), err, "webhook")

    def done(outcome: StepOutcome) -> None:
        bar.update(1)
        _report(outcome, out)

    try:
        with channex_client(args) as client:
            outcomes = apply_plan(client, plan, done)
    finally:
        bar.close()
    failed = sum(not o.ok for o in outcomes)
    held = f", {len(plan.held)} deletion(s) held for --prune" if plan.held else ""
    out.write(f"applied {len(outcomes) - failed} of {len(outcomes)} steps{held}\n")
    if failed:
        err.write(f"eventmask: {failed} step(s) failed; run apply again to resume\n")
    return EXIT_INVALID if failed else EXIT_OK


def _arrivals(proofs: list[Proof], db: str, since: float) -> list[str]:
    """For each proof, what the inbox shows: the entry it became, or why it was refused."""
    import time

    from .._inbox.factory import open_inbox

    if not all(p.ok for p in proofs):
        time.sleep(1.5)  # the receiver writes refusals once a second
    inbox = open_inbox(db, create=False)
    try:
        entries = [e for e in inbox.entries(limit=100_000) if e.received_at >= since]
        refusals = [r for r in inbox.refusals(limit=1_000) if r["at"] >= since]
    finally:
        inbox.close()
    notes = []
    for proof in proofs:
        match = next((e for e in entries if e.property_id == proof.webhook.property_id), None)
        refused = next((r for r in refusals if proof.result and r["status"] ==
                        proof.result.status_code), None)  # fmt: skip
        if proof.ok and match is not None:
            entries.remove(match)
            notes.append(f"arrived as inbox entry {match.id}")
        elif refused is not None:
            refusals.remove(refused)
            notes.append(f"refused by the receiver: {refused['reason']}")
        else:
            notes.append("not found in the inbox")
    return notes


def _proof_line(proof: Proof, note: str | None) -> str:
    hook = proof.webhook
    ok = proof.ok and (note is None or note.startswith("arrived"))
    if proof.error or proof.result is None:
        answer = proof.error or "no result"
    elif proof.result.status_code is None:
        answer = f"no answer ({proof.result.body[:160]})"
    else:
        answer = f"HTTP {proof.result.status_code}"
    tail = f", {note}" if note else ""
    what = f"{hook.id} {hook.property_id or '(global)'} {hook.event_mask}"
    return f"{'ok  ' if ok else 'FAIL'} {what} -> {hook.callback_url}: {answer}{tail}"


@guarded
def _verify(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import time

    from .._webhooks.lifecycle import managed, verify

    desired = _desired(args.file, err) if args.file else None
    if args.file and desired is None:
        return EXIT_INVALID
    with channex_client(args) as client:
        hooks = managed(client.webhooks(), desired)
        since = time.time()
        proofs = verify(client, hooks)
    notes: list[str | None] = [None] * len(proofs)
    if args.inbox:
        notes = list(_arrivals(proofs, args.inbox, since - 1.0))
    good = 0
    for proof, note in zip(proofs, notes, strict=True):
        line = _proof_line(proof, note)
        good += line.startswith("ok")
        out.write(line + "\n")
    out.write(f"verified {good} of {len(proofs)} webhooks\n")
    if not proofs:
        err.write("eventmask: no managed webhook to verify (run apply first?)\n")
    return EXIT_OK if proofs and good == len(proofs) else EXIT_INVALID


def _check_new_secret(client: ChannexClient, new: Webhook, out: TextIO) -> bool:
    probe = client.test(new)
    if probe.ok:
        out.write(f"1/4 the receiver accepts the new secret (HTTP {probe.status_code})\n")
        return True
    out.write(
        f"1/4 the receiver refused the new secret (HTTP {probe.status_code}): add it to the "
        "receiver's accepted secrets first (EVENTMASK_SECRET=old,new) and restart it; "
        "nothing was changed\n"
    )
    return False


@guarded
def _rotate(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._webhooks.lifecycle import apply_plan, posting_to_managed_urls, rotation_steps, verify
    from .._webhooks.plan import WebhookPlan

    desired = _desired(args.file, err)
    if desired is None:
        return EXIT_INVALID
    if not desired.secret_headers:
        err.write(f"eventmask: {desired.source} names no header with {{ env = ... }}: "
                  "nothing to rotate\n")  # fmt: skip
        return EXIT_USAGE
    with channex_client(args) as client:
        account = list(client.webhooks())
        steps = rotation_steps(account, desired)
        if steps and not _check_new_secret(client, steps[0].webhook, out):
            return EXIT_INVALID
        outcomes = apply_plan(client, WebhookPlan(tuple(steps), (), (), prune=False))
        for outcome in outcomes:
            _report(outcome, out)
        out.write(f"2/4 the new secret is on {sum(o.ok for o in outcomes)} of {len(steps)} "
                  "webhooks that needed it\n")  # fmt: skip
        posting = posting_to_managed_urls(client.webhooks(), desired)
        proofs = verify(client, posting)
    others = sum(1 for h in posting if h.key not in {d.key for d in desired.webhooks})
    if others:
        out.write(f"    {others} of them the file does not ask for as they are (a drifted mask, "
                  "or held for --prune): rotated too; `webhooks plan` shows them\n")  # fmt: skip
    for proof in proofs:
        out.write(f"    {_proof_line(proof, None)}\n")
    good = sum(p.ok for p in proofs)
    out.write(f"3/4 verified {good} of {len(proofs)} webhooks posting to the file's URLs\n")
    if good != len(proofs) or not all(o.ok for o in outcomes):
        err.write("eventmask: the rotation is not complete: keep both secrets, fix, run again\n")
        return EXIT_INVALID
    out.write("4/4 every webhook posting to the file's URLs sends the new secret: now drop the "
              "old one from the "
              "receivers (EVENTMASK_SECRET=new) and restart them\n")  # fmt: skip
    return EXIT_OK


def _coverage(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._channex.webhook import Webhook
    from .._webhooks.coverage import coverage
    from .apps import load_router

    if (args.webhooks is None) == (args.existing is None):
        err.write("eventmask: error: coverage needs --webhooks FILE or --existing LIST.json\n")
        return EXIT_USAGE
    try:
        router = load_router(args.app)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        err.write(f"eventmask: cannot load {args.app!r}: {exc}\n")
        return EXIT_USAGE
    if args.webhooks is not None:
        desired = _desired(args.webhooks, err, sends=False)  # coverage sends nothing
        if desired is None:
            return EXIT_USAGE
        hooks = [d.webhook for d in desired.webhooks]
    else:
        doc = read_json(args.existing, err)
        if doc is UNREADABLE:
            return EXIT_USAGE
        data = doc.get("data", []) if isinstance(doc, dict) else doc
        hooks = [Webhook.from_api(e) for e in data if isinstance(e, dict)]
    report = coverage(router, hooks)
    if args.json:
        write_json({"gaps": [{"webhook_id": g.webhook.id, "property_id": g.webhook.property_id,
                              "event_mask": g.webhook.event_mask, "example": g.example}
                             for g in report.gaps],
                    "idle": [r.name for r in report.idle]}, out)  # fmt: skip
    else:
        for gap in report.gaps:
            out.write(f"gap: {gap.describe()}\n  for example: {dumps_text(gap.example)}\n")
        for route in report.idle:
            out.write(f"idle: {route.name}: no subscription feeds this handler\n")
        out.write(f"coverage: {len(report.gaps)} gap(s), {len(report.idle)} idle handler(s)\n")
    return EXIT_OK if report.ok else EXIT_INVALID


def register(sub: Any) -> None:
    """Add the webhooks and coverage commands to the subcommands `sub`."""
    from .common import ArgumentParser

    hooks = sub.add_parser("webhooks", help=about("webhooks"))
    actions = hooks.add_subparsers(dest="action", required=True, parser_class=ArgumentParser)
    for name, run, summary in (
        ("plan", _plan, "what apply would change (exit 0 none, 3 pending, 1 error)"),
        ("apply", _apply, "make Channex hold what the file asks"),
        ("verify", _verify, "have Channex test each managed webhook"),
        ("rotate-secret", _rotate, "put the file's new secret on every managed webhook"),
    ):
        cmd = actions.add_parser(name, help=summary)
        cmd.add_argument("file", metavar="FILE", nargs="?" if name == "verify" else None)
        api_options(cmd)
        if name in ("plan", "apply"):
            cmd.add_argument(
                "--prune",
                action="store_true",
                help="delete webhooks on the file's URLs that it does not ask for",
            )
        if name == "plan":
            cmd.add_argument("--json", action="store_true", help="print the plan as JSON")
        if name == "verify":
            cmd.add_argument("--inbox", metavar="DB",
                             help="also find each test delivery in this inbox")  # fmt: skip
        cmd.set_defaults(run=run)
    cov = sub.add_parser("coverage", help=about("coverage"))
    cov.add_argument("app", metavar="APP", help="module:router")
    cov.add_argument("--webhooks", metavar="FILE", help="the subscriptions: a webhooks file")
    cov.add_argument("--existing", metavar="LIST.json", help="or a GET /webhooks response")
    cov.add_argument("--json", action="store_true", help="print the report as JSON")
    cov.set_defaults(run=_coverage)
