"""The receiver on a public URL: slow clients, floods, lying framing, storage faults.

Every test runs a real `eventmask serve` process and talks to it over
loopback, with raw sockets where an HTTP client would hide the behaviour.
Loops are bounded; figures go to the run's "measured" summary.
"""

from __future__ import annotations

import os
import resource
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import report
from ..helpers import dumps
from ..procs import SECRET, Proc, kill_leftovers

AUTH = {"X-Channex-Webhook-Secret": SECRET}


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Iterator[None]:
    yield
    kill_leftovers()


@pytest.fixture(autouse=True)
def _enough_descriptors() -> None:
    """The attacking side of these tests opens hundreds of sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 and hard > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))


def serve(tmp: Path, *extra: str, open_files: int | None = None, **kw: Any) -> Proc:
    proc = Proc(tmp, "tests.apps:recording", "--workers", "0", *extra, open_files=open_files)
    proc.start(**kw)
    return proc


def raw(proc: Proc, data: bytes = b"", timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proc.port), timeout=timeout)
    if data:
        sock.sendall(data)
    return sock


def read_all(sock: socket.socket, limit: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or `limit` passes)."""
    sock.settimeout(limit)
    chunks = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


def closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes the connection within `seconds`."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def post(proc: Proc, doc: dict[str, Any], timeout: float = 10.0) -> httpx.Response:
    return httpx.post(f"{proc.url}/channex", content=dumps(doc), headers=AUTH, timeout=timeout)


def message(n: int) -> dict[str, Any]:
    return {"event": "message", "property_id": "p", "payload": {"delivery": f"d{n}"}}


def entries(db: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("SELECT count(*) FROM eventmask_deliveries").fetchone()[0])
    finally:
        conn.close()


# -- 1. connections ----------------------------------------------------------------------------


@pytest.mark.slow
def test_idle_and_trickling_connections_do_not_starve_deliveries(tmp_path: Path) -> None:
    """400 idle attackers against 256 descriptors: after the header timeout, deliveries flow."""
    proc = serve(tmp_path, "--header-timeout", "1", open_files=256)
    idle = []
    for _ in range(400):
        try:
            idle.append(raw(proc))
        except OSError:
            break
    trickle = raw(proc, b"P")
    for _ in range(3):  # one header byte every 0.4 s: never complete
        time.sleep(0.4)
        try:
            trickle.sendall(b"O")
        except OSError:
            break
    time.sleep(1.2)
    started = time.monotonic()
    answers = [post(proc, message(n), timeout=5) for n in range(7)]
    took = time.monotonic() - started
    assert [a.status_code for a in answers] == [200] * 7
    assert took / 7 < 1.0
    assert closed_within(trickle, 2.0)
    still_open = sum(1 for sock in idle[:50] if not closed_within(sock, 0.05))
    report(
        f"slow clients: {len(idle)} idle connections against a 256-descriptor limit, "
        f"7 deliveries after the 1 s header timeout answered in {took:.2f} s"
    )
    assert still_open == 0
    for sock in [*idle, trickle]:
        sock.close()


def test_connections_past_the_cap_get_503_and_are_closed(tmp_path: Path) -> None:
    """With --max-connections 20, the 21st connection is answered 503 and closed at once."""
    proc = serve(tmp_path, "--max-connections", "20")
    held = [raw(proc) for _ in range(20)]
    time.sleep(0.2)
    extra = raw(proc)
    answer = read_all(extra, 3)
    assert answer.startswith(b"HTTP/1.1 503 ")
    assert b"connection: close" in answer.lower()
    for sock in held:
        sock.close()
    time.sleep(0.2)
    assert post(proc, message(1)).status_code == 200


def test_a_stalled_body_gets_408_and_the_connection_closes(tmp_path: Path) -> None:
    """Headers sent, half the body, then nothing: 408 after the body timeout, then closed."""
    proc = serve(tmp_path, "--body-timeout", "1")
    sock = raw(
        proc,
        b"POST /channex HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
        + f"X-Channex-Webhook-Secret: {SECRET}\r\n\r\n".encode()
        + b'{"event": "mess',
    )
    started = time.monotonic()
    answer = read_all(sock, 5)
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert 0.8 < time.monotonic() - started < 4
    assert entries(proc.db) == 0


