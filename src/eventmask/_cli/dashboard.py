"""``eventmask dashboard``: the operator's page over an inbox, under uvicorn (docs/dashboard.md).

Bound to loopback by default.  Any other address needs a token, read from
``$EVENTMASK_DASHBOARD_TOKEN`` (never from the command line, where every
user of the machine can read it in the process list).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
from typing import Any, TextIO

from .commands import about
from .common import EXIT_OK, EXIT_USAGE, add_db_argument, database, open_existing

__all__ = ["register"]

TOKEN_ENV = "EVENTMASK_DASHBOARD_TOKEN"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _dashboard(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    db = database(args)
    if db is None:
        err.write("eventmask: error: dashboard needs --db URL (or EVENTMASK_DB)\n")
        return EXIT_USAGE
    token = os.environ.get(TOKEN_ENV) or None
    if token is None and not _loopback(args.host):
        err.write(
            f"eventmask: error: --host {args.host} is not loopback: set {TOKEN_ENV} to a "
            "token of 16 characters or more, which every request must then carry\n"
        )
        return EXIT_USAGE
    if token is not None and len(token) < 16:
        err.write(f"eventmask: error: {TOKEN_ENV} must be at least 16 characters\n")
        return EXIT_USAGE
    try:
        import jinja2  # noqa: F401
        import uvicorn
    except ImportError as exc:
        err.write(f"eventmask: dashboard needs {exc.name}: pip install 'eventmask[dashboard]'\n")
        return EXIT_USAGE
    inbox = open_existing(db, err)
    if inbox is None:
        return EXIT_USAGE
    from .._dashboard.app import Dashboard
    from .logs import setup_logging, stop_logging

    setup_logging(args.log_level)
    try:
        app: Any = Dashboard(inbox, token=token, actions=args.allow_actions)
        mode = "actions allowed" if args.allow_actions else "read-only"
        err.write(f"eventmask: dashboard on http://{args.host}:{args.port}/ ({mode})\n")
        config = uvicorn.Config(
            app, host=args.host, port=args.port, log_config=None, access_log=False, lifespan="off"
        )
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            uvicorn.Server(config).run()
    finally:
        stop_logging()
        inbox.close()
    return EXIT_OK


def register(sub: Any) -> None:
    """Add ``dashboard`` to the subcommands `sub`."""
    parser = sub.add_parser("dashboard", help=about("dashboard"))
    add_db_argument(parser)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help=f"address to bind; anything but loopback needs ${TOKEN_ENV}",
    )
    parser.add_argument("--port", type=int, default=8100, help="port to bind")
    parser.add_argument(
        "--allow-actions",
        action="store_true",
        help="allow retry, replay and group retries (default: read-only)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["debug", "info", "warning", "error"],
        help="logging level",
    )
    parser.set_defaults(run=_dashboard)
