"""eventmask: parse, validate, compare and route Channex webhook event masks.

This namespace holds the mask language, routing and webhook configuration.
The receiver is in `eventmask.asgi`; the inbox and its workers are in
`eventmask.inbox`.  Names load on first use, so ``import eventmask`` costs
next to nothing and a program pays only for what it touches.

>>> import eventmask
>>> str(eventmask.parse("booking_new;booking_cancellation;booking_new"))
'booking_cancellation;booking_new'
"""

import importlib as _importlib

from ._version import __version__ as __version__

# Not `typing.TYPE_CHECKING`: importing typing would triple the cost of
# `import eventmask`.  Type checkers treat this name as true.
TYPE_CHECKING = False

# Each public name and the module that defines it; `__getattr__` imports it
# on first use (PEP 562).  tests/test_api.py checks that this table, the
# imports below and `__all__` agree.
_EXPORTS: dict[str, str] = {
    "AriChange": "._routing.ari",
    "AriFilter": "._language.items",
    "BookingPayload": "._routing.payloads",
    "Catalogue": "._catalogue",
    "ChannelPayload": "._routing.payloads",
    "Diagnostic": "._language.diagnostics",
    "DispatchResult": "._routing.routes",
    "EventItem": "._language.items",
    "ConfigError": "._errors",
    "EventmaskError": "._errors",
    "FieldError": "._errors",
    "FilterStats": "._routing.filter",
    "GenericPayload": "._routing.payloads",
    "HandlerCall": "._routing.routes",
    "HandlerFailure": "._routing.routes",
    "InputError": "._errors",
    "InvalidJSON": "._errors",
    "Item": "._language.items",
    "ItemVerdict": "._language.matching",
    "MAX_MASK_LENGTH": "._language.parser",
    "Mask": "._language.mask",
    "MaskError": "._errors",
    "MaskExplanation": "._language.matching",
    "MaskSyntaxError": "._errors",
    "Match": "._routing.routes",
    "MessagePayload": "._routing.payloads",
    "Notification": "._routing.notification",
    "NotificationError": "._errors",
    "OverlapFinding": "._webhooks.existing",
    "PredicateError": "._errors",
    "Predicates": "._routing.predicates",
    "ReservationPayload": "._routing.payloads",
    "ReviewPayload": "._routing.payloads",
    "Route": "._routing.routes",
    "RouteExplanation": "._routing.routes",
    "Router": "._routing.router",
    "SyncErrorPayload": "._routing.payloads",
    "WebhookReport": "._webhooks.validation",
    "Wildcard": "._language.items",
    "filter_lines": "._routing.filter",
    "lint": "._language.parser",
    "overlap_example": "._language.mask",
    "overlaps_with_existing": "._webhooks.existing",
    "parse": "._language.parser",
    "uncovered_example": "._language.mask",
    "validate_webhook": "._webhooks.validation",
}

__all__ = [  # noqa: RUF022 - plain sorted order, checked by tests/test_api.py
    "AriChange",
    "AriFilter",
    "BookingPayload",
    "Catalogue",
    "ChannelPayload",
    "ConfigError",
    "Diagnostic",
    "DispatchResult",
    "EventItem",
    "EventmaskError",
    "FieldError",
    "FilterStats",
    "GenericPayload",
    "HandlerCall",
    "HandlerFailure",
    "InputError",
    "InvalidJSON",
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
    "PredicateError",
    "Predicates",
    "ReservationPayload",
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
    "uncovered_example",
    "validate_webhook",
]

if TYPE_CHECKING:
    from ._catalogue import Catalogue
    from ._errors import (
        ConfigError,
        EventmaskError,
        FieldError,
        InputError,
        InvalidJSON,
        MaskError,
        MaskSyntaxError,
        NotificationError,
        PredicateError,
    )
    from ._language.diagnostics import Diagnostic
    from ._language.items import AriFilter, EventItem, Item, Wildcard
    from ._language.mask import Mask, overlap_example, uncovered_example
    from ._language.matching import ItemVerdict, MaskExplanation
    from ._language.parser import MAX_MASK_LENGTH, lint, parse
    from ._routing.ari import AriChange
    from ._routing.filter import FilterStats, filter_lines
    from ._routing.notification import Notification
    from ._routing.payloads import (
        BookingPayload,
        ChannelPayload,
        GenericPayload,
        MessagePayload,
        ReservationPayload,
        ReviewPayload,
        SyncErrorPayload,
    )
    from ._routing.predicates import Predicates
    from ._routing.router import Router
    from ._routing.routes import (
        DispatchResult,
        HandlerCall,
        HandlerFailure,
        Match,
        Route,
        RouteExplanation,
    )

    # Renamed names, deprecated (eventmask._deprecated): seen by type checkers, warned at run time.
    from ._routing.routes import HandlerFailure as HandlerError  # noqa: F401
    from ._webhooks.existing import OverlapFinding, overlaps_with_existing
    from ._webhooks.validation import WebhookReport, validate_webhook


# Under `if not TYPE_CHECKING`, so that type checkers see only the real
# names above: with a module `__getattr__` in view, mypy would type any typo
# (`from eventmask import Routr`) as its return type instead of an error.
if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        module = _EXPORTS.get(name)
        if module is None:
            # A renamed name, deprecated (not a lazy export: not in the table).
            renamed = _importlib.import_module("._deprecated", __name__).renamed
            return renamed(__name__, name, __getattr__)
        value = getattr(_importlib.import_module(module, __name__), name)
        globals()[name] = value  # later lookups are plain attribute reads
        return value


def __dir__() -> list[str]:
    return sorted({"__version__", *__all__})


del TYPE_CHECKING  # a switch for type checkers, not a name of the package
