"""The operator's page on a large inbox: every page's time past start-up at 1M entries.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_dashboard [--entries 1000000]

The SQLite inbox is filled in one transaction: `--entries` entries spread
over the last week, 97% done, 1% pending, 2% dead letters of three kinds,
each body a booking notification of about 200 bytes.  The dashboard is
served by uvicorn on loopback, one warm-up request first; each figure is
the best of 5 requests over one keep-alive connection, so it is the page's
own time (the inbox's queries, the template, the HTTP exchange), not the
start of a process.  Beside each page the same request to a page that
reads nothing (the stylesheet) is the floor.  Writes
benchmarks/results/dashboard.json.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from tests.helpers import Server

from eventmask.dashboard import Dashboard
from eventmask.inbox import SQLiteInbox

from ._common import best_of, write_result

WEEK = 7 * 86_400.0
BODY = (b'{"event":"booking_new","property_id":"%s","payload":{"booking_id":"b-%d",'
        b'"revision_id":"r-%d","ota_reservation_code":"OTA-%d"}}')  # fmt: skip
ERRORS = (
    "save <- booking_new: Traceback (most recent call last):\n  File ...\nKeyError: 'room'",
    "save <- booking_new: Traceback (most recent call last):\n  File ...\nValueError: rate",
    "worker lease expired",
)


def fill(path: Path, count: int) -> None:
    SQLiteInbox(path).close()  # the schema
    conn = sqlite3.connect(path)
    start = time.time() - WEEK + 60

    def rows() -> Any:
        for n in range(count):
            at = start + n * (WEEK - 120) / max(count, 1)
            kind = n % 100
            state = "pending" if kind == 0 else "dead" if kind in (1, 2) else "done"
            error = ERRORS[n % 3] if state == "dead" else None
            body = BODY % (b"p%d" % (n % 20), n, n, n)
            yield (at, "booking_new", f"p{n % 20}", body, f"h{n}", f"body:h{n}", at, state,
                   at + 1 if state == "done" else None, error, 1)  # fmt: skip

    conn.executemany(
        "INSERT INTO eventmask_deliveries (received_at, event, property_id, body, body_hash, "
        "idempotency_key, available_at, state, done_at, last_error, attempts) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    middle = args.entries // 2
    pages = {
        "overview_hour": "/",
        "overview_day": "/?range=day",
        "overview_week": "/?range=week",
        "entries": "/entries",
        "entries_dead": "/entries?state=dead",
        "entries_dead_pending": "/entries?state=dead&state=pending&order=oldest",
        "entries_error_class": "/entries?error=ValueError",
        "entries_property_day": "/entries?property=p7&since="
        + time.strftime("%Y-%m-%d", time.gmtime(time.time() - 3 * 86_400)),
        "entries_deep_page": f"/entries?after={middle}",
        "search_rare_id": f"/entries?q=OTA-{middle}",
        "search_entry_id": f"/entries?q={middle}",
        "entry": f"/entries/{middle}",
        "dead_groups": "/dead",
        "refusals": "/refusals",
    }
    result: dict[str, Any] = {"entries": args.entries}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "inbox.db"
        started = time.perf_counter()
        fill(db, args.entries)
        result["fill_s"] = round(time.perf_counter() - started, 1)
        inbox = SQLiteInbox(db)
        with (
            Server(Dashboard(inbox)) as url,
            httpx.Client(base_url=url, follow_redirects=True) as client,
        ):
            floor = best_of(lambda: client.get("/static/dashboard.css"), repeat=5)
            result["floor_ms"] = round(floor * 1000, 2)
            for name, path in pages.items():
                answer = client.get(path)  # the warm-up; and it must answer
                assert answer.status_code == 200, (path, answer.text[:300])
                took = best_of(lambda p=path: client.get(p), repeat=5)  # type: ignore[misc]
                result[f"{name}_ms"] = round(took * 1000, 1)
        inbox.close()
    worst = max(v for k, v in result.items() if k.endswith("_ms") and k != "floor_ms")
    result["worst_page_ms"] = worst
    for key, value in result.items():
        print(f"{key:>26}: {value}")
    print("written to", write_result("dashboard", result))


if __name__ == "__main__":
    main()
