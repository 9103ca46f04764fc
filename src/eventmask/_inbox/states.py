"""The states of an inbox entry, in a module light enough for the command line to import.

``pending`` waits for a worker, ``claimed`` is leased to one, ``done`` was
handled, ``dead`` failed its last allowed attempt (docs/receiver.md).
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["STATES", "State"]

State = Literal["pending", "claimed", "done", "dead"]
STATES: Final[tuple[State, ...]] = ("pending", "claimed", "done", "dead")
