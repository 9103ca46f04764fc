"""Every command, the family module that defines it, and its one line of help.

`eventmask --help` lists the commands from this table alone, without
importing any family: the help of the whole command line costs what
argparse costs.  Each family takes its command's line from here too
(`about`), so the list and the commands' own help cannot drift apart.
"""

from __future__ import annotations

TYPE_CHECKING = False  # see common.TYPE_CHECKING
if TYPE_CHECKING:
    from typing import Final

__all__ = ["COMMANDS", "about"]

# command -> (family module, one line of help)
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "check": ("masks", "print the canonical form of each mask, or validate a webhook body"),
    "covers": ("masks", "does A deliver everything B does? (exit 0 yes, 1 no)"),
    "overlaps": ("masks", "do A and B ever deliver the same notification? (exit 0 yes, 1 no)"),
    "lint": ("masks", "print every finding about each mask"),
    "filter": (
        "streams",
        "print the notifications (JSON Lines) a mask matches, ARI payloads narrowed",
    ),
    "explain": ("streams", "say why each notification (and ARI item) matched"),
    "serve": ("serve", "run the webhook receiver (and inbox workers)"),
    "worker": ("serve", "run inbox workers without the HTTP server"),
    "inbox": (
        "inbox",
        "create the inbox; read and repair it: stats, list, show, retry, replay, purge, refusals",
    ),
    "send": ("send", "deliver JSON Lines, or notifications made to match a mask, as Channex does"),
    "webhooks": ("webhooks", "plan, apply, verify and rotate Channex webhooks"),
    "coverage": ("webhooks", "do the handlers take all the subscriptions deliver?"),
    "revisions": ("revisions", "booking revisions: pull the feed, see the acks"),
    "dashboard": (
        "dashboard",
        "the operator's page: see, search and repair the inbox in a browser",
    ),
}


def about(command: str) -> str:
    """The one line of help of `command`.

    >>> about("lint")
    'print every finding about each mask'
    """
    return COMMANDS[command][1]
