"""Channex from a PMS: the API client, booking revisions, and webhooks as code.

>>> from eventmask.channex import make_plan, read_desired
>>> state = read_desired('''
... [defaults]
... callback_url = "https://pms.example.com/channex"
... headers = { "X-Channex-Webhook-Secret" = "a-long-shared-secret" }
... [[webhook]]
... property_id = "716305c4-561a-4561-a187-7f5b8aeb5920"
... event_mask = "booking_new;booking_cancellation"
... ''')
>>> [step.action for step in make_plan(state, existing=[]).steps]
['create']

`ChannexClient` (and `AsyncChannexClient`) talk to the API with the
``user-api-key`` from ``CHANNEX_API_KEY``; they need httpx (``pip install
'eventmask[client]'``).  The ``eventmask webhooks`` commands drive all of it
(docs/provisioning.md).
"""

from typing import TYPE_CHECKING

from ._channex.client import (
    DEFAULT_API_URL,
    AsyncChannexClient,
    ChannexClient,
    FeedWalk,
    TestResult,
)
from ._channex.revision import (
    BookingRevision,
    Guarantee,
    Occupancy,
    RevisionRoom,
    RevisionStatus,
)
from ._channex.webhook import Webhook
from ._errors import (
    ChannexError,
    ChannexNotFound,
    ChannexUnauthorized,
    ChannexValidationError,
    ConfigError,
    RevisionError,
    WebhookConfigError,
)
from ._webhooks.audit import Finding, audit
from ._webhooks.coverage import Coverage, Gap, coverage
from ._webhooks.desired import Desired, DesiredState, load_desired, read_desired
from ._webhooks.lifecycle import (
    Proof,
    StepOutcome,
    aapply_plan,
    apply_plan,
    averify,
    managed,
    rotation_steps,
    verify,
)
from ._webhooks.plan import Change, Step, WebhookPlan, make_plan

if TYPE_CHECKING:
    # Renamed names, deprecated (eventmask._deprecated): seen by type checkers, warned at run time.
    from ._webhooks.lifecycle import StepOutcome as Outcome  # noqa: F401
    from ._webhooks.lifecycle import rotation_steps as rotate  # noqa: F401
    from ._webhooks.plan import WebhookPlan as Plan  # noqa: F401

__all__ = [  # noqa: RUF022 - plain sorted order, checked by tests/test_api.py
    "AsyncChannexClient",
    "BookingRevision",
    "Change",
    "ChannexClient",
    "ChannexError",
    "ChannexNotFound",
    "ChannexUnauthorized",
    "ChannexValidationError",
    "ConfigError",
    "Coverage",
    "DEFAULT_API_URL",
    "Desired",
    "DesiredState",
    "FeedWalk",
    "Finding",
    "Gap",
    "Guarantee",
    "Occupancy",
    "Proof",
    "RevisionError",
    "RevisionRoom",
    "RevisionStatus",
    "Step",
    "StepOutcome",
    "TestResult",
    "Webhook",
    "WebhookConfigError",
    "WebhookPlan",
    "aapply_plan",
    "apply_plan",
    "audit",
    "averify",
    "coverage",
    "load_desired",
    "make_plan",
    "managed",
    "read_desired",
    "rotation_steps",
    "verify",
]

if not TYPE_CHECKING:  # hidden from type checkers, as in eventmask/__init__.py

    def __getattr__(name: str) -> object:
        from ._deprecated import renamed

        return renamed(__name__, name, globals().__getitem__)
