"""`Notification`: what a handler receives.

The envelope as Channex sent it (``raw``), the ARI items the handler's
routes selected, and typed views (`payloads`) built lazily, on first access
(docs/routing.md, "What a handler receives").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from .._catalogue import ARI, Catalogue
from .._envelope import NotificationInput, load, type_name
from .._errors import FieldError, NotificationError
from .ari import AriChange
from .families import FamilyAccess
from .payloads import Payload, structure_payload
from .values import parse_timestamp

__all__ = ["Notification"]

_UNSET: Final[Any] = object()


class Notification(FamilyAccess):
    """What a handler receives: the envelope, the typed payload and the selected items.

    ``raw`` is the decoded JSON object, unchanged.  For an ``ari``
    notification, `items` holds the typed ARI items the handler's routes
    selected, in payload order, and `payload` is the same tuple; for other
    events `payload` is a typed payload object.  `signal_only` is true when
    Channex sent no payload (a webhook with ``send_data: false``): pull the
    data from the API.

    >>> n = Notification.of({"event": "booking_new", "property_id": "P",
    ...                      "payload": {"booking_id": "B", "booking_revision_id": "R"}})
    >>> n.payload.revision_id
    'R'

    Read-only: the attributes are properties.  It is a plain slotted class
    rather than an attrs one because the router creates one per handler call
    and the typed views are computed lazily, on first access.
    """

    __slots__ = ("_catalogue", "_items", "_payload", "_raw", "_selected", "_timestamp")

    def __init__(
        self,
        raw: Mapping[str, Any],
        selected: tuple[Mapping[str, Any], ...] = (),
        catalogue: Catalogue | None = None,
    ) -> None:
        self._raw = raw
        self._selected = selected
        self._catalogue = catalogue
        self._items: Any = _UNSET
        self._payload: Any = _UNSET
        self._timestamp: Any = _UNSET

    def __repr__(self) -> str:
        return f"Notification(event={self.event!r}, property_id={self.property_id!r})"

    @property
    def raw(self) -> Mapping[str, Any]:
        """The decoded JSON object, exactly as received.

        >>> Notification({"event": "message", "x": 1}).raw["x"]
        1
        """
        return self._raw

    @property
    def selected(self) -> tuple[Mapping[str, Any], ...]:
        """The selected ARI items as the original mappings, in payload order.

        >>> Notification({"event": "ari"}, ({"rate": 1},)).selected
        ({'rate': 1},)
        """
        return self._selected

    @classmethod
    def of(
        cls,
        notification: NotificationInput,
        selected: Sequence[Mapping[str, Any]] = (),
        catalogue: Catalogue | None = None,
    ) -> Notification:
        """Wrap a notification (mapping, or JSON bytes/str) for a handler.

        >>> Notification.of(b'{"event": "review"}').event
        'review'
        """
        return cls(load(notification), tuple(selected), catalogue)

    @property
    def event(self) -> str:
        """The event name as Channex sent it.

        >>> Notification({"event": "disconnected_channel"}).event
        'disconnected_channel'
        """
        return str(self.raw["event"])

    @property
    def property_id(self) -> str | None:
        """The property the notification is about (top-level field).

        >>> Notification({"event": "message", "property_id": "P"}).property_id
        'P'
        """
        value = self.raw.get("property_id")
        return value if isinstance(value, str) else None

    @property
    def user_id(self) -> str | None:
        """The user who caused the change, or None.

        >>> Notification({"event": "message", "user_id": None}).user_id is None
        True
        """
        value = self.raw.get("user_id")
        return value if isinstance(value, str) else None

    @property
    def timestamp(self) -> dt.datetime | None:
        """When Channex produced the notification (absent in older deliveries).

        >>> Notification({"event": "x", "timestamp": "2026-01-02T03:04:05Z"}).timestamp.year
        2026
        """
        if self._timestamp is _UNSET:
            value = self.raw.get("timestamp")
            if not isinstance(value, str):
                self._timestamp = None
            else:
                try:
                    self._timestamp = parse_timestamp(value)
                except ValueError:
                    raise NotificationError(f"not a timestamp: {value!r}", "$.timestamp") from None
        stamp: dt.datetime | None = self._timestamp
        return stamp

    @property
    def signal_only(self) -> bool:
        """True when the notification carries no payload (``send_data: false``): pull it.

        >>> Notification({"event": "booking_new"}).signal_only
        True
        """
        return self.raw.get("payload") is None

    @property
    def items(self) -> tuple[AriChange, ...]:
        """The selected ARI items, typed, in payload order.

        >>> Notification({"event": "ari"}, ({"date": "2026-01-01", "rate": "9.5"},)).items[0].rate
        Decimal('9.5')
        """
        if self._items is _UNSET:
            self._items = self._type_items()
        items: tuple[AriChange, ...] = self._items
        return items

    def _type_items(self) -> tuple[AriChange, ...]:
        out = []
        positions = {id(item): index for index, item in enumerate(self.raw.get("payload") or ())}
        for item in self.selected:
            where = positions.get(id(item))
            path = "$.payload" if where is None else f"$.payload[{where}]"
            if not isinstance(item, Mapping):
                message = f"expected an ARI item object, got {type_name(item)}"
                raise NotificationError(message, path)
            try:
                out.append(AriChange.from_item(item))
            except FieldError as err:
                raise NotificationError(err.message, f"{path}.{err.key}") from None
        return tuple(out)

    @property
    def payload(self) -> Payload | tuple[AriChange, ...] | None:
        """The typed payload (see the class docstring).

        >>> Notification({"event": "message", "payload": {"message": "Hi"}}).payload.message
        'Hi'
        """
        if self._payload is _UNSET:
            self._payload = self._type_payload()
        payload: Payload | tuple[AriChange, ...] | None = self._payload
        return payload

    def _type_payload(self) -> Payload | tuple[AriChange, ...] | None:
        catalogue = self._catalogue or Catalogue.default()
        if catalogue.resolve(self.event) == ARI:
            return self.items
        payload = self.raw.get("payload")
        if payload is None:
            return None
        if not isinstance(payload, Mapping):
            raise NotificationError(f"expected an object, got {type_name(payload)}", "$.payload")
        return structure_payload(self.event, payload, catalogue)
