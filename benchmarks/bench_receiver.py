"""Receiver throughput and latency: a bare ASGI app, inline mode, the durable inbox.

Run: .venv/bin/python -m benchmarks.bench_receiver [--seconds 20] [--connections 50]
Needs wrk (apt-get install wrk).  Each setup runs in its own uvicorn process
on loopback; every request carries a distinct body, so deduplication does
not make the inbox's work disappear.  Also measures a worker's drain rate.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from ._common import ROOT, write_result

LUA = """
local counter = 0
function setup(thread)
  thread:set("tid", math.random(1, 1000000000))
end
request = function()
  counter = counter + 1
  local body = '{"event":"message","property_id":"p","payload":{"delivery":"'
    .. tid .. '-' .. counter .. '"}}'
  return wrk.format("POST", "/channex",
    {["X-Channex-Webhook-Secret"] = "bench-secret-0123456789",
     ["Content-Type"] = "application/json"}, body)
end
"""


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "EVENTMASK_SECRET": "bench-secret-0123456789"}
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {argv}")


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port: int, seconds: int, connections: int, script: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/channex",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "50%" not in out:
        raise RuntimeError(f"wrk failed:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "requests_per_s": round(rps),
        "requests": int(total.group(1)) if total else 0,
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(0) if errors else "",  # type: ignore[dict-item]
    }


def drain_rate(entries: int, workers: int, work: Path) -> float:
    """Deliveries/s a worker pool takes to empty an inbox filled with `entries`."""
    import msgspec

    from eventmask.inbox import Envelope, SQLiteInbox, Worker

    from .apps import router

    db = work / f"drain-{workers}.db"
    db.unlink(missing_ok=True)
    inbox = SQLiteInbox(db)
    docs = [{"event": "message", "payload": {"delivery": n}} for n in range(entries)]
    for doc in docs:
        inbox.put(Envelope.of(msgspec.json.encode(doc), doc))
    pool = [Worker(inbox, router, batch=64, idle=0.01) for _ in range(workers)]
    started = time.perf_counter()
    for worker in pool:
        worker.start()
    while inbox.stats()["done"] < entries:
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    for worker in pool:
        worker.stop()
    inbox.close()
    return entries / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--only", nargs="*", default=None, help="run only these setups")
    parser.add_argument("--no-drain", action="store_true", help="skip the drain rates")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_receiver needs wrk: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="eventmask-receiver-"))
    script = work / "post.lua"
    script.write_text(LUA)
    eventmask = str(Path(sys.executable).with_name("eventmask"))

    def bare(*extra: str) -> Callable[[int], list[str]]:
        return lambda p: [sys.executable, "-m", "uvicorn", "benchmarks.apps:bare", "--port",
                          str(p), *extra, "--log-level", "warning", "--no-access-log"]  # fmt: skip

    def serve(*extra: str) -> Callable[[int], list[str]]:
        return lambda p: [eventmask, "serve", "benchmarks.apps:router", *extra, "--path",
                          "/channex", "--port", str(p), "--log-level", "warning"]  # fmt: skip

    setups = {
        "bare_asgi": bare(),
        # The same floor behind eventmask's header deadline and connection cap.
        "bare_asgi_guarded": lambda p: [sys.executable, "-m", "benchmarks.apps", str(p)],
        "inline": serve("--inline"),
        "durable_inbox": serve("--db", str(work / "inbox.db")),
        # The same, with no worker in this process: what the receiver itself
        # acknowledges when workers run elsewhere (eventmask worker).
        "durable_inbox_ingest_only": serve("--db", str(work / "ingest.db"), "--workers", "0"),
        # The floor again, in two processes: what --receivers 2 is measured against.
        "bare_asgi_2_processes": bare("--workers", "2"),
        # Storing only, in two receiver processes on one port (serve --receivers 2).
        "durable_inbox_ingest_only_2_receivers": serve(
            "--db", str(work / "ingest2.db"), "--workers", "0", "--receivers", "2"
        ),
    }
    figures: dict[str, object] = {"seconds": args.seconds, "connections": args.connections}
    for name, argv in setups.items():
        if args.only and name not in args.only:
            continue
        port = _port()
        proc = _start(argv(port), port)
        try:
            figures[name] = wrk(port, args.seconds, args.connections, script)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
        print(name, figures[name])
    if args.only:  # a partial run: printed above, not written over the full result
        return
    bare = figures["bare_asgi"]["requests_per_s"]  # type: ignore[index]
    durable = figures["durable_inbox"]["requests_per_s"]  # type: ignore[index]
    figures["durable_vs_bare"] = round(durable / bare, 2)
    guarded = figures["bare_asgi_guarded"]["requests_per_s"]  # type: ignore[index]
    figures["guarded_vs_bare"] = round(guarded / bare, 2)
    print("guarded/bare", figures["guarded_vs_bare"])
    ingest = figures["durable_inbox_ingest_only"]["requests_per_s"]  # type: ignore[index]
    figures["durable_ingest_only_vs_bare"] = round(ingest / bare, 2)
    two = figures["durable_inbox_ingest_only_2_receivers"]["requests_per_s"]  # type: ignore[index]
    bare2 = figures["bare_asgi_2_processes"]["requests_per_s"]  # type: ignore[index]
    figures["ingest_2_receivers_vs_bare_2_processes"] = round(two / bare2, 2)
    print(
        "ingest only, 2 receivers / bare in 2 processes",
        figures["ingest_2_receivers_vs_bare_2_processes"],
    )
    if not args.no_drain:
        figures["drain_per_s"] = {w: round(drain_rate(20_000, w, work)) for w in (1, 2)}
    print("durable/bare", figures["durable_vs_bare"], "(goal >= 0.5)")
    print("durable ingest only/bare", figures["durable_ingest_only_vs_bare"])
    print("drain rate (deliveries/s by workers):", figures.get("drain_per_s"))
    write_result("receiver", figures)


if __name__ == "__main__":
    main()
