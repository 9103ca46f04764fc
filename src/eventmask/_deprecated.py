"""Public names that were renamed: the old name still resolves, with a DeprecationWarning.

Each public namespace lists its renamed names here, old to new, and calls
`renamed` from its module ``__getattr__``.  Type checkers see the old names
through an ``import ... as`` of the new class, so code using them still
type-checks while the warning says what to write instead (CHANGELOG.md
lists every rename).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Final

__all__ = ["RENAMED", "renamed"]

# namespace -> {old name: new name}
RENAMED: Final[dict[str, dict[str, str]]] = {
    "eventmask": {"HandlerError": "HandlerFailure"},
    "eventmask.channex": {
        "Outcome": "StepOutcome",
        "Plan": "WebhookPlan",
        "rotate": "rotation_steps",
    },
    "eventmask.inbox": {"Outcome": "AttemptOutcome"},
}


def renamed(namespace: str, name: str, resolve: Callable[[str], object]) -> object:
    """The object an old `name` of `namespace` now has, with a DeprecationWarning.

    Raises AttributeError, as a module does, for a name that never existed.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     renamed("eventmask", "HandlerError", lambda new: new)
    'HandlerFailure'
    >>> str(caught[0].message)
    'eventmask.HandlerError is deprecated: use eventmask.HandlerFailure'
    """
    new = RENAMED.get(namespace, {}).get(name)
    if new is None:
        raise AttributeError(f"module {namespace!r} has no attribute {name!r}")
    message = f"{namespace}.{name} is deprecated: use {namespace}.{new}"
    warnings.warn(message, DeprecationWarning, stacklevel=3)
    return resolve(new)
