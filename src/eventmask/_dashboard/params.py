"""Reading the page's query strings and forms into typed values, with errors that say which field.

Every filter lives in the URL, so a view can be bookmarked and shared
(docs/dashboard.md, "Entries").  A value that cannot be read is a
`BadParameter`: the page answers 400 and names the field.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Final

import attrs

from .._errors import EventmaskError, InboxError
from .._inbox.queries import RANGES, EntryQuery, Range
from .._inbox.states import STATES

__all__ = ["BadParameter", "EntryFilters", "Params", "parse"]

MAX_FIELDS: Final = 64
MAX_ID: Final = 2**63 - 1


class BadParameter(EventmaskError, ValueError):
    """A query-string or form value the page cannot use; the message names the field.

    The dashboard answers it 400, with the message on the page.

    >>> str(BadParameter("order: expected newest or oldest"))
    'order: expected newest or oldest'
    """


Params = dict[str, list[str]]


def parse(text: bytes | str) -> Params:
    """A query string or urlencoded form, each name to its values (blank values dropped).

    >>> parse(b"state=dead&state=pending&q=")
    {'state': ['dead', 'pending']}
    """
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    try:
        return urllib.parse.parse_qs(raw, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise BadParameter(f"too many fields: at most {MAX_FIELDS}") from None


def one(params: Params, name: str, limit: int = 200) -> str | None:
    """The single value of `name`, or None (several, or one too long: BadParameter).

    >>> one({"q": ["abc"]}, "q")
    'abc'
    """
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise BadParameter(f"{name}: give it once, not {len(values)} times")
    value = values[0].strip()
    if len(value) > limit:
        raise BadParameter(f"{name}: at most {limit} characters")
    return value or None


def entry_id(text: str | None, name: str) -> int | None:
    """An entry id from a field (digits, within the ids' range), or None.

    >>> entry_id("42", "after"), entry_id(None, "after")
    (42, None)
    """
    if text is None:
        return None
    if not text.isdigit() or int(text) > MAX_ID:
        raise BadParameter(f"{name}: expected an entry id (a whole number), got {text[:40]!r}")
    return int(text)


def moment(text: str | None, name: str) -> float | None:
    """A date (``2026-05-01``) or a UTC date and time (``2026-05-01T14:30``), as epoch seconds.

    >>> moment("1970-01-02", "since")
    86400.0
    """
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BadParameter(
            f"{name}: expected a date (2026-05-01) or a UTC time (2026-05-01T14:30), "
            f"got {text[:40]!r}"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def time_range(params: Params) -> Range:
    """The overview's range: hour (the default), day or week.

    >>> time_range({"range": ["week"]})
    'week'
    """
    value = one(params, "range") or "hour"
    for known in RANGES:
        if value == known:
            return known
    raise BadParameter(f"range: expected one of {', '.join(RANGES)}, got {value[:40]!r}")


@attrs.frozen(slots=True)
class EntryFilters:
    """The entries page's filters as the form shows them, and the query they ask.

    >>> EntryFilters.read(parse("state=dead&order=oldest")).query.newest_first
    False
    """

    values: dict[str, str]
    states: tuple[str, ...]
    query: EntryQuery

    @classmethod
    def read(cls, params: Params) -> EntryFilters:
        """Read the filters, or raise BadParameter naming the first field that is wrong."""
        states = tuple(dict.fromkeys(params.get("state", ())))
        unknown = [s for s in states if s not in STATES]
        if unknown:
            raise BadParameter(
                f"state: unknown state {unknown[0][:40]!r}; expected any of {', '.join(STATES)}"
            )
        values = {n: v for n in _FIELDS if (v := one(params, n)) is not None}
        order = values.get("order", "newest")
        if order not in ("newest", "oldest"):
            raise BadParameter(f"order: expected newest or oldest, got {order[:40]!r}")
        since, until = moment(values.get("since"), "since"), moment(values.get("until"), "until")
        if since is not None and until is not None and since >= until:
            raise BadParameter("since: must be before until")
        try:
            query = EntryQuery(
                states=states,  # type: ignore[arg-type]  # checked above
                event=values.get("event"),
                property_id=values.get("property"),
                since=since,
                until=until,
                error_class=values.get("error"),
                text=values.get("q"),
                newest_first=order == "newest",
                after=entry_id(values.get("after"), "after"),
            )
        except InboxError as exc:
            raise BadParameter(str(exc)) from None
        return cls(values, states, query)

    def link(self, **changes: str | None) -> str:
        """This view's query string with some fields changed (None removes one)."""
        fields = {**self.values, **changes}
        pairs = [("state", s) for s in self.states]
        pairs += [(k, v) for k, v in fields.items() if v is not None]
        return urllib.parse.urlencode(pairs)


_FIELDS: Final = ("event", "property", "since", "until", "error", "q", "order", "after")
