"""The states of an inbox entry, in a module light enough for the command line to import.

``pending`` waits for a worker, ``claimed`` is leased to one, ``done`` was
handled, ``dead`` failed its last allowed attempt (docs/receiver.md).
"""

from __future__ import annotations

TYPE_CHECKING = False  # not `typing.TYPE_CHECKING`: see _cli/common.py
if TYPE_CHECKING:
    from typing import Final, Literal

    State = Literal["pending", "claimed", "done", "dead"]

__all__ = ["STATES", "State"]

STATES: Final[tuple[State, ...]] = ("pending", "claimed", "done", "dead")


def __getattr__(name: str) -> object:
    """`State`, made on first use: importing `typing` took 5.7 ms of ``inbox stats``.

    >>> from eventmask._inbox.states import State
    >>> State.__args__ == STATES
    True
    """
    if name == "State":
        from typing import Literal

        state = globals()["State"] = Literal[STATES]
        return state
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
