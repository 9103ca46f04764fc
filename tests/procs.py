"""Real eventmask processes for the tests: receivers (`serve`) and workers, killable at will."""

from __future__ import annotations

import json
import os
import queue
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from .conftest import ROOT
from .helpers import dumps

EVENTMASK = str(Path(sys.executable).with_name("eventmask"))
SECRET = "crash-test-secret"

# Every process started here, so that a failing test leaves none running.
started: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(server: int, marker: bytes) -> set[int]:
    """The pids of the child processes of `server` whose argv has the element `marker`."""
    found = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if parent == server and marker in argv:
            found.add(int(pid))
    return found


def kill_leftovers() -> None:
    while started:
        proc = started.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


class Proc:
    """An `eventmask serve` or `eventmask worker` process that can be killed and started again.

    The inbox URL goes in EVENTMASK_DB, as it would in a deployment.
    """

    def __init__(
        self,
        tmp: Path,
        app: str,
        *extra: str,
        sleep: str = "0",
        db: str | None = None,
        command: str = "serve",
        name: str = "serve",
        open_files: int | None = None,
    ) -> None:
        self.db = db or str(tmp / "inbox.db")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = command
        self.argv = [EVENTMASK, command, app, "--log-level", "warning", *extra]
        if command == "serve":
            self.argv += ["--port", str(self.port), "--path", "/channex"]
        self.env = {
            **os.environ,
            "EVENTMASK_DB": self.db,
            "EVENTMASK_SECRET": f"old-secret-still-valid,{SECRET}",
            "EVENTMASK_TEST_HANDLER_SLEEP": sleep,
        }
        self.log_path = tmp / f"{name}.log"
        self.log = self.log_path.open("ab")
        self.open_files = open_files
        self.proc: subprocess.Popen[bytes] | None = None

    def _limit(self) -> None:
        if self.open_files is not None:  # soft and hard: serve cannot raise it
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_files, self.open_files))

    def start(self, wait: bool = True, stderr: Any = None) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=self.log if stderr is None else stderr,
            preexec_fn=self._limit if self.open_files is not None else None,
        )
        started.append(self.proc)
        if wait and self.command == "serve":
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            assert self.proc.poll() is None, f"eventmask {self.command} exited"
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("eventmask serve did not become healthy")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)


def deliver(urls: list[str], doc: dict[str, Any], stop_at: float) -> None:
    """Post like Channex: retry on 5xx, connection errors and timeouts until a 2xx.

    With several receivers (behind a load balancer) each retry goes to the next one.
    """
    body = dumps(doc)
    attempt = 0
    while time.monotonic() < stop_at:
        url = urls[attempt % len(urls)]
        attempt += 1
        try:
            response = httpx.post(
                f"{url}/channex",
                content=body,
                headers={"X-Channex-Webhook-Secret": SECRET},
                timeout=2,
            )
        except httpx.HTTPError:
            time.sleep(0.05)
            continue
        if response.status_code < 300:
            return
        assert response.status_code >= 500, response.text  # a 4xx would be final: a loss
        time.sleep(0.05)
    raise AssertionError(f"delivery {doc['payload']['delivery']} was never acknowledged")


def effects(db: str) -> dict[str, int]:
    """How many times the recording handler committed each delivery."""
    statement = "SELECT delivery, count(*) FROM effects GROUP BY delivery"
    if "://" in db:
        import psycopg

        with psycopg.connect(db) as conn:
            try:
                return dict(conn.execute(statement).fetchall())
            except psycopg.errors.UndefinedTable:
                return {}
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(statement).fetchall()
    except sqlite3.OperationalError:
        rows = []
    finally:
        conn.close()
    return dict(rows)


def inbox_stats(db: str) -> dict[str, Any]:
    """`eventmask inbox stats` for the database."""
    done = subprocess.run(
        [EVENTMASK, "inbox", "stats", "--json", "--db", db],
        capture_output=True,
        check=True,
        cwd=ROOT,
    )
    stats: dict[str, Any] = json.loads(done.stdout)
    return stats


def wait_drained(db: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = inbox_stats(db)
        if stats["pending"] == 0 and stats["claimed"] == 0:
            return stats
        assert time.monotonic() < deadline, stats
        time.sleep(0.2)


class Replay:
    """Client threads posting deliveries ``d0`` ... Channex-style until each one is acknowledged.

    With several receivers, each thread starts at a different one.
    """

    def __init__(self, urls: list[str], total: int, threads: int, timeout: float = 240) -> None:
        self.urls = urls
        self.total = total
        self.todo: queue.Queue[int] = queue.Queue()
        for n in range(total):
            self.todo.put(n)
        self.stop_at = time.monotonic() + timeout
        self.failures: list[BaseException] = []
        self.threads = [
            threading.Thread(target=self._client, args=(i % len(urls),)) for i in range(threads)
        ]
        for thread in self.threads:
            thread.start()

    def _client(self, offset: int) -> None:
        urls = self.urls[offset:] + self.urls[:offset]
        while True:
            try:
                n = self.todo.get_nowait()
            except queue.Empty:
                return
            doc = {"event": "message", "property_id": "p", "payload": {"delivery": f"d{n}"}}
            try:
                deliver(urls, doc, self.stop_at)
            except BaseException as exc:
                self.failures.append(exc)
                return

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self.threads)

    def outcome(self, db: str) -> tuple[list[str], dict[str, int], set[str]]:
        """What the handler never committed, committed more than once, or committed unasked."""
        handled = effects(db)
        sent = {f"d{n}" for n in range(self.total)}
        lost = sorted(sent - set(handled))
        twice = {k: v for k, v in handled.items() if v > 1}
        return lost, twice, set(handled) - sent

    def join(self) -> list[BaseException]:
        """Wait for every client; the failures (an empty list when all was acknowledged)."""
        for thread in self.threads:
            thread.join()
        return self.failures
