"""The claim at a small and a large backlog, side by side in one run, on both backends.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_claim [--small 20000] [--large 1000000]

PostgreSQL runs in a throwaway server (tests/pgserver.py), filled by one
INSERT from generate_series, and is measured twice: fresh, before its
statistics know the backlog (as right after an outage, until autovacuum
analyzes the table), then analyzed.

Each inbox is filled with pending entries in one transaction (the bodies
are small: the claim's cost is in finding entries, not in reading them),
then 200 claims of 16 are timed, each given back at once so that the backlog
stays the same.  The figure is milliseconds per claim, best of 3 rounds, and
the ratio large/small: a claim that does not slow down with the backlog
stays near 1.  Writes benchmarks/results/claim.json.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.pgserver import ThrowawayPostgres

from eventmask.inbox import InboxSettings, SQLiteInbox, open_inbox

from ._common import write_result


def fill(path: Path, count: int) -> None:
    SQLiteInbox(path).close()  # the schema
    conn = sqlite3.connect(path)
    now = time.time() - 10
    rows = ((now, "message", "p", b'{"event":"message"}', f"h{n}", f"body:h{n}", now)
            for n in range(count))  # fmt: skip
    conn.executemany(
        "INSERT INTO eventmask_deliveries (received_at, event, property_id, body, body_hash, "
        "idempotency_key, available_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.commit()
    conn.close()


def fill_postgres(url: str, count: int) -> None:
    import psycopg

    open_inbox(url, migrate=True).close()  # the schema
    now = time.time() - 10
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO eventmask_deliveries (received_at, event, property_id, body, "
            "body_hash, idempotency_key, available_at) SELECT %s, 'message', 'p', "
            "'{\"event\":\"message\"}'::bytea, 'h' || n, 'body:h' || n, %s "
            "FROM generate_series(1, %s) AS n",
            (now, now, count),
        )


def analyze(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE eventmask_deliveries")


def claim_ms(where: Path | str, claims: int = 200) -> float:
    settings = InboxSettings(lease=60)
    inbox = SQLiteInbox(where, settings) if isinstance(where, Path) else open_inbox(where, settings)
    try:
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            for _ in range(claims):
                assert len(inbox.claim("bench", 16)) == 16
                inbox.release("bench")
            best = min(best, (time.perf_counter() - started) / claims * 1000)
        return best
    finally:
        inbox.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    args = parser.parse_args()
    result: dict[str, Any] = {}
    sizes = (args.small, args.large)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {size: Path(tmp) / f"inbox-{size}.db" for size in sizes}
        for size, path in paths.items():
            fill(path, size)
        for size, path in paths.items():  # measured one after the other, in one run
            result[f"claim_ms_at_{size}"] = round(claim_ms(path), 3)
    result["large_over_small"] = round(
        result[f"claim_ms_at_{args.large}"] / result[f"claim_ms_at_{args.small}"], 2
    )
    with ThrowawayPostgres() as server:
        urls = {size: server.create_database(f"claim_{size}") for size in sizes}
        for size, url in urls.items():
            fill_postgres(url, size)
        for stats in ("fresh", "analyzed"):
            for size, url in urls.items():
                if stats == "analyzed":
                    analyze(url)
                result[f"postgresql_{stats}_claim_ms_at_{size}"] = round(claim_ms(url), 3)
            result[f"postgresql_{stats}_large_over_small"] = round(
                result[f"postgresql_{stats}_claim_ms_at_{args.large}"]
                / result[f"postgresql_{stats}_claim_ms_at_{args.small}"],
                2,
            )
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    print("written to", write_result("claim", result))


if __name__ == "__main__":
    main()
