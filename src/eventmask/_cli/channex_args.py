"""What the commands that call Channex share: the API options, the client, one error line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from .._errors import ChannexError, ConfigError
from .common import EXIT_INVALID, EXIT_USAGE

if TYPE_CHECKING:
    from .._channex.client import ChannexClient

__all__ = ["api_options", "channex_client", "guarded"]


def channex_client(args: argparse.Namespace) -> ChannexClient:
    """The client `api_options` configure; the key comes from ``$CHANNEX_API_KEY``."""
    from .._channex.client import ChannexClient

    return ChannexClient(args.api_url, attempts=args.attempts)


def guarded(run: Callable[[argparse.Namespace, TextIO, TextIO], int]) -> Callable[..., int]:
    """Turn Channex API errors into one message and exit 1 (a missing httpx: exit 2)."""

    def run_guarded(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
        try:
            return run(args, out, err)
        except ChannexError as exc:
            err.write(f"eventmask: {exc}\n")
            return EXIT_INVALID
        except ConfigError as exc:  # no API key: nothing was sent
            err.write(f"eventmask: error: {exc}\n")
            return EXIT_USAGE
        except ImportError as exc:
            if getattr(exc, "name", None) != "httpx":
                raise
            err.write("eventmask: the Channex API needs httpx: pip install 'eventmask[client]'\n")
            return EXIT_USAGE

    return run_guarded


def api_options(parser: argparse.ArgumentParser) -> None:
    """``--api-url`` and ``--attempts``, for every command that calls Channex."""
    from .common import number

    parser.add_argument(
        "--api-url",
        metavar="URL",
        help="the Channex API (default $CHANNEX_API_URL, else production)",
    )
    parser.add_argument(
        "--attempts",
        type=number(int, low=1, high=20),
        default=5,
        help="per API request, on 429, 5xx and timeouts (default 5)",
    )
