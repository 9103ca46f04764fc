"""Inbox backends side by side: drain rate by number of workers, ingest with 2 receivers.

Run: .venv/bin/python -m benchmarks.bench_inbox [--entries 20000] [--seconds 15]
     [--only drain|ingest] [--app effect|noop] [--workers 1,2,4,8]

Starts a throwaway PostgreSQL (tests/pgserver.py).  Every worker is an
`eventmask worker` process with one worker thread; its handler
(benchmarks/apps.py:effect) inserts one row through `current_delivery()`,
the exactly-once path a PMS uses.  For
each worker count, SQLite and PostgreSQL run one after the other on the
same number of entries.  The drain rate is entries / (last done_at - first
done_at).  Ingest: two `eventmask serve --workers 0` processes on one inbox,
each loaded by its own wrk (needs wrk: apt-get install wrk).

Writes benchmarks/results/inbox.json, inbox_drain.csv and inbox_drain.png.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec
from tests.apps import EFFECTS_TABLE
from tests.pgserver import ThrowawayPostgres

from eventmask.inbox import Envelope, open_inbox

from ._common import RESULTS, ROOT, pyplot, write_result
from .bench_receiver import LUA, _port, _start, wrk

EVENTMASK = str(Path(sys.executable).with_name("eventmask"))
WORKER_COUNTS = (1, 2, 4, 8)


class Databases:
    """A fresh inbox per measurement: a new SQLite file, or a new PostgreSQL database."""

    def __init__(self, server: ThrowawayPostgres, work: Path) -> None:
        self.server = server
        self.work = work
        self.n = 0

    def new(self, backend: str) -> str:
        self.n += 1
        if backend == "sqlite":
            url = str(self.work / f"inbox-{self.n}.db")
        else:
            url = self.server.create_database(f"bench_{self.n}")
        subprocess.run(
            [EVENTMASK, "inbox", "migrate", "--db", url], check=True, capture_output=True
        )
        execute(url, EFFECTS_TABLE)
        return url


def execute(url: str, statement: str) -> list[Any]:
    if "://" in url:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            cur = conn.execute(statement)
            return cur.fetchall() if cur.description else []
    conn = sqlite3.connect(url)
    try:
        return conn.execute(statement).fetchall()
    finally:
        conn.commit()
        conn.close()


async def _fill(url: str, entries: int) -> None:
    inbox = open_inbox(url)
    try:
        docs = [
            {"event": "message", "property_id": "p", "payload": {"delivery": f"b{n}"}}
            for n in range(entries)
        ]
        for start in range(0, entries, 2_000):
            chunk = docs[start : start + 2_000]
            await asyncio.gather(
                *(inbox.aput(Envelope.of(msgspec.json.encode(d), d)) for d in chunk)
            )
    finally:
        inbox.close()


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


# The handlers a drain runs: one that inserts a row through `current_delivery()`
# (a PMS's exactly-once path), and one that does nothing (the inbox's own cost).
APPS = {"effect": "benchmarks.apps:effect", "noop": "benchmarks.apps:router"}


def drain(url: str, entries: int, workers: int, app: str = "effect") -> dict[str, Any]:
    asyncio.run(_fill(url, entries))
    busy_before, total_before = cpu_times()
    env = {**os.environ, "EVENTMASK_DB": url}
    procs = [
        subprocess.Popen(
            [EVENTMASK, "worker", APPS[app], "--log-level", "warning"],
            cwd=ROOT,
            env=env,
        )
        for _ in range(workers)
    ]
    try:
        deadline = time.monotonic() + 600
        while True:
            ((left,),) = execute(
                url,
                "SELECT count(*) FROM eventmask_deliveries WHERE state IN ('pending', 'claimed')",
            )
            if left == 0:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{left} entries left after 600 s")
            time.sleep(0.1)
    finally:
        busy_after, total_after = cpu_times()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
    cpu = (busy_after - busy_before) / max(total_after - total_before, 1)
    ((first, last, done),) = execute(
        url,
        "SELECT min(done_at), max(done_at), count(*) FROM eventmask_deliveries "
        "WHERE state = 'done'",
    )
    effects = distinct = entries
    if app == "effect":
        ((effects, distinct),) = execute(
            url, "SELECT count(*), count(DISTINCT delivery) FROM effects"
        )
    if not done == effects == distinct == entries:
        raise RuntimeError(f"not exactly once: {done} done, {effects} effects, {distinct} distinct")
    return {
        "per_s": round(entries / (last - first)),
        "seconds": round(last - first, 2),
        "cpu_busy": round(cpu, 2),
    }


def ingest(url: str, receivers: int, seconds: int, connections: int, work: Path) -> dict[str, Any]:
    """Requests/s acknowledged by `receivers` receiver processes sharing one inbox."""
    ports = [_port() for _ in range(receivers)]
    scripts = {}
    for port in ports:
        # Lua's random numbers start from the same seed in every wrk process:
        # without a prefix of its own, two wrk would send the same bodies,
        # which the inbox would rightly store once.
        scripts[port] = work / f"post-{port}.lua"
        scripts[port].write_text(LUA.replace("'\"}}'", f"'-{port}\"}}}}'"))
    procs = []
    os.environ["EVENTMASK_DB"] = url  # bench_receiver._start passes os.environ on
    try:
        for port in ports:
            argv = [EVENTMASK, "serve", "benchmarks.apps:router", "--workers", "0"]
            argv += ["--port", str(port), "--log-level", "warning"]
            procs.append(_start(argv, port))
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(receivers) as pool:
            results = list(
                pool.map(
                    lambda port: wrk(port, seconds, connections // receivers, scripts[port]),
                    ports,
                )
            )
    finally:
        os.environ.pop("EVENTMASK_DB", None)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    ((stored,),) = execute(url, "SELECT count(*) FROM eventmask_deliveries")
    acknowledged = sum(r["requests"] for r in results)
    if stored < acknowledged:
        raise RuntimeError(f"{acknowledged} deliveries acknowledged, only {stored} stored")
    return {
        "acknowledged": acknowledged,
        "requests_per_s": sum(r["requests_per_s"] for r in results),
        "p99_ms": max(r["p99_ms"] for r in results),
        "non_2xx": sum(r["non_2xx"] for r in results),
        "stored": stored,
    }


def plot(rows: list[dict[str, Any]]) -> None:
    plt = pyplot()
    if plt is None:
        return

    fig, ax = plt.subplots(figsize=(6, 4))
    for backend in ("sqlite", "postgresql"):
        points = [(r["workers"], r[backend]) for r in rows]
        ax.plot(*zip(*points, strict=True), "o-", label=backend)
    ax.set_xlabel("worker processes")
    ax.set_ylabel("deliveries/s drained")
    ax.set_xticks(list(WORKER_COUNTS))
    ax.set_title(f"Inbox drain rate, {os.cpu_count()} CPU cores, handler writes one row")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "inbox_drain.png", dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=20_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--only", choices=["drain", "ingest"], help="run one half")
    parser.add_argument(
        "--app",
        choices=list(APPS),
        default="effect",
        help="the drain's handler: a row inserted per entry, or nothing",
    )
    parser.add_argument("--workers", default=",".join(map(str, WORKER_COUNTS)),
                        help="the worker counts of the drain, comma-separated")  # fmt: skip
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    work = Path(tempfile.mkdtemp(prefix="eventmask-inbox-bench-"))
    figures: dict[str, Any] = {"entries": args.entries, "cpus": os.cpu_count(), "app": args.app}
    with ThrowawayPostgres() as server:
        dbs = Databases(server, work)
        rows = []
        for workers in counts if args.only != "ingest" else ():
            row: dict[str, Any] = {"workers": workers}
            for backend in ("sqlite", "postgresql"):
                result = drain(dbs.new(backend), args.entries, workers, args.app)
                row[backend] = result["per_s"]
                row[f"{backend}_cpu_busy"] = result["cpu_busy"]
            row["postgresql_vs_sqlite"] = round(row["postgresql"] / row["sqlite"], 2)
            print(row, flush=True)
            rows.append(row)
        if rows:
            figures["drain_per_s"] = rows
        if args.only == "drain":
            pass
        elif shutil.which("wrk") is None:
            print("no wrk: skipping the ingest figures (apt-get install wrk)")
        else:
            figures["ingest"] = {}
            for backend in ("sqlite", "postgresql"):
                for receivers in (1, 2):
                    key = f"{backend}_{receivers}_receivers"
                    figures["ingest"][key] = ingest(
                        dbs.new(backend), receivers, args.seconds, args.connections, work
                    )
                    print(key, figures["ingest"][key], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if rows and args.app == "effect" and counts == list(WORKER_COUNTS):  # the full chart
        with (RESULTS / "inbox_drain.csv").open("w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        plot(rows)
    name = "inbox" if args.only is None else f"inbox_{args.only}"
    write_result(name if args.app == "effect" else f"{name}_{args.app}", figures)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
