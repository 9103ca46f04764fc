"""Booking revisions on SQLite against the local Channex stand-in: pull, handle, ack.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_revisions [--revisions 5000]

The stand-in (tests/channex_api.py) serves the feed and takes the acks over
loopback HTTP, in a thread of this process; a `RevisionFlow` pulls the feed
into a SQLite inbox, a `Worker` with a no-op `on_revision` handler handles
every revision, and the flow acks them.  Each phase is timed on its own, and
then the whole (handled and acked) per second.  What bounds each phase is
printed beside it: feed requests, commits, HTTP round trips.

Writes benchmarks/results/revisions.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.channex_api import API_KEY, serving

from eventmask import Router
from eventmask.channex import BookingRevision, ChannexClient
from eventmask.inbox import SQLiteInbox, Worker
from eventmask.testing import revision_attributes

from ._common import write_result

PROPERTIES = [f"00000000-0000-4000-8000-{n:012d}" for n in range(20)]


def run(count: int) -> dict[str, Any]:
    from eventmask._service.revisions import RevisionFlow

    start = dt.datetime(2026, 5, 1)
    revisions = [
        revision_attributes(
            property_id=PROPERTIES[n % 20], inserted_at=start + dt.timedelta(seconds=n)
        )
        for n in range(count)
    ]
    router = Router()

    @router.on_revision()
    def noop(revision: BookingRevision) -> None:
        del revision

    with serving() as (url, standin), tempfile.TemporaryDirectory() as tmp:
        standin.revisions.add(*revisions)
        inbox = SQLiteInbox(Path(tmp) / "inbox.db")
        client = ChannexClient(url, API_KEY)
        try:
            flow = RevisionFlow(inbox, client)
            began = time.perf_counter()
            flow.pull()
            pulled = time.perf_counter()
            worker = Worker(inbox, router, revisions=flow, batch=64)
            while worker.run_once():
                pass
            handled = time.perf_counter()
            while flow.ack_due(500):
                pass
            acked = time.perf_counter()
        finally:
            client.close()
            inbox.close()
        assert len(standin.revisions.acks) == count, len(standin.revisions.acks)
        feed_requests = standin.revisions.feed_requests
    return {
        "revisions": count,
        "feed_requests": feed_requests,
        "pull_s": round(pulled - began, 3),
        "pull_per_s": round(count / (pulled - began)),
        "handle_s": round(handled - pulled, 3),
        "handle_per_s": round(count / (handled - pulled)),
        "ack_s": round(acked - handled, 3),
        "ack_per_s": round(count / (acked - handled)),
        "handled_and_acked_per_s": round(count / (acked - pulled)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=5_000)
    args = parser.parse_args()
    result = run(args.revisions)
    for key, value in result.items():
        print(f"{key:>26}: {value}")
    print("written to", write_result("revisions", result))


if __name__ == "__main__":
    main()
