"""The operator's page on a large inbox: every page's time past start-up at 1M entries.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_dashboard [--entries 1000000]

Each backend's inbox (SQLite, and PostgreSQL in a throwaway server) is filled
in one transaction: `--entries` entries spread
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from tests.helpers import Server

from eventmask.dashboard import Dashboard
from eventmask.inbox import Inbox, SQLiteInbox

from ._common import best_of, write_result

WEEK = 7 * 86_400.0
BODY = (b'{"event":"booking_new","property_id":"%s","payload":{"booking_id":"b-%d",'
        b'"revision_id":"r-%d","ota_reservation_code":"OTA-%d"}}')  # fmt: skip
ERRORS = (
    "save <- booking_new: Traceback (most recent call last):\n  File ...\nKeyError: 'room'",
    "save <- booking_new: Traceback (most recent call last):\n  File ...\nValueError: rate",
    "worker lease expired",
)


COLUMNS = (
    "received_at, event, property_id, body, body_hash, idempotency_key, available_at, state, "
    "done_at, last_error, attempts"
)


def rows(count: int) -> Iterator[tuple[Any, ...]]:
    """`count` entries over the last week: 97% done, 1% pending, 2% dead of three kinds."""
    start = time.time() - WEEK + 60
    for n in range(count):
        at = start + n * (WEEK - 120) / max(count, 1)
        kind = n % 100
        state = "pending" if kind == 0 else "dead" if kind in (1, 2) else "done"
        error = ERRORS[n % 3] if state == "dead" else None
        body = BODY % (b"p%d" % (n % 20), n, n, n)
        yield (at, "booking_new", f"p{n % 20}", body, f"h{n}", f"body:h{n}", at, state,
               at + 1 if state == "done" else None, error, 1)  # fmt: skip


def fill_sqlite(path: Path, count: int) -> SQLiteInbox:
    SQLiteInbox(path).close()  # the schema
    conn = sqlite3.connect(path)
    marks = ", ".join("?" * len(COLUMNS.split(",")))
    conn.executemany(f"INSERT INTO eventmask_deliveries ({COLUMNS}) VALUES ({marks})", rows(count))
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()
    return SQLiteInbox(path)


def fill_postgres(url: str, count: int) -> Inbox:
    import psycopg

    from eventmask.inbox import PostgresInbox

    PostgresInbox(url, migrate=True).close()
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor().copy(f"COPY eventmask_deliveries ({COLUMNS}) FROM STDIN") as copy:
            for row in rows(count):
                copy.write_row(row)
        conn.execute("VACUUM ANALYZE eventmask_deliveries")
    return PostgresInbox(url)


def measure(inbox: Inbox, pages: dict[str, str]) -> dict[str, float]:
    """Each page's best of 5 over one keep-alive connection, and the floor beside them."""
    result: dict[str, float] = {}
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
    result["worst_page_ms"] = max(v for k, v in result.items() if k != "floor_ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
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
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            started = time.perf_counter()
            if backend == "sqlite":
                inbox = fill_sqlite(Path(tmp) / "inbox.db", args.entries)
                figures = {"fill_s": round(time.perf_counter() - started, 1)}
                figures.update(measure(inbox, pages))
                inbox.close()
            else:
                from tests.pgserver import ThrowawayPostgres

                with ThrowawayPostgres(shared_buffers="512MB") as server:
                    inbox = fill_postgres(server.url, args.entries)
                    figures = {"fill_s": round(time.perf_counter() - started, 1)}
                    figures.update(measure(inbox, pages))
                    inbox.close()
            result[backend] = figures
    for backend in backends:
        print(backend)
        for key, value in result[backend].items():
            print(f"{key:>26}: {value}")
    print("written to", write_result("dashboard", result))


if __name__ == "__main__":
    main()
