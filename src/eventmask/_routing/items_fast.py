"""``filter --items``'s fast path: a line's selected items written as JSON in one call.

``--items`` writes each selected ARI item on a line of its own, the
notification's ``property_id`` in front (``{"property_id": ..., **item}``,
so an item's own ``property_id`` takes its value, in front).  The general
path does that item by item, after matching the whole notification: a
`dumps` and a hand-over per item, about 290 ns an item beyond a decode and
encode of the line.  This path rules lines out from their bytes as
`FastLine` does, decodes the items of a line that may match as objects (the
dicts the general path builds) and picks them there with the tests written
for objects (`pickers.written`), or takes every item for a mask that takes
them all (``ari``, ``ari:*:*:*``).  Then it writes a line's items in one
`dumps_each` and hands the block to `take`.  A mask of `GATE_FROM` filters
naming ids or more is picked from typed items, its items read again to be written.
The items are decoded with the general path's settings (a float beyond a
double is infinity, written null), so each line is the one the general path
writes: tests/routing/test_items_fast.py holds the two to the same bytes.
docs/filter.md, "Speed".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Final

import msgspec

from .._json import dumps_each
from .._language.items import Item
from .filter_fast import FastLine, Result, items_fit
from .pickers import inline

if TYPE_CHECKING:
    from .._catalogue import Catalogue
    from .._language.mask import Mask
    from .predicates import Predicates

__all__ = ["ItemLine", "item_path"]

# What takes a line's block of items: the JSON lines (each ending in a newline), and
# how many there are.
Take = Callable[[bytes, int], None]


class _Payload(msgspec.Struct, gc=False):
    """A notification's items as the general path decodes them, the rest skipped."""

    payload: list[dict[str, Any]] | None = None


class _Notification(msgspec.Struct, gc=False):
    """What a mask that takes every item reads of a line, its items as objects."""

    event: str
    property_id: Any = None
    payload: list[dict[str, Any]] | None = None


# float_hook as in `_json`, which the general path decodes with.
_payload: Final = msgspec.json.Decoder(_Payload, float_hook=float)
_notification: Final = msgspec.json.Decoder(_Notification, float_hook=float)


def item_path(
    mask: Mask,
    property_id: str | None,
    catalogue: Catalogue,
    predicates: Predicates | None,
    take: Take,
) -> ItemLine | None:
    """The fast path for ``--items`` of `mask`, handing each line's items to `take` as
    JSON lines; None when the mask neither fits the fast path nor takes every item.

    >>> from eventmask import Catalogue, parse
    >>> got = []
    >>> line = item_path(parse("ari:rate:*:*"), None, Catalogue.default(), None,
    ...                  lambda block, count: got.append(block))
    >>> line(b'{"event":"ari","property_id":"p","payload":[{"rate":1.50},{"booked":1}]}')
    (None, 2, 1, True)
    >>> got
    [b'{"property_id":"p","rate":1.5}\\n']
    >>> item_path(parse("*"), None, Catalogue.default(), None, print) is None
    True
    """
    if not items_fit(mask):
        return None
    return ItemLine(mask.items, property_id, catalogue, predicates, take)


class ItemLine(FastLine):
    """A `FastLine` whose selected items are written, a line each, and handed to `take`."""

    def __init__(
        self,
        items: Sequence[Item],
        property_id: str | None,
        catalogue: Catalogue,
        predicates: Predicates | None,
        take: Take,
    ) -> None:
        super().__init__(items, property_id, catalogue, predicates)
        # Every item of every ARI line, nothing asked of the items: nothing to pick, and
        # a decode of fewer fields (``ari --items`` in process: 0.49 s, against 0.51 s
        # through the picker).
        self._whole = self._every and self._asked is None
        self._take = take

    def _as_objects(self) -> bool:
        # The items are written again, so each is built: picked where it is decoded,
        # a line is read once (``ari:rate,availability:*:* --items`` in process over the
        # 157 MB stream's first 40,000 lines: 0.52 s typed and then as objects, 0.43 s as
        # objects alone).
        return inline(self._filters)

    def _maybe(self, line: bytes) -> Result | None:
        if self._whole:
            doc = _notification.decode(line)
            if doc.event not in self._ari or not self._in_scope(doc.property_id):
                return None  # events, odd envelopes and other properties: the general path's
            if doc.payload is None:  # matched, with no items: the general path's to count
                return None
            return self._written(doc.payload, len(doc.payload), doc.property_id)
        return super()._maybe(line)

    def _selected(self, line: bytes, doc: Any, typed: list[Any], picks: list[int]) -> Result | None:
        if self._objects:
            chosen = typed if len(picks) == len(typed) else [typed[n] for n in picks]
            return self._written(chosen, len(typed), doc.property_id)
        # Typed items, for tests made one filter at a time: the items read again to write.
        payload = _payload.decode(line).payload
        if payload is None or len(payload) != len(typed):  # pragma: no cover - one line, read
            return None  # twice with one grammar: the same items
        return self._written([payload[n] for n in picks], len(typed), doc.property_id)

    def _written(self, chosen: list[dict[str, Any]], read: int, prop: Any) -> Result:
        # Each item merged as the general path merges it; one encode for them all.
        self._take(dumps_each([{"property_id": prop, **item} for item in chosen]), len(chosen))
        return (None, read, len(chosen), True)
