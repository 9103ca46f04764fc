"""Booking revisions on SQLite against the local Channex stand-in: pull, handle, ack.

Run: PYTHONPATH=. .venv/bin/python -m benchmarks.bench_revisions [--revisions 5000]

The stand-in (tests/channex_api.py) serves the feed and takes the acks over
loopback HTTP, once in a thread of this process and once in a process of its
own (`benchmarks/standin_process.py`), side by side in one run: in a thread
it shares this process's GIL with the client and the worker, which is not
how Channex is reached.  A `RevisionFlow` pulls the feed into a SQLite
inbox, a `Worker` with a no-op `on_revision` handler handles every revision,
and the flow acks them.  Each phase is timed on its own, and then the whole
(handled and acked) per second.

Writes benchmarks/results/revisions.json.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from tests.channex_api import API_KEY, serving

from eventmask import Router
from eventmask.channex import BookingRevision, ChannexClient
from eventmask.inbox import SQLiteInbox, Worker

from ._common import ROOT, write_result
from .standin_process import revisions


def _cpu_of(pid: int) -> float:
    """CPU seconds (user and system) that process `pid` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def in_thread(count: int) -> Iterator[tuple[str, Callable[[], float] | None]]:
    with serving() as (url, standin):
        standin.revisions.add(*revisions(count))
        yield url, None  # its CPU is this process's


@contextlib.contextmanager
def in_process(count: int) -> Iterator[tuple[str, Callable[[], float] | None]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "benchmarks.standin_process", "--revisions", str(count)]
    with subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            url = proc.stdout.readline().strip()
            deadline = time.monotonic() + 30
            while True:  # serving once it answers
                try:
                    httpx.get(f"{url}/webhooks", headers={"user-api-key": API_KEY})
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the stand-in did not start"
                    time.sleep(0.05)
            yield url, lambda: _cpu_of(proc.pid)
        finally:
            proc.terminate()


def run(url: str, count: int, server_cpu: Callable[[], float] | None) -> dict[str, Any]:
    from eventmask._service.revisions import RevisionFlow

    router = Router()

    @router.on_revision()
    def noop(revision: BookingRevision) -> None:
        del revision

    with tempfile.TemporaryDirectory() as tmp, ChannexClient(url, API_KEY) as client:
        inbox = SQLiteInbox(Path(tmp) / "inbox.db")
        try:
            flow = RevisionFlow(inbox, client)
            began = time.perf_counter()
            flow.pull()
            pulled = time.perf_counter()
            worker = Worker(inbox, router, revisions=flow, batch=64)
            while worker.run_once():
                pass
            handled = time.perf_counter()
            ours, theirs = time.process_time(), server_cpu() if server_cpu else 0.0
            while flow.ack_due(500):
                pass
            acked = time.perf_counter()
            ours, theirs = time.process_time() - ours, (server_cpu() - theirs if server_cpu else 0)
            left = sum(1 for _ in client.feed_entries())  # the feed holds unacked ones only
        finally:
            inbox.close()
    assert left == 0, f"{left} revisions not acknowledged"
    return {
        "pull_per_s": round(count / (pulled - began)),
        "handle_per_s": round(count / (handled - pulled)),
        "ack_per_s": round(count / (acked - handled)),
        "handled_and_acked_per_s": round(count / (acked - pulled)),
        # What bounds the acks: CPU per ack on each side (a core is 1 s a second).
        "ack_cpu_ms_here": round(1000 * ours / count, 3),
        "ack_cpu_ms_standin": round(1000 * theirs / count, 3) if server_cpu else None,
        "ack_cores_busy": round((ours + theirs) / (acked - handled), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=5_000)
    args = parser.parse_args()
    result: dict[str, Any] = {"revisions": args.revisions}
    for name, standin in (("thread", in_thread), ("process", in_process)):
        with standin(args.revisions) as (url, cpu):
            result[f"standin_in_{name}"] = run(url, args.revisions, cpu)
    for key, value in result.items():
        print(f"{key:>20}: {value}")
    print("written to", write_result("revisions", result))


if __name__ == "__main__":
    main()
