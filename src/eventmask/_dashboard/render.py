"""The page's templates, rendered with Jinja2 with autoescaping on (the ``dashboard`` extra).

Every value a page shows goes through the escaper: a payload, an error
message or a refused body can hold markup, and it is shown as text.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

__all__ = ["Renderer", "age", "iso"]


def iso(value: float | None) -> str:
    """A time as ISO 8601 UTC to the second, or an empty string.

    >>> iso(0.0)
    '1970-01-01T00:00:00Z'
    """
    if value is None:
        return ""
    return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def age(seconds: float | None) -> str:
    """A duration for people: 42 s, 3 min, 5.2 h, 2.1 d.

    >>> age(42), age(200), age(18_000), age(None)
    ('42 s', '3 min', '5.0 h', '-')
    """
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7_200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3_600:.1f} h"
    return f"{seconds / 86_400:.1f} d"


class Renderer:
    """The dashboard's Jinja2 environment, loaded from the package's templates."""

    def __init__(self) -> None:
        try:
            import jinja2
        except ImportError as exc:
            raise ImportError(
                "the dashboard needs Jinja2: pip install 'eventmask[dashboard]'", name=exc.name
            ) from exc
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("eventmask._dashboard", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["iso"] = iso
        self.env.filters["age"] = age

    def page(self, template: str, root: str, csrf: str, actions: bool, **values: Any) -> bytes:
        """One whole page, as UTF-8 bytes."""
        chosen = self.env.get_template(template)
        return chosen.render(root=root, csrf=csrf, actions=actions, **values).encode()
