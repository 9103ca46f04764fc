"""``eventmask serve``: uvicorn, the receiver and inbox workers in one process.

Shutdown on SIGTERM or SIGINT is uvicorn's: it stops accepting connections
and finishes the requests in flight; then the lifespan shutdown stops the
workers, which finish the entry in hand and give back what they had claimed.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import orjson

from ._inbox import open_inbox
from ._receiver import Receiver
from ._router import Router

__all__ = ["JsonFormatter", "exit_with_parent", "load_router", "serve", "setup_logging"]


class JsonFormatter(logging.Formatter):
    """One JSON object per log line: time, level, logger, message and fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            doc.update(fields)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def setup_logging(level: str = "info") -> None:
    """Structured (JSON lines) logging on stderr for eventmask and uvicorn."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("eventmask", "uvicorn", "uvicorn.error", "psycopg.pool"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    logging.getLogger("uvicorn.access").disabled = True  # the receiver logs each delivery


def exit_with_parent(parent: int, stop: Callable[[], None]) -> None:
    """Make this process stop when its parent (pid `parent`) dies, even by SIGKILL.

    On Linux the kernel sends SIGKILL (prctl PR_SET_PDEATHSIG): a worker whose
    server was killed dies like it, as it would in a crash.  Elsewhere a
    thread watches the parent's pid and calls `stop`.  The parent's pid comes
    from the command line: a parent killed before this runs is noticed too.
    """
    if os.getppid() != parent:
        os._exit(1)
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # the parent died before prctl took effect
                os.kill(os.getpid(), signal.SIGKILL)
            return
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        stop()

    threading.Thread(target=watch, daemon=True).start()


def load_router(spec: str) -> Router:
    """Import ``module:attribute`` and return the Router it names."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"APP must be 'module:router', not {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(module_name)
    router = module
    for part in attribute.split("."):
        router = getattr(router, part)
    if callable(router) and not isinstance(router, Router):
        router = router()
    if not isinstance(router, Router):
        raise TypeError(f"{spec} is a {type(router).__name__}, not an eventmask Router")
    return router


def serve(
    app: str,
    *,
    db: str | None,
    secrets: list[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    header: str = "X-Channex-Webhook-Secret",
    max_body: int = 1_048_576,
    dedup_revisions: bool = False,
    lease: float = 60.0,
    max_attempts: int = 10,
    log_level: str = "info",
) -> None:
    """Run the receiver (and, with `db`, the inbox workers) until SIGTERM."""
    import uvicorn

    setup_logging(log_level)
    router = load_router(app)
    inbox = (
        open_inbox(db, dedup_revisions=dedup_revisions, lease=lease, max_attempts=max_attempts)
        if db
        else None
    )
    running: list[subprocess.Popen[bytes]] = []

    # Workers run as child processes, not threads: in one interpreter they
    # would take the GIL from the event loop that acknowledges deliveries,
    # which showed as a p99 of about 90 ms under load instead of about 25.
    # The database URL goes through the environment, not the command line,
    # where `ps` would show a password in it.
    command = [
        sys.executable,
        "-m",
        "eventmask",
        "worker",
        app,
        "--lease",
        str(lease),
        "--max-attempts",
        str(max_attempts),
        "--log-level",
        log_level,
        "--parent-pid",
        str(os.getpid()),
    ]

    def start() -> None:
        if inbox is not None:
            env = {**os.environ, "EVENTMASK_DB": db or ""}
            running.extend(subprocess.Popen(command, env=env) for _ in range(workers))

    def stop() -> None:
        started = time.monotonic()
        for child in running:
            child.send_signal(signal.SIGTERM)
        for child in running:
            try:
                child.wait(60)
            except subprocess.TimeoutExpired:
                child.kill()
        if inbox is not None:
            inbox.close()
        logging.getLogger("eventmask.serve").info(
            "stopped",
            extra={
                "fields": {"workers": len(running), "seconds": round(time.monotonic() - started, 3)}
            },
        )

    receiver = Receiver(
        router,
        secrets=secrets,
        header=header,
        max_body=max_body,
        inbox=inbox,
        on_startup=start,
        on_shutdown=stop,
    )
    config = uvicorn.Config(
        receiver,
        host=host,
        port=port,
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    # uvicorn raises the signal again once it has shut down gracefully, so
    # that the default handler kills the process (status -15).  After a clean
    # shutdown eventmask serve exits 0 instead: these handlers take the
    # re-raised signal.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore_signal)
    uvicorn.Server(config).run()


def _ignore_signal(signum: int, frame: object) -> None:
    del signum, frame