# -- 2. what HTTP requires -------------------------------------------------------------------


def test_after_413_the_server_closes_without_reading_the_rest(tmp_path: Path) -> None:
    """A 413 on Content-Length closes the connection; the client cannot push on."""
    proc = serve(tmp_path, "--max-body", "10000")
    sock = raw(
        proc,
        b"POST /channex HTTP/1.1\r\nHost: x\r\nContent-Length: 500000000\r\n"
        + f"X-Channex-Webhook-Secret: {SECRET}\r\n\r\n".encode(),
    )
    sent = 0
    stop = threading.Event()

    def push() -> None:
        nonlocal sent
        chunk = b"x" * 65536
        try:
            while not stop.is_set() and sent < 500_000_000:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # closed by the server: what we want

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    pusher.join(5)
    stop.set()
    report(f"after a 413 the client pushed {sent / 1e6:.1f} MB before the server closed")
    assert not pusher.is_alive()
    assert sent < 20_000_000
    sock.close()


def test_content_length_with_transfer_encoding_is_400_and_closed(tmp_path: Path) -> None:
    """Both framings at once (RFC 9112 6.1): 400, and the connection is closed."""
    proc = serve(tmp_path)
    body = dumps(message(1))
    request = (
        b"POST /channex HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        + f"Content-Length: {len(body)}\r\nX-Channex-Webhook-Secret: {SECRET}\r\n\r\n".encode()
        + f"{len(body):x}\r\n".encode()
        + body
        + b"\r\n0\r\n\r\n"
    )
    sock = raw(proc, request)
    answer = read_all(sock, 5)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"connection: close" in answer.lower()
    assert entries(proc.db) == 0


@pytest.mark.parametrize(
    "path", ["/health", "/health/", "/admin/../../etc/passwd", "/", "/channex/extra"]
)
def test_only_the_receivers_path_takes_deliveries(tmp_path: Path, path: str) -> None:
    """Any other path, and a POST to the health path, gets 404 and stores nothing."""
    proc = serve(tmp_path)
    response = httpx.post(f"{proc.url}{path}", content=dumps(message(1)), headers=AUTH)
    assert response.status_code == 404
    assert post(proc, message(2)).status_code == 200  # the receiver's own path still works
    assert entries(proc.db) == 1


# -- 3. refusals stay bounded ----------------------------------------------------------------


