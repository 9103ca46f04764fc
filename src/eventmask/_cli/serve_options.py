"""The receiver's and the workers' options, shared by ``eventmask serve`` and ``worker``."""

from __future__ import annotations

import argparse

from .._inbox.settings import InboxSettings
from .common import number
from .logs import LEVELS

__all__ = ["limit_options", "worker_options"]

_DEFAULTS = InboxSettings()


def limit_options(srv: argparse.ArgumentParser) -> None:
    """The receiver's limits and deadlines (docs/receiver.md, "Facing the internet")."""
    srv.add_argument(
        "--max-body",
        type=number(int, low=1_024),
        metavar="BYTES",
        default=1_048_576,
        help="bytes, at least 1024 (413 above)",
    )
    srv.add_argument(
        "--header-timeout",
        type=number(float, low=0, above=True),
        metavar="SECONDS",
        default=10.0,
        help="seconds for a connection to send its request headers (then it is closed)",
    )
    srv.add_argument(
        "--body-timeout",
        type=number(float, low=0, above=True),
        metavar="SECONDS",
        default=10.0,
        help="seconds for a request body to arrive (then 408)",
    )
    srv.add_argument(
        "--write-timeout",
        type=number(float, low=0, above=True),
        metavar="SECONDS",
        default=_DEFAULTS.write_timeout,
        help="seconds a delivery may wait for the inbox before the answer is 503",
    )
    srv.add_argument(
        "--stale-after",
        type=number(float, low=0, above=True),
        metavar="SECONDS",
        default=600.0,
        help="seconds: /health says degraded once the oldest pending entry is older",
    )
    srv.add_argument(
        "--max-connections",
        type=number(int, low=1, high=1_000_000),
        metavar="N",
        default=None,
        help="open connections before new ones get 503 (default: half the file limit, "
        "at most 1024)",
    )
    srv.add_argument(
        "--max-connections-per-address",
        type=number(int, low=1, high=1_000_000),
        metavar="N",
        default=None,
        help="open connections one client address may hold (default: a sixteenth of "
        "--max-connections, at least 8); behind a reverse proxy, give it --max-connections",
    )


def worker_options(parser: argparse.ArgumentParser) -> None:
    """A worker's lease, attempts and log level: shared by ``serve`` and ``worker``."""
    parser.add_argument(
        "--lease",
        metavar="SECONDS",
        type=number(float, low=0, above=True),
        default=_DEFAULTS.lease,
        help="seconds a claim is held",
    )
    parser.add_argument(
        "--max-attempts",
        metavar="N",
        type=number(int, low=1),
        default=_DEFAULTS.max_attempts,
        help="then a dead letter",
    )
    parser.add_argument("--log-level", default="info", choices=LEVELS, help="the least logged")
