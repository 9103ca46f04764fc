"""eventmask: parse, validate, compare and route Channex webhook event masks.

>>> import eventmask
>>> str(eventmask.parse("booking_new;booking_cancellation;booking_new"))
'booking_cancellation;booking_new'
"""

from ._ast import AriFilter, EventItem, Item, Mask, Wildcard
from ._catalogue import Catalogue
from ._diagnostics import Diagnostic
from ._errors import MaskError, MaskSyntaxError, NotificationError
from ._parser import MAX_MASK_LENGTH, lint, parse

__version__ = "0.1.0"

__all__ = [  # noqa: RUF022 - plain sorted order, checked by tests/test_api.py
    "AriFilter",
    "Catalogue",
    "Diagnostic",
    "EventItem",
    "Item",
    "MAX_MASK_LENGTH",
    "Mask",
    "MaskError",
    "MaskSyntaxError",
    "NotificationError",
    "Wildcard",
    "lint",
    "parse",
]