@pytest.mark.slow
def test_a_flood_of_refusals_grows_storage_by_a_constant(tmp_path: Path) -> None:
    """3,000 wrong-secret requests: counted exactly, 1,000 samples, a few log lines, flat file."""
    proc = serve(tmp_path, "--log-level", "info")
    wrong = {"X-Channex-Webhook-Secret": "not-the-secret-at-all"}

    def flood(count: int) -> None:
        with httpx.Client() as client:
            for n in range(count):
                client.post(f"{proc.url}/channex", content=b'{"event":"x","n":%d}' % n,
                            headers=wrong)  # fmt: skip

    sizes = []
    for _ in range(3):
        threads = [threading.Thread(target=flood, args=(250,)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(1.5)  # refusals reach the inbox once a second
        conn = sqlite3.connect(proc.db)  # fold the write-ahead log in: what is stored
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        sizes.append(Path(proc.db).stat().st_size)
    conn = sqlite3.connect(proc.db)
    counted = conn.execute("SELECT sum(count) FROM eventmask_refusal_counts").fetchone()[0]
    samples = conn.execute("SELECT count(*) FROM eventmask_rejections").fetchone()[0]
    conn.close()
    assert counted == 3000
    assert samples == 1000
    assert sizes[2] - sizes[1] < 64_000  # the second 1,000 refusals: counts only
    lines = proc.log_path.read_text().count("request refused")
    report(
        f"refusal flood: 3,000 wrong-secret requests, {lines} log lines, {samples} samples kept, "
        f"file grew {sizes[1] - sizes[0]:,} then {sizes[2] - sizes[1]:,} bytes per 1,000"
    )
    assert lines <= 5
    health = httpx.get(f"{proc.url}/health", headers=AUTH).json()
    assert health["inbox"]["refused_last_24h"] == 3000


# -- 4. logging never blocks -----------------------------------------------------------------


def test_a_stalled_log_reader_does_not_stall_the_receiver(tmp_path: Path) -> None:
    """stderr into a pipe nobody reads: deliveries and health are still answered."""
    proc = serve(tmp_path, "--log-level", "info", stderr=subprocess.PIPE, wait=False)
    proc.wait_healthy()
    for n in range(600):  # two log lines each, far beyond a 64 KiB pipe
        assert post(proc, message(n), timeout=5).status_code == 200
    assert httpx.get(f"{proc.url}/health", timeout=5).status_code == 200
    assert entries(proc.db) == 600


# -- 5. storage faults -----------------------------------------------------------------------


def test_a_deleted_inbox_file_answers_503_and_health_says_so(tmp_path: Path) -> None:
    """Removing the SQLite file under the receiver: 503 (Channex retries), health unavailable."""
    proc = serve(tmp_path)
    assert post(proc, message(1)).status_code == 200
    for suffix in ("", "-wal", "-shm"):
        Path(proc.db + suffix).unlink(missing_ok=True)
    time.sleep(1.1)  # the file's identity is checked at most once a second
    started = time.monotonic()
    assert post(proc, message(2)).status_code == 503
    assert time.monotonic() - started < 2
    health = httpx.get(f"{proc.url}/health")
    assert (health.status_code, health.json()) == (503, {"status": "unavailable"})
    detail = httpx.get(f"{proc.url}/health", headers=AUTH).json()
    assert "deleted or replaced" in detail["reason"]


def test_a_held_write_lock_spools_deliveries_and_answers_200(tmp_path: Path) -> None:
    """Another process holds SQLite's write lock (a stuck handler): 200 within 1 s, none lost.

    The deliveries wait in the intake spool and move into the inbox once the
    lock is free (docs/receiver.md, "Intake no handler can hold").
    """
    proc = serve(tmp_path)
    assert post(proc, message(1)).status_code == 200
    holder = sqlite3.connect(proc.db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    waits = []
    try:
        for n in range(2, 22):
            started = time.monotonic()
            assert post(proc, message(n)).status_code == 200
            waits.append(time.monotonic() - started)
        assert httpx.get(f"{proc.url}/health", timeout=5).status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    report(
        f"held write lock: 20 deliveries answered 200 in {min(waits):.2f} to "
        f"{max(waits):.2f} s (spooled)"
    )
    assert max(waits) < 1.0
    assert post(proc, message(22)).status_code == 200  # this commit moves the spool in
    conn = sqlite3.connect(proc.db)
    try:
        stored = conn.execute("SELECT count(*) FROM eventmask_deliveries").fetchone()[0]
    finally:
        conn.close()
    assert stored == 22


def test_public_health_says_only_ok_and_the_secret_shows_counts(tmp_path: Path) -> None:
    """No secret: {"status": "ok"}.  With the secret: the inbox's counts as well."""
    proc = serve(tmp_path)
    assert httpx.get(f"{proc.url}/health").json() == {"status": "ok"}
    detail = httpx.get(f"{proc.url}/health", headers=AUTH).json()
    assert detail["status"] == "ok"
    assert detail["inbox"]["pending"] == 0


def test_an_unreachable_postgres_at_start_is_one_line_within_seconds(tmp_path: Path) -> None:
    """A receiver started against a PostgreSQL that is not there: one line, within 5 s."""
    started = time.monotonic()
    done = subprocess.run(
        [Proc(tmp_path, "x:y").argv[0], "serve", "tests.apps:recording", "--workers", "0",
         "--db", "postgresql://nobody@127.0.0.1:9/none", "--port", "0"],
        capture_output=True, text=True, env={**os.environ, "EVENTMASK_SECRET": SECRET},
        timeout=30,
    )  # fmt: skip
    assert done.returncode == 2
    assert time.monotonic() - started < 5
    assert "cannot connect to the inbox at postgresql://nobody@127.0.0.1:9/none" in done.stderr
    assert "Traceback" not in done.stderr
