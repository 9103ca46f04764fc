"""The SQLite claim at a small and a large backlog, side by side in one run.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_claim [--small 20000] [--large 1000000]

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

from eventmask.inbox import InboxSettings, SQLiteInbox

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


def claim_ms(path: Path, claims: int = 200) -> float:
    inbox = SQLiteInbox(path, InboxSettings(lease=60))
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
    with tempfile.TemporaryDirectory() as tmp:
        paths = {size: Path(tmp) / f"inbox-{size}.db" for size in (args.small, args.large)}
        for size, path in paths.items():
            fill(path, size)
        for size, path in paths.items():  # measured one after the other, in one run
            result[f"claim_ms_at_{size}"] = round(claim_ms(path), 3)
    result["large_over_small"] = round(
        result[f"claim_ms_at_{args.large}"] / result[f"claim_ms_at_{args.small}"], 2
    )
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    print("written to", write_result("claim", result))


if __name__ == "__main__":
    main()
