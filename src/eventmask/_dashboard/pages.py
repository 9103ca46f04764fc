"""What each page shows: the inbox's answers, gathered for a template (docs/dashboard.md).

Each function takes the inbox and the request's typed parameters and
returns the template's name and its values.  They block on the database, so
the app runs them in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Final

from .._catalogue import is_uuid
from .._errors import InboxError, InboxUnavailable
from .._inbox.failures import failure_of, one_line
from .._inbox.interface import Inbox
from .._inbox.queries import Range, Timeline
from .._json import dumps_pretty, loads
from .._webhooks.plan import looks_secret
from .charts import stacked
from .params import EntryFilters

__all__ = [
    "NOTICES",
    "Page",
    "dead_letters",
    "entries",
    "entry",
    "entry_named",
    "overview",
    "overview_reads",
    "refusals",
    "retry_group",
]

Page = tuple[str, dict[str, Any]]

# The states in a chart's stack, bottom first.
_STACK: Final = ("done", "pending", "claimed", "dead")
_MASK: Final = "****"


def overview_reads(inbox: Inbox, span: Range) -> list[Callable[[], Any]]:
    """The overview's reads, independent of each other: the app runs them side by side.

    At 1M entries each counts the done entries once (about 120 ms each on
    SQLite, benchmarks/bench_dashboard.py); side by side on two cores the
    page costs the slower of them, not their sum.
    """
    return [inbox.stats, lambda: inbox.timeline(span), lambda: _revisions(inbox)]


def _revisions(inbox: Inbox) -> dict[str, dict[str, Any]]:
    try:
        return inbox.revision_status()
    except InboxError:  # an inbox that keeps no revisions has nothing to show
        return {}


def overview(span: Range, stats: dict[str, Any], timeline: Timeline, revisions: Any) -> Page:
    """The figures of ``eventmask inbox stats`` and the timeline's charts."""
    edges = timeline.edges()
    charts = [
        stacked("Deliveries received, by state now", _STACK, timeline.entries, edges,
                timeline.step),
        stacked("Dead letters, by time received", ("dead",), timeline.entries, edges,
                timeline.step, palette=(3,)),
        stacked("Refusals, by kind", tuple(timeline.refusals), timeline.refusals, edges,
                timeline.step, palette=(3, 1, 2, 0)),
    ]  # fmt: skip
    return "overview.html", {
        "stats": stats,
        "stats_json": dumps_pretty(stats),
        "span": span,
        "step_minutes": int(timeline.step // 60),
        "charts": charts,
        "revisions": revisions,
    }


def entry_named(inbox: Inbox, text: str) -> int | None:
    """The entry that a search text names exactly: an entry id, or a revision id.

    A search for one of these goes straight to its entry, through an index,
    instead of looking through bodies.
    """
    try:
        if text.isdigit() and len(text) < 19:
            return inbox.get(int(text)).id
        if is_uuid(text):
            return inbox.revision_entry(text).id
    except InboxError as exc:
        if isinstance(exc, InboxUnavailable):
            raise
    return None


def entries(inbox: Inbox, filters: EntryFilters) -> Page:
    """One page of entries, filtered, with the link to the next."""
    started = time.perf_counter()
    page = inbox.search(filters.query)
    rows = [(e, one_line(e.last_error, 120)) for e in page.entries]
    following = None
    if page.next_after is not None:
        following = filters.link(after=str(page.next_after))
    return "entries.html", {
        "filters": filters,
        "rows": rows,
        "page": page,
        "following": following,
        "first": filters.link(after=None),
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def _masked(doc: Any) -> Any:
    """A body with every value under a credential-looking key masked (docs/dashboard.md)."""
    if isinstance(doc, dict):
        return {
            k: _MASK if looks_secret(str(k), None) and v else _masked(v) for k, v in doc.items()
        }
    if isinstance(doc, list):
        return [_masked(v) for v in doc]
    return doc


def entry(inbox: Inbox, entry_id: int) -> Page:
    """One entry: its body pretty-printed, every failed attempt, a revision's ack."""
    found = inbox.get(entry_id)
    try:
        body = dumps_pretty(_masked(loads(found.body)))
    except Exception:  # not JSON (refused bodies never reach the inbox; be safe anyway)
        body = found.body.decode("utf-8", "replace")
    attempts = [(a, failure_of(a.error)) for a in inbox.attempts(entry_id)]
    ack = inbox.ack(entry_id) if found.event == "booking_revision" else None
    return "entry.html", {
        "entry": found,
        "body": body,
        "attempts": attempts,
        "last_error": found.last_error,
        "summary": one_line(found.last_error, 200),
        "ack": ack,
    }


def dead_letters(inbox: Inbox) -> Page:
    """Dead letters grouped by exception class and handler."""
    return "dead.html", {"groups": inbox.dead_letter_groups()}


def retry_group(inbox: Inbox, error_class: str, handler: str | None) -> Page:
    """The confirmation of a group's retry: how many entries it will touch."""
    groups = inbox.dead_letter_groups()
    group = next((g for g in groups if (g.error_class, g.handler) == (error_class, handler)), None)
    return "retry_group.html", {"group": group, "error_class": error_class, "handler": handler}


def refusals(inbox: Inbox) -> Page:
    """The kept refusal samples, and the last day's counts by kind."""
    samples = inbox.refusals(100)
    for sample in samples:
        sample["body"] = (sample["body"] or "")[:500]
    # The same counts as ``inbox stats`` (the inbox's own clock, the last 24 hours).
    counts = inbox.stats(done=False)["refused_by_kind_last_24h"]
    return "refusals.html", {"samples": samples, "counts": counts}


# The messages a redirect after an action may show: chosen by key, never echoed.
NOTICES: Final[dict[str, str]] = {
    "retried": "Retried: the entry is pending again, its attempts reset.",
    "replayed": "Replayed: this is the new entry, with a key of its own.",
    "group-retried": "Retried the group: its dead letters are pending again.",
}
