"""Aggregates over the ARI items a filter selects: counts per group, and the latest state.

``eventmask filter --count-by FIELDS`` and ``--latest`` (docs/filter.md,
"Counting and the latest state").  Both read the narrowed notifications the
filter yields, so the mask and the predicates have already chosen the items,
and both keep one small record per group: memory grows with the number of
groups, never with the number of lines.

A *cell* is one (property, room type, rate plan, date, restriction): the
smallest thing ARI sets.  Values print as Channex means them: a rate as a
decimal whichever form it came in (``24833`` minor units is ``248.33``), a
flag as true or false; a value eventmask cannot read prints as sent.  An
item carrying several restrictions is one value for each.  Only the
restrictions the mask asks for count: under ``ari:rate:*:*`` an item's
``min_stay`` is not a rate change.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, Final, NamedTuple

import attrs

from .._catalogue import ARI, ARI_ID_KEYS
from .._errors import PredicateError
from .._json import loads
from .._language.items import AriFilter, Wildcard
from .._language.mask import Mask
from .values import parse_timestamp, value_reader

__all__ = [
    "CELL",
    "CHANGED",
    "FIELDS",
    "LATEST",
    "Change",
    "Changes",
    "Counter",
    "Latest",
    "asked_restrictions",
    "changes",
    "fields_of",
    "item_changes",
    "readable",
    "reader_of",
    "readers_for",
    "shown",
    "shown_of",
    "when_of",
]

# What a group or a cell is made of.
CELL: Final = ("property_id", "room_type_id", "rate_plan_id", "date", "restriction")
FIELDS: Final = (*CELL, "event", "user_id")
# The columns of a record of the latest state (`Latest.records`) and of a change
# (`Changes.add`).
LATEST: Final = (*CELL, "value", "timestamp", "user_id")
CHANGED: Final = (*CELL, "old", "new", "timestamp", "user_id")


def asked_restrictions(mask: Mask) -> frozenset[str] | None:
    """The restriction keys the mask selects items for (None: every key).

    >>> from eventmask import parse
    >>> sorted(asked_restrictions(parse("ari:rate,stop_sell:*:*")))
    ['rate', 'stop_sell']
    >>> asked_restrictions(parse("ari")) is None
    True
    """
    names: set[str] = set()
    for item in mask.items:
        if isinstance(item, Wildcard):
            return None
        if isinstance(item, AriFilter):
            if item.restrictions is None:
                return None
            names |= item.restrictions
    return frozenset(names)


def fields_of(text: str, known: tuple[str, ...] = FIELDS) -> tuple[str, ...]:
    """A comma list of fields, each one of `known` (`PredicateError` with a caret if not).

    >>> fields_of("rate_plan_id,date")
    ('rate_plan_id', 'date')
    """
    out = []
    at = 0
    for name in text.split(","):
        field = name.strip()
        if field not in known:
            names = ", ".join(known)
            raise PredicateError(f"unknown field {field!r}: one of {names}", text, at)
        out.append(field)
        at += len(name) + 1
    return tuple(out)


class Change(NamedTuple):
    """One value of one cell, from one notification: the cell first, then what was set."""

    property_id: Any
    room_type_id: Any
    rate_plan_id: Any
    date: Any
    restriction: str
    raw: Any  # as sent
    value: Decimal | int | bool | None  # as Channex means it; None when unreadable or not read
    timestamp: Any  # as sent
    when: int | None  # the timestamp read (`when_of`), once per notification
    user_id: Any
    event: str = ARI

    @property
    def shown(self) -> Any:
        """The value as Channex means it, or as sent when eventmask cannot read it."""
        return self.raw if self.value is None else self.value


# A `Change` from all its fields (the event too): one C call, where the named tuple's own
# constructor is a Python call per value (`changes`, `aggregate_fast.SummingLine`).
_new: Final = tuple.__new__


def readable(key: str, raw: object) -> Decimal | int | bool | None:
    """`raw` as Channex means it under `key`; None for an unknown key or a bad value.

    >>> readable("rate", 24833), readable("stop_sell", 9), readable("colour", "red")
    (Decimal('248.33'), None, None)
    """
    return reader_of(key)(raw)


def _unreadable(raw: object) -> None:
    return None


def reader_of(key: str, valued: bool = True) -> Callable[[object], Decimal | int | bool | None]:
    """`readable` for one key, looked up once: for a loop over many values.  With
    ``valued=False``, a reader that reads nothing (`changes(valued=False)`).

    >>> reader_of("rate")("1.5"), reader_of("rate")(True), reader_of("colour")(1)
    (Decimal('1.5'), None, None)
    >>> reader_of("rate", valued=False)("1.5") is None
    True
    """
    if not valued:
        return _unreadable
    try:
        read = value_reader(key)
    except KeyError:
        return _unreadable  # an unknown restriction: counted, not valued

    def read_or_none(raw: object) -> Decimal | int | bool | None:
        try:
            return read(raw)
        except ValueError:
            return None

    return read_or_none


def shown(key: str, raw: object) -> Any:
    """What a table prints for `raw`: as Channex means it, else as sent.

    >>> shown("rate", "99.5"), shown("stop_sell", 9)
    (Decimal('99.5'), 9)
    """
    return shown_of(key)(raw)


def shown_of(key: str) -> Callable[[object], Any]:
    """`shown` for one key, its reader looked up once: for a column of many values.

    >>> shown_of("rate")(24833), shown_of("date")("2026-06-01")
    (Decimal('248.33'), '2026-06-01')
    """
    read = reader_of(key)

    def show(raw: object) -> Any:
        value = read(raw)
        return raw if value is None else value

    return show


_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND: Final = dt.timedelta(microseconds=1)


def when_of(stamp: object) -> int | None:
    """A notification's ``timestamp`` as microseconds since the epoch, or None when it is
    missing or unreadable.  An integer, because the latest state compares one per value
    (418,240 on the benchmark's log), and integers compare faster than aware datetimes.

    >>> when_of("2026-05-01T10:00:00.5Z") - when_of("2026-05-01T10:00:00Z"), when_of("late")
    (500000, None)
    """
    try:
        moment = parse_timestamp(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None
    return None if moment is None else (moment - _EPOCH) // _MICROSECOND


def changes(
    lines: Iterable[bytes], wanted: frozenset[str] | None, valued: bool = True
) -> Iterator[Change]:
    """One `Change` per cell value in narrowed ARI notifications.

    With ``valued=False`` no value is read (each `Change.value` is None):
    the latest state reads only each cell's last value, once, at the end.

    >>> [c.value for c in changes([b'{"event":"ari","payload":[{"rate":100,"booked":1}]}'], None)]
    [Decimal('1.00'), 1]
    """
    readers = readers_for(wanted, valued)
    for line in lines:
        doc = loads(line)
        if doc.get("event") != ARI or doc.get("payload").__class__ is not list:
            continue
        yield from item_changes(doc["payload"], doc.get("property_id"), doc.get("timestamp"),
                                doc.get("user_id"), wanted, readers, valued)  # fmt: skip


# Each key's reader, found as the key is first met.
Readers = dict[str, Callable[[object], Decimal | int | bool | None]]


def readers_for(wanted: frozenset[str] | None, valued: bool) -> Readers:
    """The readers `item_changes` starts from: one for each key of `wanted` (None: every key
    but the ids and the date, each reader found as the key is first met).

    >>> sorted(readers_for(frozenset({"rate", "date"}), True)), readers_for(None, True)
    (['rate'], {})
    """
    if wanted is None:
        return {}
    return {key: reader_of(key, valued) for key in wanted - ARI_ID_KEYS}


def item_changes(items: Iterable[object], prop: Any, stamp: Any, user: Any,
                 wanted: frozenset[str] | None, readers: Readers,
                 valued: bool = True) -> list[Change]:  # fmt: skip
    """One `Change` per cell value in the ARI `items` of one notification (of property
    `prop`, sent at `stamp` by `user`), each item's in the order of its keys: what
    `changes` reads of a line, and the fast path of items decoded as objects
    (`aggregate_fast.SummingLine`).  `readers` keeps each asked key's reader between
    calls: `readers_for` the same `wanted` and `valued`.

    >>> [(c.restriction, c.value) for c in item_changes([{"rate": 100, "date": "d",
    ...  "booked": 1}, 7], "p", None, None, None, readers_for(None, True))]
    [('rate', Decimal('1.00')), ('booked', 1)]
    """
    when = when_of(stamp)
    found: list[Change] = []
    add = found.append
    for item in items:
        if item.__class__ is not dict and not isinstance(item, Mapping):
            continue
        room, rate, day = item.get("room_type_id"), item.get("rate_plan_id"), item.get("date")
        for key, raw in item.items():
            # One lookup for a key asked (`readers_for` holds every key of `wanted`).
            read = readers.get(key)
            if read is None:
                if wanted is not None or key in ARI_ID_KEYS:
                    continue
                read = readers[key] = reader_of(key, valued)
            # An unknown restriction, or a bad value: counted, not valued.  Unvalued, no
            # reader is called.  The tuple built directly: the named tuple's `__new__` is
            # a Python call per value.  Under `ari --latest` on the 157 MB stream
            # (1,499,444 values, none read) this loop took 2.39 s, and 2.15 s so and with
            # no reader called.
            value = read(raw) if valued else None
            add(_new(Change, (prop, room, rate, day, key, raw, value, stamp, when, user, ARI)))
    return found


@attrs.define(slots=True)
class _Group:
    count: int = 0
    low: Any = None
    high: Any = None
    last: Any = None


class Counter:
    """Counts per group of `fields`, with the minimum, maximum and last value where numeric.

    >>> c = Counter(("restriction",))
    >>> for change in changes([b'{"event":"ari","payload":[{"min_stay":3},{"min_stay":1},'
    ...                        b'{"min_stay":2}]}'], None):
    ...     c.add(change)
    >>> c.rows()
    [{'restriction': 'min_stay', 'count': 3, 'min': 1, 'max': 3, 'last': 2}]
    """

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        # A tuple of the fields whatever their number (attrgetter of one gives the value).
        getter = operator.attrgetter(*fields)
        self._key = getter if len(fields) > 1 else (lambda change: (getter(change),))
        self.groups: dict[tuple[Any, ...], _Group] = {}

    def add(self, change: Change) -> None:
        """Count one cell value in its group."""
        self.add_all((change,))

    def add_all(self, found: Iterable[Change]) -> None:
        """Count cell values in their groups, in order (one loop: it runs per value)."""
        groups, key_of = self.groups, self._key
        for change in found:
            key = key_of(change)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group()
            group.count += 1
            value = change.value
            if value is None:
                group.last = change.raw
                continue
            group.last = value
            if value.__class__ is not bool:  # a number: an int or a Decimal
                if group.low is None or value < group.low:
                    group.low = value
                if group.high is None or value > group.high:
                    group.high = value

    def merge(self, later: Mapping[tuple[Any, ...], _Group]) -> None:
        """Add the `groups` of a counter that read the lines after this one's.

        The same as having read them all here: counts add up, min and max
        combine, and the later lines' last value is the last.

        >>> first, second = Counter(("restriction",)), Counter(("restriction",))
        >>> log = [b'{"event":"ari","payload":[{"booked":3}]}',
        ...        b'{"event":"ari","payload":[{"booked":1}]}']
        >>> first.add_all(changes(log[:1], None)); second.add_all(changes(log[1:], None))
        >>> first.merge(second.groups); first.rows()
        [{'restriction': 'booked', 'count': 2, 'min': 1, 'max': 3, 'last': 1}]
        """
        groups = self.groups
        for key, new in later.items():
            group = groups.get(key)
            if group is None:
                groups[key] = attrs.evolve(new)
                continue
            group.count += new.count
            group.last = new.last  # a group is only made by a value, so `last` was set
            if new.low is not None and (group.low is None or new.low < group.low):
                group.low = new.low
            if new.high is not None and (group.high is None or new.high > group.high):
                group.high = new.high

    def rows(self) -> list[dict[str, Any]]:
        """One row per group, the largest count first (ties in the fields' order)."""
        ordered = sorted(self.groups.items(),
                         key=lambda kv: (-kv[1].count, [str(k) for k in kv[0]]))  # fmt: skip
        out = []
        for key, g in ordered:
            row: dict[str, Any] = dict(zip(self.fields, key, strict=True))
            row.update(count=g.count, min=g.low, max=g.high, last=g.last)
            out.append(row)
        return out


class Latest:
    """The last value of each cell: by the notification's timestamp, the log's order
    breaking ties (webhooks arrive out of order; the timestamp says when Channex sent it).

    >>> state = Latest()
    >>> for change in changes([b'{"event":"ari","timestamp":"2026-05-01T10:00:00Z",'
    ...                        b'"payload":[{"date":"2026-06-01","availability":2}]}'], None):
    ...     state.add(change)
    >>> [(row["date"], row["value"]) for row in state.rows()]
    [('2026-06-01', 2)]
    """

    def __init__(self) -> None:
        self.cells: dict[tuple[Any, ...], Change] = {}

    def add(self, change: Change) -> None:
        """Keep `change` if it is the cell's latest so far."""
        self.add_all((change,))

    def add_all(self, found: Iterable[Change]) -> None:
        """Keep each change that is its cell's latest so far, in order."""
        cells = self.cells
        for change in found:
            key = change[:5]
            held = cells.get(key)
            if held is not None and held.when is not None:
                when = change.when
                if when is None or when < held.when:
                    continue
            cells[key] = change

    def merge(self, later: Mapping[tuple[Any, ...], Change]) -> None:
        """Take the `cells` of a state that read the lines after this one's.

        The same as having read them all here: a cell's latest in the later
        lines is its latest unless this one holds a later timestamp (the
        rule of `add_all`, whose outcome depends only on the latest of each).

        >>> first, second = Latest(), Latest()
        >>> log = [b'{"event":"ari","timestamp":"2026-05-02T10:00:00Z","payload":[{"booked":3}]}',
        ...        b'{"event":"ari","timestamp":"2026-05-01T10:00:00Z","payload":[{"booked":1}]}']
        >>> first.add_all(changes(log[:1], None)); second.add_all(changes(log[1:], None))
        >>> first.merge(second.cells); [row["value"] for row in first.rows()]
        [3]
        """
        self.add_all(later.values())

    def rows(self) -> list[dict[str, Any]]:
        """One row per cell, in the cell's order (its parts compared as text)."""
        return [dict(zip(LATEST, record, strict=True)) for record in self.records()]

    def records(self) -> list[tuple[Any, ...]]:
        """`rows` as tuples of the `LATEST` columns, for a table to write: on the 685,548
        cells of ``ari --latest`` over the 157 MB stream, the command took 6.14 s with a
        dict a row (read a key a field) and 5.52 s with these.

        >>> state = Latest()
        >>> state.add_all(changes([b'{"event":"ari","payload":[{"date":"d","rate":"1.5"}]}'],
        ...                       None))
        >>> state.records()
        [(None, None, None, 'd', 'rate', Decimal('1.5'), None, None)]
        """
        cells = self.cells
        shows: dict[str, Callable[[object], Any]] = {}
        out = []
        for key in _in_order(cells):
            change = cells[key]
            # Read here, once per cell: the changes it kept may not have been read.
            show = shows.get(change.restriction)
            if show is None:
                show = shows[change.restriction] = shown_of(change.restriction)
            out.append((*key, show(change.raw), change.timestamp, change.user_id))
        return out


def _in_order(keys: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Cells' keys in order, their parts compared as text one after another.

    Each key sorts as one string, its parts' texts joined by NUL (the least
    character, so that a part sorts before a longer part it begins): the same
    order as the tuple of texts, unless a part holds a NUL itself (JSON can
    send one escaped), and then the tuples are compared.  On the 685,548
    cells of ``ari --latest`` over the 157 MB stream: 0.53 s, against 1.26 s
    for tuples and 3.25 s for lists.

    >>> _in_order([("b", None), ("a", "z"), ("a", "y\\x00")])
    [('a', 'y\\x00'), ('a', 'z'), ('b', None)]
    """
    joined = {key: "\0".join(map(str, key)) for key in keys}
    if all(text.count("\0") == len(key) - 1 for key, text in joined.items()):
        return sorted(joined, key=joined.__getitem__)
    return sorted(joined, key=lambda key: tuple(map(str, key)))


class Changes:
    """Each change of a cell's value, old -> new, in the order of the log.

    The first value seen of a cell has no old value.  A value equal to the
    cell's last one is no change and is not reported.  Changes made by one of
    `ignore_users` (Channex sends the ``user_id`` so that a PMS can skip its
    own) move the cell on without being reported.  Memory is one value per
    cell; the rows stream out.

    >>> log = [b'{"event":"ari","user_id":"u1","payload":[{"date":"2026-06-01","booked":1}]}',
    ...        b'{"event":"ari","user_id":"me","payload":[{"date":"2026-06-01","booked":2}]}',
    ...        b'{"event":"ari","user_id":"u2","payload":[{"date":"2026-06-01","booked":3}]}']
    >>> seen = Changes(ignore_users={"me"})
    >>> [(old, new, user) for c in changes(log, None) for *_, old, new, _, user in seen.add(c)]
    [(None, 1, 'u1'), (2, 3, 'u2')]
    """

    def __init__(self, ignore_users: Iterable[str] = ()) -> None:
        self.last: dict[tuple[Any, ...], Any] = {}
        self.ignore = frozenset(ignore_users)

    def add(self, change: Change) -> list[tuple[Any, ...]]:
        """The row `change` makes, its values in the `CHANGED` columns (none when the value
        did not change, or was ignored)."""
        key = change[:5]
        new = change.shown
        old = self.last.get(key, _MISSING)
        self.last[key] = new
        if old == new or change.user_id in self.ignore:
            return []
        return [(*key, None if old is _MISSING else old, new, change.timestamp, change.user_id)]


# A cell not seen before (a value may be None).
_MISSING: Final = object()
