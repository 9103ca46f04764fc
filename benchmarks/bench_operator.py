"""Operator commands on a large SQLite inbox: purge, list and stats at 1M entries.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_operator [--entries 1000000]

The inbox is filled in one transaction with `--entries` entries: 1% pending,
the rest done two weeks ago (a backlog that `purge --older-than 7` removes).  Every
figure is the command's own time past start-up: the command run as
`eventmask ...` on the full inbox minus the same command on an empty inbox,
measured beside it in the same run, best of 3 (the empty run pays every
import and the opening of the file).  The same calls are also timed in this
process (`*_call_ms`).  The purge runs last, on a copy, and is timed once:
it deletes what it measures.  Writes benchmarks/results/operator.json.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eventmask.inbox import SQLiteInbox

from ._common import best_of, write_result

EVENTMASK = str(Path(sys.executable).with_name("eventmask"))
WEEK = 7 * 86_400.0
BODY = b'{"event":"booking_new","property_id":"p","payload":{"booking_id":"%d"}}'


def fill(path: Path, count: int) -> None:
    SQLiteInbox(path).close()  # the schema
    conn = sqlite3.connect(path)
    old = time.time() - 2 * WEEK
    pending = count // 100

    def rows() -> Any:
        for n in range(count):
            done = n >= pending
            at = old + n * 0.001
            yield (at, "booking_new", "p", BODY % n, f"h{n}", f"body:h{n}", at,
                   "done" if done else "pending", at if done else None)  # fmt: skip

    conn.executemany(
        "INSERT INTO eventmask_deliveries (received_at, event, property_id, body, body_hash, "
        "idempotency_key, available_at, state, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows(),
    )
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def run(*args: str) -> float:
    started = time.perf_counter()
    subprocess.run([EVENTMASK, *args], check=True, capture_output=True)
    return time.perf_counter() - started


def best(*args: str, repeat: int = 3) -> float:
    return min(run(*args) for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    result: dict[str, Any] = {"entries": args.entries}
    with tempfile.TemporaryDirectory() as tmp:
        db, empty = Path(tmp) / "inbox.db", Path(tmp) / "empty.db"
        fill(db, args.entries)
        fill(empty, 0)
        commands = {
            "stats": ("inbox", "stats"),
            "list": ("inbox", "list"),
            "list_pending": ("inbox", "list", "--state", "pending"),
            "list_done": ("inbox", "list", "--state", "done"),
            "purge_nothing": ("inbox", "purge", "--older-than", "30"),
        }
        for name, command in commands.items():
            full = best(*command, "--db", str(db))
            result[f"{name}_ms"] = round((full - best(*command, "--db", str(empty))) * 1000, 1)
        inbox = SQLiteInbox(db)
        calls = {
            "stats": inbox.stats,
            "list": inbox.entries,
            "list_pending": lambda: inbox.entries("pending"),
            "purge_nothing": lambda: inbox.purge(30 * 86_400),
        }
        for name, call in calls.items():
            result[f"{name}_call_ms"] = round(best_of(call, repeat=3) * 1000, 2)
        inbox.close()
        copy = Path(tmp) / "copy.db"
        shutil.copy(db, copy)
        took = run("inbox", "purge", "--older-than", "7", "--db", str(copy))
        result["purge_s"] = round(took - best("inbox", "purge", "--db", str(empty)), 2)
        left = sqlite3.connect(copy).execute("SELECT count(*) FROM eventmask_deliveries")
        result["left_after_purge"] = left.fetchone()[0]
    for key, value in result.items():
        print(f"{key:>20}: {value}")
    print("written to", write_result("operator", result))


if __name__ == "__main__":
    main()
