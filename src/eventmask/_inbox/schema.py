"""The check of an inbox's schema version, for every backend and the command line.

Standard library only, as `sqlite_file` (docs/architecture.md, "Start-up").
"""

from __future__ import annotations

__all__ = ["schema_problem"]


def schema_problem(version: int, expected: int, where: str) -> str | None:
    """What is wrong with schema `version` where `expected` is needed, naming what to run.

    >>> schema_problem(7, 8, "inbox.db")
    'the inbox schema at inbox.db is version 7, this eventmask needs version 8: run `eventmask inbox migrate --db inbox.db`'
    >>> schema_problem(8, 8, "inbox.db") is None
    True
    """  # noqa: E501
    if version == expected:
        return None
    action = (
        f"run `eventmask inbox migrate --db {where}`" if version < expected else "upgrade eventmask"
    )
    return (
        f"the inbox schema at {where} is version {version}, this eventmask needs "
        f"version {expected}: {action}"
    )
