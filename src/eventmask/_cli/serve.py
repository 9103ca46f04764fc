"""``eventmask serve`` and ``eventmask worker``: uvicorn, the receiver, worker processes.

Shutdown on SIGTERM or SIGINT is uvicorn's: it stops accepting connections
and finishes the requests in flight; then the lifespan shutdown stops the
workers, which finish the entry in hand and give back what they had claimed
(docs/receiver.md, "Operating it").
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from .._catalogue import SECRET_HEADER, split_secrets
from .._inbox.settings import InboxSettings
from .children import WorkerProcesses
from .commands import about
from .common import EXIT_OK, EXIT_USAGE, add_db_argument, database, number
from .receivers import receiver_children, receiver_options
from .revisions import revision_arguments, revision_options, start_ari_pull, start_flow
from .serve_options import limit_options, worker_options

__all__ = ["exit_with_parent", "register"]

_DEFAULTS = InboxSettings()

# More workers than this only contend for the database (and each thread is
# a PostgreSQL connection); the bound keeps a typo from starting thousands.
MAX_WORKERS = 64


def _secrets(err: TextIO) -> list[str] | None:
    secrets = split_secrets(os.environ.get("EVENTMASK_SECRET", ""))
    if not secrets:
        err.write(
            "eventmask: set EVENTMASK_SECRET to the shared secret Channex sends "
            "(several, comma-separated, while rotating); it is never taken from the command line\n"
        )
        return None
    return secrets


def _settings(args: argparse.Namespace) -> InboxSettings:
    return InboxSettings(
        dedup_revisions=getattr(args, "dedup_revisions", False),
        lease=args.lease,
        max_attempts=args.max_attempts,
        write_timeout=getattr(args, "write_timeout", _DEFAULTS.write_timeout),
    )


def _load(spec: str, err: TextIO) -> Any:
    from .apps import load_router

    try:
        return load_router(spec)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        err.write(f"eventmask: cannot load {spec}: {exc}\n")
        return None


def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .._errors import InboxError

    db = None if args.inline else database(args)
    if db is None and not args.inline:
        err.write("eventmask: error: serve needs --db PATH (durable inbox) or --inline\n")
        return EXIT_USAGE
    secrets = _secrets(err)
    if secrets is None:
        return EXIT_USAGE
    try:
        import uvicorn  # noqa: F401
    except ImportError:
        err.write("eventmask: serve needs uvicorn: pip install 'eventmask[server]'\n")
        return EXIT_USAGE
    # Before the app is imported: prometheus_client reads this when it is imported.
    created = _multiprocess_metrics(args)
    try:
        router = _load(args.app, err)
        if router is None:
            return EXIT_USAGE
        _run_server(args, router, db, secrets)
    except (InboxError, ValueError) as exc:  # ValueError: the receiver refused an option
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    finally:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
    return EXIT_OK


def _multiprocess_metrics(args: argparse.Namespace) -> str | None:
    """Count the worker children's metrics with the server's: prometheus_client's
    multiprocess mode, in a fresh directory for this run (removed at exit; returned).

    A directory already given in PROMETHEUS_MULTIPROC_DIR is used as it is.
    """
    import importlib.util

    if args.no_metrics or importlib.util.find_spec("prometheus_client") is None:
        return None
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return None
    created = tempfile.mkdtemp(prefix="eventmask-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = created
    return created


def _worker_command(args: argparse.Namespace) -> list[str]:
    # The database URL goes through the environment, not the command line,
    # where `ps` would show a password in it (and so does the API key).
    return [
        sys.executable,
        "-m",
        "eventmask",
        "worker",
        args.app,
        "--lease",
        str(args.lease),
        "--max-attempts",
        str(args.max_attempts),
        "--log-level",
        args.log_level,
        "--parent-pid",
        str(os.getpid()),
        *revision_arguments(args),
    ]


def _open(args: argparse.Namespace, db: str, *, create: bool) -> Any:
    from .._inbox.factory import open_inbox

    return open_inbox(db, _settings(args), create=create)


def _run_server(args: argparse.Namespace, router: Any, db: str | None, secrets: list[str]) -> None:
    """Run the receiver (and, with `db`, the inbox workers) until SIGTERM."""
    import uvicorn

    from .._service.protocol import guarded_protocol, raise_open_file_limit
    from .logs import setup_logging, stop_logging

    setup_logging(args.log_level)
    try:
        raise_open_file_limit()
        # serve creates a new SQLite inbox only where nothing is (and logs it);
        # a file that is not an eventmask inbox is refused untouched.
        inbox = _open(args, db, create=True) if db else None
        children = _children(args, db)
        sock, receivers, workers = receiver_children(
            args, children.status if inbox is not None else None
        )
        receiver = _receiver(args, router, inbox, secrets, (children, receivers), workers)
        protocol = guarded_protocol(
            args.header_timeout, args.max_connections, args.max_connections_per_address
        )
        config = uvicorn.Config(
            receiver,
            host=args.host,
            port=args.port,
            http=protocol,
            lifespan="on",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=30,
        )
        if args.parent_pid is not None:  # a child receiver: it stops with its parent
            exit_with_parent(args.parent_pid, lambda: os.kill(os.getpid(), signal.SIGTERM))
        # uvicorn raises the signal again once it has shut down gracefully,
        # so that the default handler kills the process (status -15).  After
        # a clean shutdown eventmask serve exits 0 instead: these handlers
        # take the re-raised signal.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, _ignore_signal)
        receivers.start()
        uvicorn.Server(config).run(sockets=None if sock is None else [sock])
    finally:
        stop_logging()


def _receiver(
    args: argparse.Namespace,
    router: Any,
    inbox: Any,
    secrets: list[str],
    processes: tuple[WorkerProcesses, WorkerProcesses],
    workers: Callable[[], tuple[int, int]] | None,
) -> Any:
    from .._service.receiver import Receiver

    children, receivers = processes

    def stop() -> None:
        receivers.stop()  # they finish the requests they hold before the workers stop
        children.stop()
        if inbox is not None:
            inbox.close()

    return Receiver(
        router,
        secrets=secrets,
        header=args.header,
        max_body=args.max_body,
        inbox=inbox,
        path=args.path,
        metrics_path=None if args.no_metrics else "/metrics",
        body_timeout=args.body_timeout,
        on_startup=children.start if inbox is not None else None,
        on_shutdown=stop,
        workers=workers,
        stale_after=args.stale_after,
    )


def _children(args: argparse.Namespace, db: str | None) -> WorkerProcesses:
    """The supervised worker processes of `eventmask serve` (none without an inbox)."""
    env = {**os.environ, "EVENTMASK_DB": db or ""}
    command = _worker_command(args)

    def spawn() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, env=env)

    return WorkerProcesses(spawn, args.workers if db is not None else 0)


def _ignore_signal(signum: int, frame: object) -> None:
    del signum, frame


def _worker(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .logs import setup_logging, stop_logging

    db = database(args)
    if db is None:
        err.write("eventmask: error: worker needs --db URL (or EVENTMASK_DB)\n")
        return EXIT_USAGE
    setup_logging(args.log_level)
    try:
        return _run_workers(args, db, err)
    finally:
        stop_logging()  # on every way out, an early one included


def _run_workers(args: argparse.Namespace, db: str, err: TextIO) -> int:
    from .._errors import ChannexError, InboxError
    from .._service.worker import Worker

    router = _load(args.app, err)
    if router is None:
        return EXIT_USAGE
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if args.parent_pid is not None:
        exit_with_parent(args.parent_pid, stop.set)
    try:
        inbox = _open_waiting(args, db, stop)
    except InboxError as exc:
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    if inbox is None:  # stopped while waiting
        return EXIT_OK
    if args.metrics_port is not None and not _serve_metrics(args, err):
        inbox.close()
        return EXIT_USAGE
    try:
        flow = start_flow(args, inbox, stop)
        ari = start_ari_pull(args)
    except (ValueError, ChannexError) as exc:  # no API key, a bad property id
        err.write(f"eventmask: {exc}\n")
        inbox.close()
        return EXIT_USAGE
    try:
        workers = [
            Worker(inbox, router, revisions=flow, ari=ari).start() for _ in range(args.workers)
        ]
    except ValueError as exc:  # --revisions without an on_revision handler
        err.write(f"eventmask: {exc}\n")
        inbox.close()
        return EXIT_USAGE
    stop.wait()
    for worker in workers:
        worker.stop()
    inbox.close()
    return EXIT_OK


def _open_waiting(args: argparse.Namespace, db: str, stop: threading.Event) -> Any:
    """The inbox, once its database answers (None when `stop` came first).

    A worker started while the database is down (a host booting before it,
    a restart) waits for it, saying so once, instead of exiting: what cannot
    pass by itself (a wrong password, no such database, not an inbox) is
    still an error at once.  A worker never creates or migrates.
    """
    from .._errors import InboxUnavailable

    log = logging.getLogger("eventmask.worker")
    since: float | None = None
    while True:
        try:
            inbox = _open(args, db, create=False)
        except InboxUnavailable as exc:
            if since is None:
                since = time.monotonic()
                log.warning("waiting for the inbox database: %s", exc,
                            extra={"fields": {"error": str(exc)}})  # fmt: skip
            if stop.wait(1.0):
                return None
            continue
        if since is not None:
            seconds = round(time.monotonic() - since, 3)
            log.warning("the inbox database answers: working after %.1f s", seconds,
                        extra={"fields": {"seconds": seconds}})  # fmt: skip
        return inbox


def _serve_metrics(args: argparse.Namespace, err: TextIO) -> bool:
    """A standalone worker's own /metrics listener (docs/deployment.md, "Metrics")."""
    try:
        import prometheus_client
    except ImportError:
        err.write(
            "eventmask: --metrics-port needs prometheus_client: pip install 'eventmask[metrics]'\n"
        )
        return False
    try:
        prometheus_client.start_http_server(args.metrics_port, addr=args.metrics_host)
    except OSError as exc:
        err.write(f"eventmask: cannot listen on {args.metrics_host}:{args.metrics_port}: {exc}\n")
        return False
    return True


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


