"""Typed access to a notification's payload by family: no isinstance, no union.

Each property returns one payload class or raises `NotificationError`
naming why (docs/routing.md, "Typed access by family").  It is a mixin so
that `Notification` stays one small room; the doctests build notifications
through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from .._errors import NotificationError
from .payloads import (
    BookingPayload,
    ChannelPayload,
    MessagePayload,
    ReservationPayload,
    ReviewPayload,
    SyncErrorPayload,
)

if TYPE_CHECKING:
    from .ari import AriChange
    from .payloads import Payload

__all__ = ["FamilyAccess"]

P = TypeVar("P")


class FamilyAccess:
    """The family accessors of `Notification` (``booking``, ``message``, ...).

    >>> from eventmask import Notification
    >>> Notification({"event": "booking_new", "payload": {"revision_id": "R"}}).booking.revision_id
    'R'
    """

    __slots__ = ()

    if TYPE_CHECKING:

        @property
        def event(self) -> str: ...

        @property
        def payload(self) -> Payload | tuple[AriChange, ...] | None: ...

    def _family(self, kind: type[P], family: str) -> P:
        payload = self.payload
        if isinstance(payload, kind):
            return payload
        if payload is None:
            why = "it carries no payload (send_data is false): pull the data from the API"
        else:
            why = f"its event {self.event!r} is not of the {family} family"
        raise NotificationError(f"no {family} payload: {why}", "$.payload")

    @property
    def booking(self) -> BookingPayload:
        """The booking payload (booking events, unmapped and non-acked bookings).

        Raises `NotificationError` for another event or a signal-only
        notification (check `signal_only` first when the webhook may send no data).

        >>> from eventmask import Notification
        >>> n = Notification({"event": "booking_new", "payload": {"revision_id": "R"}})
        >>> n.booking.revision_id
        'R'
        """
        return self._family(BookingPayload, "booking")

    @property
    def message(self) -> MessagePayload:
        """The payload of a ``message``.

        >>> from eventmask import Notification
        >>> Notification({"event": "message", "payload": {"message": "Hi"}}).message.message
        'Hi'
        """
        return self._family(MessagePayload, "message")

    @property
    def sync_error(self) -> SyncErrorPayload:
        """The payload of ``sync_error``, ``sync_warning`` or ``rate_error``.

        >>> from eventmask import Notification
        >>> n = Notification({"event": "rate_error", "payload": {"error_type": "x"}})
        >>> n.sync_error.error_type
        'x'
        """
        return self._family(SyncErrorPayload, "sync_error")

    @property
    def reservation(self) -> ReservationPayload:
        """The payload of a reservation request, alteration request, answer or inquiry.

        >>> from eventmask import Notification
        >>> n = Notification({"event": "inquiry", "payload": {"booking_id": "B"}})
        >>> n.reservation.booking_id
        'B'
        """
        return self._family(ReservationPayload, "reservation")

    @property
    def review(self) -> ReviewPayload:
        """The payload of ``review`` or ``updated_review``.

        >>> from eventmask import Notification
        >>> Notification({"event": "review", "payload": {"overall_score": 9}}).review.overall_score
        9.0
        """
        return self._family(ReviewPayload, "review")

    @property
    def channel(self) -> ChannelPayload:
        """The payload of a channel or listing event, or a removal warning.

        >>> from eventmask import Notification
        >>> Notification({"event": "new_channel", "payload": {"channel": "X"}}).channel.channel
        'X'
        """
        return self._family(ChannelPayload, "channel")
