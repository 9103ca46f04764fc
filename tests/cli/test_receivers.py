"""``eventmask serve --receivers N``: N processes accept on one port and store into one inbox."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from eventmask._cli.receivers import _publish, _reader

from ..helpers import dumps
from ..procs import SECRET, Proc, children_of, effects, kill_leftovers, wait_drained
from ..service.test_adversaries import message, post
from .test_children import wait_for

AUTH = {"X-Channex-Webhook-Secret": SECRET}


@pytest.fixture(autouse=True)
def _no_leftover_processes() -> Any:
    yield
    kill_leftovers()


def receivers_of(server: int) -> set[int]:
    """The pids of the child receivers of the server process (``--receiver-child`` in argv)."""
    return children_of(server, b"--receiver-child")


def _sockets(pid: int | str) -> list[tuple[int, int, str]]:
    """The TCP sockets process `pid` holds (Linux /proc): local port, remote port, state."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[9] in inodes:
            local, remote = (int(address.split(":")[1], 16) for address in fields[1:3])
            found.append((local, remote, fields[3]))
    return found


def listening(pid: int, port: int) -> bool:
    """Whether process `pid` listens on `port`."""
    return any(local == port and state == "0A" for local, _, state in _sockets(pid))


def connections_of(pid: int, port: int, peers: set[int]) -> int:
    """Established connections on `port` that process `pid` holds, from the local ports
    `peers` (this process's clients: a health probe of the start-up is not counted)."""
    return sum(
        local == port and remote in peers and state == "01"
        for local, remote, state in _sockets(pid)
    )


def clients_of(port: int) -> set[int]:
    """The local ports of this process's established connections to `port`."""
    return {local for local, remote, state in _sockets("self") if remote == port and state == "01"}


def test_two_receivers_share_the_port_and_the_inbox(tmp_path: Path) -> None:
    """Connections reach both processes, a killed one comes back, every delivery is
    handled once, and SIGTERM stops them all."""
    served = Proc(tmp_path, "tests.apps:recording", "--receivers", "2", "--workers", "1")
    served.start()
    assert served.proc is not None
    parent = served.proc.pid
    (child,) = wait_for(lambda: receivers_of(parent), 10)
    # The child runs before it listens: connections made before would all reach the parent.
    assert wait_for(lambda: listening(child, served.port), 10), "the receiver does not listen"
    clients = [httpx.Client(base_url=served.url, headers=AUTH) for _ in range(16)]
    try:
        for n, client in enumerate(clients):  # 16 kept-alive connections
            assert client.post("/channex", content=dumps(message(n))).status_code == 200
        peers = clients_of(served.port)
        assert len(peers) == 16, peers
        held = {pid: connections_of(pid, served.port, peers) for pid in (parent, child)}
    finally:
        for client in clients:
            client.close()
    assert sum(held.values()) == 16
    assert min(held.values()) > 0, held  # the kernel spread them over both
    os.kill(child, signal.SIGKILL)
    assert wait_for(lambda: receivers_of(parent) - {child}, 5), "the receiver was not restarted"
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda n: post(served, message(n)).status_code, range(16, 216)))
    assert codes == [200] * 200
    wait_drained(served.db)
    assert effects(served.db) == {f"d{n}": 1 for n in range(216)}
    (restarted,) = receivers_of(parent)
    assert served.stop() == 0
    assert wait_for(lambda: not os.path.exists(f"/proc/{restarted}"), 10)
    assert "receiver process" in served.log_path.read_text()  # its death, logged


def test_a_child_receiver_reports_the_parents_workers(tmp_path: Path) -> None:
    """/health answered by any process tells of the worker processes (via a status file)."""
    path = tmp_path / "workers"
    path.write_text("1 2")
    assert _reader(str(path))() == (1, 2)
    os.utime(path, (time.time() - 60, time.time() - 60))  # the parent stopped writing
    assert _reader(str(path))() == (0, 2)
    assert _reader(str(tmp_path / "missing"))() == (0, 1)
    published = _publish(lambda: (3, 4))
    assert wait_for(lambda: Path(published).read_text() == "3 4", 5)


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    first = Proc(tmp_path, "tests.apps:recording", "--receivers", "2", name="first")
    first.start()
    second = Proc(tmp_path, "tests.apps:recording", "--receivers", "2", name="second")
    second.argv[second.argv.index("--port") + 1] = str(first.port)
    second.start(wait=False)
    assert second.proc is not None
    assert second.proc.wait(30) == 2
    log = second.log_path.read_text()
    assert f"cannot listen on 127.0.0.1:{first.port}" in log
    assert "Traceback" not in log
