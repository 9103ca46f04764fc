"""More receiver processes for ``eventmask serve --receivers N``: one socket, N processes.

One receiver process is CPU-bound: its event loop and its group-commit
writer share one interpreter's GIL, at about 2,500 durable deliveries a
second.  Two receivers on separate ports, each loaded by its own wrk, took
4,380 a second together; on a 2-core machine that wrk shares, a second
process gains little (docs/receiver.md, "Speed").

Every process binds the port with SO_REUSEPORT, so the kernel spreads new
connections evenly over their sockets: one socket shared by all of them was
measured worse, as whichever process woke first took most connections (one
at 54% CPU, the other at 16%).  The parent starts N - 1 children, ``eventmask
serve ... --receiver-child``, that store into the same inbox and run no
workers and no revision flow of their own.  They are
supervised as the workers are: a dead one is started again, and SIGTERM to
the parent stops them first, each finishing the requests it holds.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Final

from .children import WorkerProcesses

__all__ = ["receiver_children", "receiver_options"]

# Seconds without a rewrite of the status file after which a child says no worker runs.
_STALE: Final = 5.0


def receiver_options(parser: argparse.ArgumentParser) -> None:
    """``--receivers`` and the hidden ``--receiver-child`` of a child."""
    from .common import number

    parser.add_argument(
        "--receivers",
        type=number(int, low=1, high=64),
        default=1,
        help="receiver processes sharing the port (default 1): for machines with cores to "
        "spare, as one receiver process is CPU-bound",
    )
    parser.add_argument("--receiver-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workers-status", help=argparse.SUPPRESS)


def _bind(host: str, port: int, *, share: bool = True) -> socket.socket:
    """A listening TCP socket; with `share`, one more process may bind the port too."""
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP,
    # and without it each answer waited out a delayed ACK (1,040 a second, idle).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if share:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ValueError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def _bind_first(host: str, port: int) -> socket.socket:
    """The parent's socket.  A port another server holds with SO_REUSEPORT (another
    ``serve --receivers``) would take a shared bind silently: a plain bind first
    finds it in use."""
    _bind(host, port, share=False).close()
    return _bind(host, port)


def _child_command(argv: list[str], port: int) -> list[str]:
    # Later options win in argparse: the child runs no workers of its own, on the
    # port the parent got (--port 0 picks one).
    return [sys.executable, "-m", "eventmask", *argv, "--workers", "0", "--receivers", "1",
            "--port", str(port), "--receiver-child", "--parent-pid", str(os.getpid())]  # fmt: skip


Status = Callable[[], tuple[int, int]]


def receiver_children(
    args: argparse.Namespace, workers: Status | None
) -> tuple[socket.socket | None, WorkerProcesses, Status | None]:
    """The socket to serve on (None: uvicorn binds its own), the supervised child
    receivers (none with one receiver), and how /health learns the worker processes'
    state: `workers` in the parent, a file the parent writes in a child."""
    none = WorkerProcesses(_never, 0, "receiver")
    if args.receiver_child:
        shared = _reader(args.workers_status) if args.workers_status else None
        return _bind(args.host, args.port), none, shared
    if args.receivers <= 1:
        return None, none, workers
    sock = _bind_first(args.host, args.port)
    command = _child_command(list(args.argv), sock.getsockname()[1])
    if workers is not None:
        command += ["--workers-status", _publish(workers)]

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command)

    return sock, WorkerProcesses(spawn, args.receivers - 1, "receiver"), workers


def _publish(workers: Status) -> str:
    """A file the parent rewrites every 0.25 s with ``running configured``: the children
    answer /health and /metrics as the parent would."""
    fd, path = tempfile.mkstemp(prefix="eventmask-workers-")
    os.close(fd)
    atexit.register(_remove, path)

    def write() -> None:
        while True:
            running, configured = workers()
            try:
                with open(f"{path}.tmp", "w", encoding="ascii") as f:
                    f.write(f"{running} {configured}")
                os.replace(f"{path}.tmp", path)
            except OSError:  # a full or vanished /tmp: the children say degraded after 5 s
                pass
            time.sleep(0.25)

    threading.Thread(target=write, name="eventmask-workers-status", daemon=True).start()
    return path


def _reader(path: str) -> Status:
    def read() -> tuple[int, int]:
        try:
            with open(path, encoding="ascii") as f:
                running, configured = (int(n) for n in f.read().split())
            if time.time() - os.stat(path).st_mtime > _STALE:  # the parent stopped writing
                return 0, configured
        except (OSError, ValueError):
            return 0, 1  # no word from the parent: its workers cannot be vouched for
        return running, configured

    return read


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _never() -> subprocess.Popen[bytes]:  # pragma: no cover - count is 0
    raise AssertionError("no receiver child is configured")