def register(sub: Any) -> None:
    """Add serve and worker to the subcommands `sub`."""
    srv = sub.add_parser("serve", help=about("serve"))
    srv.add_argument("app", metavar="APP", help="module:router")
    add_db_argument(srv)
    srv.add_argument("--inline", action="store_true", help="no inbox: dispatch before answering")
    srv.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on",
    )
    srv.add_argument(
        "--port", type=number(int, low=0, high=65_535), default=8000, help="the TCP port"
    )
    srv.add_argument("--path", default="/", help="where deliveries are taken")
    srv.add_argument(
        "--workers",
        metavar="N",
        type=number(int, low=0, high=MAX_WORKERS),
        default=1,
        help=f"inbox worker processes, at most {MAX_WORKERS}",
    )
    srv.add_argument("--header", metavar="NAME", default=SECRET_HEADER, help="the secret's header")
    limit_options(srv)
    srv.add_argument(
        "--no-metrics",
        action="store_true",
        help="no /metrics (by default it answers scrapes that carry the secret)",
    )
    srv.add_argument(
        "--dedup-revisions",
        action="store_true",
        help="one entry per booking revision, whether it came as booking or booking_*",
    )
    worker_options(srv)
    revision_options(srv)
    receiver_options(srv)
    srv.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    srv.set_defaults(run=_serve)
    _register_worker(sub)


def _register_worker(sub: Any) -> None:
    wrk = sub.add_parser("worker", help=about("worker"))
    wrk.add_argument("app", metavar="APP", help="module:router")
    add_db_argument(wrk)
    wrk.add_argument(
        "--workers",
        metavar="N",
        type=number(int, low=1, high=MAX_WORKERS),
        default=1,
        help=f"worker threads, at most {MAX_WORKERS}",
    )
    worker_options(wrk)
    wrk.add_argument(
        "--metrics-port",
        type=number(int, low=1, high=65_535),
        metavar="PORT",
        default=None,
        help="serve this worker's Prometheus metrics on this port",
    )
    wrk.add_argument("--metrics-host", default="127.0.0.1", help="for --metrics-port")
    wrk.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    revision_options(wrk)
    wrk.set_defaults(run=_worker)
