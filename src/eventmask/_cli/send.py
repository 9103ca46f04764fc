"""``eventmask send URL [FILE...] [--mask MASK]``: deliver to a receiver as Channex does.

How a developer checks a receiver end to end, and how an operator
redelivers a log (docs/testing.md, "eventmask send").  Lines of a JSON
Lines file are sent byte for byte; every line is checked first, and with
one that is not a notification nothing is sent unless ``--skip-invalid``.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any, TextIO

from .._catalogue import SECRET_HEADER, split_secrets
from .commands import about
from .common import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    mask_argument,
    number,
    open_binary,
    progress,
    write_json,
)

if TYPE_CHECKING:
    from .._testing.outcomes import Delivered, Sent
    from .._testing.sender import Sender

__all__ = ["register"]


def _read(paths: list[str], skip_invalid: bool, err: TextIO) -> list[bytes] | None:
    """Every notification line of `paths`, or None after reporting the problems."""
    from .._envelope import Envelope
    from .._errors import NotificationError

    bodies: list[bytes] = []
    problems = 0
    for path in paths:
        raw = open_binary(path, err)
        if raw is None:
            return None
        with raw:
            for number_, line in enumerate(raw, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    Envelope.read(line)
                except NotificationError as exc:
                    problems += 1
                    if problems <= 20:
                        err.write(f"eventmask: {path}:{number_}: not a notification: {exc}\n")
                    continue
                bodies.append(line)
    if problems and not skip_invalid:
        err.write(
            f"eventmask: {problems} line{'s' if problems != 1 else ''} not a notification; "
            "nothing was sent (give --skip-invalid to send the others)\n"
        )
        return None
    return bodies


def _generated(args: argparse.Namespace, err: TextIO) -> list[bytes] | None:
    from .._json import dumps
    from .._testing.builders import matching

    mask = mask_argument(args.mask, False, err)
    if mask is None:
        return None
    return [
        dumps(doc)
        for n in range(args.count)
        for doc in matching(mask, property_id=args.property_id, seed=args.seed + n)
    ]


def _secret(args: argparse.Namespace, err: TextIO) -> str | None:
    secrets = split_secrets(os.environ.get("EVENTMASK_SECRET", ""))
    if not secrets:
        err.write("eventmask: EVENTMASK_SECRET is not set: sending without the secret header\n")
        return None
    return secrets[-1]  # the newest, as for the webhooks file


def _summary(done: Delivered) -> dict[str, Any]:
    return {
        "sent": len(done.sent),
        "acknowledged": done.acknowledged,
        "duplicates": done.duplicates,
        "refused": {str(status): n for status, n in sorted(done.refused.items())},
        "failed": done.failed,
        "retries": done.retried,
        "not_acknowledged": [s.describe() for s in done.sent if not s.acknowledged],
    }


def _sender(args: argparse.Namespace, err: TextIO) -> Sender:
    from .._testing.sender import Sender

    return Sender(
        args.url,
        secret=_secret(args, err),
        header=args.header,
        attempts=args.attempts,
        backoff=args.backoff,
        timeout=args.timeout,
        concurrency=args.concurrency,
        rate=args.rate,
    )


def _send(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.url.startswith(("http://", "https://")):
        err.write(f"eventmask: error: URL must start with http:// or https://, not {args.url!r}\n")
        return EXIT_USAGE
    if not args.files and args.mask is None:
        err.write(
            "eventmask: error: send needs FILE arguments (JSON Lines, - for stdin) or --mask\n"
        )
        return EXIT_USAGE
    bodies = _read(args.files, args.skip_invalid, err) if args.files else []
    generated = _generated(args, err) if args.mask is not None else []
    if bodies is None or generated is None:
        return EXIT_USAGE  # nothing was sent
    try:
        sender = _sender(args, err)
    except ValueError as exc:  # a header name or secret that no HTTP request can carry
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    everything = [*bodies, *generated]
    bar = progress(len(everything), err, "delivery", off=args.no_progress)

    def count(one: Sent) -> None:
        bar.update(1)
        if not one.acknowledged:
            bar.set_postfix_str(f"last failure: {one.describe()[:60]}", refresh=False)

    try:
        done = sender.deliver(
            everything,
            duplicates=args.duplicates,
            shuffle=args.shuffle,
            seed=args.seed,
            check=False,
            on_sent=count,
        )
    except ImportError as exc:  # httpx, the client extra
        err.write(f"eventmask: {exc}\n")
        return EXIT_USAGE
    finally:
        bar.close()
    if args.json:
        write_json(_summary(done), out)
    else:
        for sent in done.sent:
            if not sent.acknowledged:
                err.write(f"eventmask: {sent.describe()}\n")
        out.write(done.summary() + "\n")
    return EXIT_OK if done.ok else EXIT_INVALID


def register(sub: Any) -> None:
    """Add the send command to the subcommands `sub`."""
    send = sub.add_parser(
        "send",
        help=about("send"),
        description=(
            "Post notifications to a receiver the way Channex does: the secret from "
            "$EVENTMASK_SECRET in the secret header, retries on 5xx, 408, 429 and timeouts, "
            "several in flight.  Exit status 0 when every delivery was acknowledged, "
            "1 when one was not, 2 for usage errors and unreadable input."
        ),
    )
    send.add_argument("url", metavar="URL", help="the receiver's URL (http:// or https://)")
    send.add_argument("files", nargs="*", metavar="FILE", help="JSON Lines to send ('-': stdin)")
    send.add_argument("--mask", help="also send notifications this mask's webhook receives")
    send.add_argument("--count", type=number(int, low=1, high=1_000_000), default=1,
                      help="--mask: how many rounds of notifications (default 1)")  # fmt: skip
    send.add_argument("--property-id", metavar="ID", help="--mask: the notifications' property")
    send.add_argument("--header", default=SECRET_HEADER, help="the secret header's name")
    send.add_argument("--concurrency", type=number(int, low=1, high=1_000), default=4,
                      help="deliveries in flight at once (default 4)")  # fmt: skip
    send.add_argument("--rate", type=number(float, low=0, above=True), default=None,
                      metavar="PER_SECOND", help="start at most this many a second")  # fmt: skip
    send.add_argument("--attempts", type=number(int, low=1, high=100), default=5,
                      help="attempts per delivery, retries included (default 5)")  # fmt: skip
    send.add_argument("--backoff", type=number(float, low=0), default=0.5, metavar="SECONDS",
                      help="wait before the first retry, doubling (default 0.5)")  # fmt: skip
    send.add_argument("--timeout", type=number(float, low=0, above=True), default=10.0,
                      metavar="SECONDS", help="per attempt (default 10)")  # fmt: skip
    send.add_argument("--duplicates", type=number(float, low=0, high=1), default=0.0,
                      metavar="P", help="chance each is delivered twice (default 0)")  # fmt: skip
    send.add_argument("--shuffle", action="store_true", help="deliver out of order")
    send.add_argument("--seed", type=int, default=0, help="for --shuffle, --duplicates, --mask")
    send.add_argument("--skip-invalid", action="store_true",
                      help="send the valid lines even when some are not notifications")  # fmt: skip
    send.add_argument("--no-progress", action="store_true", help="no progress bar")
    send.add_argument("--json", action="store_true", help="print the summary as JSON")
    send.set_defaults(run=_send)
