"""A throwaway PostgreSQL server for the tests and benchmarks.

`ThrowawayPostgres` runs Debian's PostgreSQL (installed by scripts/setup.sh)
with a fresh data directory in the temp dir, listening on 127.0.0.1 at a
free port and on a Unix socket in that directory, with trust
authentication.  Stopping it deletes the directory.  As root, the server
runs as the ``postgres`` user, since PostgreSQL refuses to run as root.

Set EVENTMASK_TEST_POSTGRES to a URL to use a server of your own instead.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["ThrowawayPostgres", "find_bin"]


def find_bin(name: str) -> str:
    """The path of a PostgreSQL server program (initdb, pg_ctl), newest version first."""
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = shutil.which(name)
    if found:
        candidates.append(found)
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    raise RuntimeError(
        f"PostgreSQL's {name} was not found: run scripts/setup.sh (it installs Debian's "
        "postgresql package) or set EVENTMASK_TEST_POSTGRES to a server's URL"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL server in a temporary directory, for as long as the tests need it."""

    def __init__(self, **settings: Any) -> None:
        self.settings = {
            "max_connections": 200,
            "shared_buffers": "128MB",
            "listen_addresses": "127.0.0.1",
            **settings,
        }
        self.dir = Path(tempfile.mkdtemp(prefix="eventmask-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._user: str | None = None
        if os.geteuid() == 0:
            self._user = "postgres"
            entry = pwd.getpwnam(self._user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            argv, user=self._user, capture_output=True, text=True, check=False, timeout=120
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}\n{done.stderr}")

    def start(self) -> ThrowawayPostgres:
        self._run(
            find_bin("initdb"),
            "-D",
            str(self.data),
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--no-instructions",
        )
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server (again, after `pause`) on the same port and data."""
        options = " ".join(f"-c {key}={value}" for key, value in self.settings.items())
        self._run(
            find_bin("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-p {self.port} -k {self.dir} {options}",
            "start",
        )

    def pause(self) -> None:
        """Stop the server, keeping its data: a database outage."""
        self._run(find_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        """A new empty database; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def stop(self) -> None:
        if self.data.exists():
            subprocess.run(
                [find_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                user=self._user,
                capture_output=True,
                check=False,
                timeout=60,
            )
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_ready(url: str, timeout: float = 30.0) -> None:
    """Wait until a server accepts connections."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(url, connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
