"""The Channex stand-in in a process of its own, for benchmarks that must not share its GIL.

Run: PYTHONPATH=. python -m benchmarks.standin_process --revisions N [--properties 20]

It holds `N` revisions over the properties (the same ones `revisions(N)`
makes in the benchmark's process), serves them on a free loopback port and
prints its API base URL on one line, then serves until killed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import socket
import sys
from typing import Any

import uvicorn
from tests.channex_api import ChannexStandIn

from eventmask.testing import revision_attributes

PROPERTIES = [f"00000000-0000-4000-8000-{n:012d}" for n in range(20)]


def revisions(count: int) -> list[dict[str, Any]]:
    """`count` new revisions, one second apart, over the 20 properties in turn."""
    start = dt.datetime(2026, 5, 1)
    return [
        revision_attributes(
            property_id=PROPERTIES[n % 20], inserted_at=start + dt.timedelta(seconds=n)
        )
        for n in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, required=True)
    args = parser.parse_args()
    standin = ChannexStandIn()
    standin.revisions.add(*revisions(args.revisions))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(standin.app, host="127.0.0.1", port=port, log_level="warning")
    print(f"http://127.0.0.1:{port}/api/v1", flush=True)
    sys.stdout.close()
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
