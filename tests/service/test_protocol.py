"""The guarded HTTP protocol on a real server: header limits, chunk lines, a fair share.

Attackers connect from 127.0.0.1 and real deliveries come from 127.0.0.2,
as two hosts would.  Loops are bounded; figures go to the "measured" summary.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx
import pytest

from eventmask._cli.logs import MAX_FIELD, JsonFormatter
from eventmask._service.protocol import (
    MAX_CHUNK_LINE,
    MAX_HEADER_BYTES,
    MAX_HEADERS,
    _OneSendPerStep,
)

from ..conftest import report
from ..helpers import dumps
from .test_adversaries import (
    AUTH,
    _enough_descriptors,  # noqa: F401 - an autouse fixture
    _no_leftover_processes,  # noqa: F401 - an autouse fixture
    message,
    raw,
    read_all,
    serve,
)

REAL = "127.0.0.2"  # the honest client's own address


def from_real(url: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=REAL), timeout=10)


def head(lines: int, filler: int = 0) -> bytes:
    extra = b"".join(b"X-Pad-%d: v\r\n" % n for n in range(lines))
    pad = b"X-Long: " + b"a" * filler + b"\r\n" if filler else b""
    return (
        b"POST /channex HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        + b"X-Channex-Webhook-Secret: wrong-secret-value\r\n"
        + extra
        + pad
        + b"\r\n{}"
    )


def test_a_head_over_the_limits_is_431_and_closed(tmp_path: Path) -> None:
    """10,000 header lines, or one header past the byte limit: 431, closed, nothing parsed."""
    proc = serve(tmp_path)
    for data in (head(10_000), head(0, filler=MAX_HEADER_BYTES), head(MAX_HEADERS + 1)):
        answer = read_all(raw(proc, data), 3)
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
        assert b"connection: close" in answer
    # Sent a byte at a time, the limit holds too.
    sock = raw(proc)
    try:
        for byte in head(0, filler=MAX_HEADER_BYTES)[: MAX_HEADER_BYTES + 200]:
            sock.sendall(bytes([byte]))
    except OSError:
        pass
    assert read_all(sock, 3).startswith(b"HTTP/1.1 431 ")
    # Within the limits, a head goes on to the receiver (here: a wrong secret).
    assert read_all(raw(proc, head(MAX_HEADERS - 5)), 3).startswith(b"HTTP/1.1 401 ")


def chunked(first_line: bytes) -> bytes:
    body = dumps(message(1))
    return (
        b"POST /channex HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        + f"X-Channex-Webhook-Secret: {AUTH['X-Channex-Webhook-Secret']}\r\n\r\n".encode()
        + first_line.replace(b"SIZE", b"%x" % len(body))
        + b"\r\n"
        + body
        + b"\r\n0\r\n\r\n"
    )


def test_a_chunk_line_past_the_limit_is_400_and_closed(tmp_path: Path) -> None:
    """A 100 KB chunk extension is refused; a chunked delivery with a short one is stored."""
    proc = serve(tmp_path)
    answer = read_all(raw(proc, chunked(b"SIZE;ext=" + b"e" * 100_000)), 3)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:80]
    assert str(MAX_CHUNK_LINE).encode() in answer
    answer = read_all(raw(proc, chunked(b"SIZE;name=value")), 3)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_an_address_past_its_share_gets_503_while_another_is_served(tmp_path: Path) -> None:
    """--max-connections-per-address 2: a third connection from one address is refused."""
    proc = serve(tmp_path, "--max-connections-per-address", "2")
    held = [raw(proc), raw(proc)]
    time.sleep(0.2)
    answer = read_all(raw(proc), 3)
    assert answer.startswith(b"HTTP/1.1 503 "), answer[:80]
    with from_real(proc.url) as client:
        answer = client.post(f"{proc.url}/channex", content=dumps(message(1)), headers=AUTH)
        assert answer.status_code == 200
    for sock in held:
        sock.close()


def test_logged_values_are_cut() -> None:
    """A 500 KB event name is logged as its first MAX_FIELD characters and a count."""
    import logging

    record = logging.LogRecord("eventmask", logging.INFO, "", 0, "delivery accepted", None, None)
    record.fields = {"event": "e" * 500_000, "id": 7}
    line = JsonFormatter().format(record)
    assert len(line) < MAX_FIELD + 200
    assert f"({500_000 - MAX_FIELD} more chars)" in line
    assert '"id":7' in line


def _flood(port: int, data: bytes, until: float, sent: list[int]) -> None:
    while time.monotonic() < until:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
                sock.sendall(data)
                sock.recv(4096)
            sent[0] += 1
        except OSError:
            pass


@pytest.mark.slow
def test_a_header_flood_leaves_deliveries_fast(tmp_path: Path) -> None:
    """16 attackers sending 10,000-header requests: the real p50 stays at most 50 ms."""
    proc = serve(tmp_path)
    data = head(10_000)
    until = time.monotonic() + 6
    sent = [0]
    attackers = [
        threading.Thread(target=_flood, args=(proc.port, data, until, sent)) for _ in range(16)
    ]
    for thread in attackers:
        thread.start()
    took = []
    with from_real(proc.url) as client:
        time.sleep(0.5)
        n = 0
        while time.monotonic() < until - 0.5:
            started = time.monotonic()
            answer = client.post(f"{proc.url}/channex", content=dumps(message(n)), headers=AUTH)
            took.append(time.monotonic() - started)
            assert answer.status_code == 200
            n += 1
    for thread in attackers:
        thread.join()
    p50 = statistics.median(took)
    report(
        f"header flood: 16 attackers, {sent[0]} heads of 10,000 lines answered; "
        f"{len(took)} real deliveries, p50 {p50 * 1000:.1f} ms"
    )
    assert p50 <= 0.050


def _hog(port: int, until: float, held: list[socket.socket]) -> None:
    """Take every connection it can get, and reconnect as fast as it can when refused."""
    while time.monotonic() < until:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=1)
            sock.sendall(b"P")  # a head that never ends
            held.append(sock)
        except OSError:
            time.sleep(0.001)
        if len(held) > 3_000:
            time.sleep(0.05)


@pytest.mark.slow
def test_one_address_cannot_take_every_connection(tmp_path: Path) -> None:
    """An address that holds and reconnects: >= 95% of another's deliveries 2xx within 5 s."""
    proc = serve(tmp_path)  # the default limits
    until = time.monotonic() + 12
    held: list[socket.socket] = []
    hogs = [threading.Thread(target=_hog, args=(proc.port, until, held)) for _ in range(4)]
    for thread in hogs:
        thread.start()
    time.sleep(1.0)
    answers = []
    with from_real(proc.url) as client:
        for n in range(40):
            started = time.monotonic()
            try:
                status = client.post(
                    f"{proc.url}/channex", content=dumps(message(n)), headers=AUTH, timeout=5
                ).status_code
            except httpx.HTTPError:
                status = 0
            answers.append(status < 300 and time.monotonic() - started <= 5)
            time.sleep(0.2)
    for thread in hogs:
        thread.join()
    for sock in held:
        sock.close()
    share = sum(answers) / len(answers)
    report(
        f"fair share: one address opened {len(held)} connections (the server keeps 64 of "
        "one address); "
        f"{sum(answers)} of {len(answers)} deliveries from another answered 2xx within 5 s"
    )
    assert share >= 0.95


def test_what_one_step_writes_goes_out_in_one_send() -> None:
    """uvicorn writes an answer's head and body apart; on a real socket's transport they
    leave in one send at the end of the step, a later write in another, and a close
    sends what is held before it closes."""

    async def run() -> tuple[list[bytes], bytes]:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
        sends: list[bytes] = []
        write = transport.write

        def counted(data: bytes) -> None:  # the real write, counted
            sends.append(bytes(data))
            write(data)

        transport.write = counted  # type: ignore[method-assign]
        one = _OneSendPerStep(transport, loop)
        one.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        one.write(b"{}")
        await asyncio.sleep(0)
        one.write(b"la")
        one.writelines([b"s", b"t"])
        one.close()
        await asyncio.sleep(0.05)
        theirs.settimeout(5)
        received = b""
        while chunk := theirs.recv(65536):
            received += chunk
        theirs.close()
        return sends, received

    sends, received = asyncio.run(run())
    assert sends == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}", b"last"]
    assert received == b"".join(sends)
