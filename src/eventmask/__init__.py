"""eventmask: parse, validate, compare and route Channex webhook event masks.

>>> import eventmask
>>> str(eventmask.parse("booking_new;booking_cancellation;booking_new"))
'booking_cancellation;booking_new'
"""

from ._algebra import overlap_example
from ._ast import AriFilter, EventItem, Item, Mask, Wildcard
from ._catalogue import Catalogue
from ._diagnostics import Diagnostic
from ._errors import MaskError, MaskSyntaxError, NotificationError
from ._filter import FilterStats, InputError, filter_lines
from ._matching import ItemVerdict, MaskExplanation
from ._notification import (
    AriChange,
    BookingPayload,
    ChannelPayload,
    GenericPayload,
    MessagePayload,
    Notification,
    ReviewPayload,
    SyncErrorPayload,
)
from ._parser import MAX_MASK_LENGTH, lint, parse
from ._router import (
    Delivery,
    DispatchResult,
    HandlerError,
    Match,
    Route,
    RouteExplanation,
    Router,
)
from ._webhook import (
    ExistingWebhook,
    OverlapFinding,
    WebhookReport,
    overlaps_with_existing,
    validate_webhook,
)

__version__ = "0.1.0"

__all__ = [  # noqa: RUF022 - plain sorted order, checked by tests/test_api.py
    "AriChange",
    "AriFilter",
    "BookingPayload",
    "Catalogue",
    "ChannelPayload",
    "Delivery",
    "Diagnostic",
    "DispatchResult",
    "EventItem",
    "ExistingWebhook",
    "FilterStats",
    "GenericPayload",
    "HandlerError",
    "InputError",
    "Item",
    "ItemVerdict",
    "MAX_MASK_LENGTH",
    "Mask",
    "MaskError",
    "MaskExplanation",
    "MaskSyntaxError",
    "Match",
    "MessagePayload",
    "Notification",
    "NotificationError",
    "OverlapFinding",
    "ReviewPayload",
    "Route",
    "RouteExplanation",
    "Router",
    "SyncErrorPayload",
    "WebhookReport",
    "Wildcard",
    "filter_lines",
    "lint",
    "overlap_example",
    "overlaps_with_existing",
    "parse",
    "validate_webhook",
]
