"""Validating a webhook body before ``POST /api/v1/webhooks``.

`validate_webhook` reports field errors exactly as Channex's 422 response
shapes them (``{"errors": {"code": "validation_error", ...}}``) plus the
warnings a careful integrator wants (docs/algebra.md, "Validating a webhook
body").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from .._catalogue import is_uuid
from .._envelope import type_name
from .._errors import InvalidJSON, MaskSyntaxError
from .._json import loads
from .._language.mask import Mask
from .._language.parser import parse

__all__ = ["WebhookReport", "looks_secret", "validate_webhook"]

MAX_URL_LENGTH: Final = 2048
MAX_HEADER_VALUE: Final = 8192
# Header names that look like they carry a shared secret.
_SECRETISH: Final = re.compile(r"secret|token|auth|key|signature|password|api", re.I)
_FIELDS: Final = frozenset(
    {
        "property_id",
        "callback_url",
        "event_mask",
        "request_params",
        "headers",
        "is_active",
        "send_data",
        "is_global",
        "id",
    }
)


def looks_secret(header: str) -> bool:
    """Whether a header name looks like it carries a shared secret.

    >>> looks_secret("X-Channex-Webhook-Secret"), looks_secret("Accept")
    (True, False)
    """
    return _SECRETISH.search(header) is not None


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@attrs.frozen(slots=True)
class WebhookReport:
    """The result of `validate_webhook`.

    ``errors`` maps a field name to its messages (Channex's 422 ``details``);
    ``warnings`` are findings that do not stop Channex from accepting the
    body; ``mask`` is the parsed ``event_mask`` when it is valid; ``webhook``
    is the body with defaults applied (``is_active``/``send_data`` false).

    >>> validate_webhook({"event_mask": "message"}).valid
    False
    """

    errors: dict[str, list[str]]
    warnings: tuple[str, ...]
    mask: Mask | None
    webhook: dict[str, Any]

    @property
    def valid(self) -> bool:
        """True when Channex would accept the body.

        >>> validate_webhook({}).valid
        False
        """
        return not self.errors

    def as_channex_error(self) -> dict[str, Any]:
        """The 422 body Channex answers with for these errors.

        >>> validate_webhook({"event_mask": "*"}).as_channex_error()["errors"]["details"]
        {'property_id': ["can't be blank"], 'callback_url': ["can't be blank"]}
        """
        return {
            "errors": {
                "code": "validation_error",
                "title": "Validation Error",
                "details": {k: list(v) for k, v in self.errors.items()},
            }
        }


def _body(body: object) -> tuple[Mapping[str, Any] | None, str | None]:
    if isinstance(body, (bytes, bytearray, str)):
        try:
            body = loads(body)
        except InvalidJSON as err:
            return None, f"is not valid JSON: {err.reason} (line {err.line}, column {err.column})"
    if not isinstance(body, Mapping):
        return None, f"must be an object, not {type_name(body)}"
    inner = body.get("webhook") if set(body) == {"webhook"} else body
    if not isinstance(inner, Mapping):
        return None, f"must be an object, not {type_name(inner)}"
    return inner, None


def validate_webhook(body: object) -> WebhookReport:
    """Check a webhook create or update body as Channex documents it.

    Accepts ``{"webhook": {...}}`` or the bare object, as a mapping or JSON
    text.  Never raises on bad input: every problem is a field error.

    >>> report = validate_webhook({"webhook": {
    ...     "property_id": "716305c4-561a-4561-a187-7f5b8aeb5920",
    ...     "callback_url": "https://pms.example.com/channex",
    ...     "event_mask": "booking;booking_new", "is_active": True, "send_data": True,
    ...     "headers": {"X-Channex-Webhook-Secret": "s3cret"}}})
    >>> report.valid
    True
    >>> print(*report.warnings)
    event_mask: EM102 'booking' together with 'booking_new': one booking revision is delivered twice
    """
    found = _Findings()
    hook, problem = _body(body)
    if hook is None:
        assert problem is not None
        found.error("webhook", problem)
        return WebhookReport(found.errors, (), None, {})
    _check_property(hook, found)
    _check_callback(hook.get("callback_url"), found)
    mask = _check_mask(hook.get("event_mask"), found)
    _check_object(hook, "request_params", _scalar, "a string, number, boolean or null", found)
    headers = _check_object(hook, "headers", _header_value, "a string", found)
    flags = _check_flags(hook, found)
    if "headers" not in found.errors and not any(looks_secret(str(k)) for k in headers):
        found.warn(
            "headers has no secret-looking header (such as X-Channex-Webhook-Secret): "
            "Channex signs nothing, so the receiver cannot authenticate deliveries"
        )
    for name in sorted(set(hook) - _FIELDS, key=str):
        found.warn(f"unknown field {_short(name)} is not part of a Channex webhook")
    return WebhookReport(found.errors, tuple(found.warnings), mask, {**hook, **flags})


class _Findings:
    """Field errors (Channex's 422 ``details``) and warnings, in the order found."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.warnings: list[str] = []

    def error(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def _check_property(hook: Mapping[str, Any], found: _Findings) -> None:
    is_global = hook.get("is_global", False)
    if not isinstance(is_global, bool):
        found.error("is_global", "must be true or false")
        is_global = False
    prop = hook.get("property_id")
    if prop is None or prop == "":
        if not is_global:
            found.error("property_id", "can't be blank")
    elif not is_uuid(prop):
        found.error("property_id", f"is not a valid UUID: {_short(prop)}")


def _check_callback(url: object, found: _Findings) -> None:
    if url is None or url == "":
        found.error("callback_url", "can't be blank")
    elif not isinstance(url, str):
        found.error("callback_url", f"must be a string, not {type_name(url)}")
    elif len(url) > MAX_URL_LENGTH:
        found.error(
            "callback_url", f"is too long ({len(url):,} characters; at most {MAX_URL_LENGTH:,})"
        )
    else:
        _check_url(url, found)


def _check_mask(text: object, found: _Findings) -> Mask | None:
    if text is None or text == "":
        found.error("event_mask", "can't be blank")
    elif not isinstance(text, str):
        found.error("event_mask", f"must be a string, not {type_name(text)}")
    else:
        try:
            mask = parse(text)
        except MaskSyntaxError as err:
            found.error("event_mask", f"{err.message} (at position {err.position})")
        else:
            for w in mask.warnings:
                found.warn(f"event_mask: {w.code} {w.message}")
            return mask
    return None


def _check_flags(hook: Mapping[str, Any], found: _Findings) -> dict[str, bool]:
    """``is_active`` and ``send_data``: booleans that Channex defaults to false."""
    flags: dict[str, bool] = {}
    for name in ("is_active", "send_data"):
        value = hook.get(name, False)
        if value is None:
            value = False
        if not isinstance(value, bool):
            found.error(name, f"must be true or false, not {_short(value)}")
            value = False
        flags[name] = value
    if not flags["is_active"]:
        found.warn("is_active is false: the webhook exists but Channex sends nothing to it")
    if not flags["send_data"]:
        found.warn("send_data is false: notifications carry no payload; pull the data from the API")
    return flags


def _check_url(url: str, found: _Findings) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        found.error("callback_url", f"is not a valid URL: {_short(url)}")
        return
    if parts.scheme not in ("http", "https"):
        scheme = _short(parts.scheme or url)
        found.error("callback_url", f"must be an http or https URL, not {scheme}")
    elif not host:
        found.error("callback_url", "must name a host")
    elif parts.scheme == "http":
        found.warn("callback_url uses plain http: the shared secret travels unencrypted")


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _header_value(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_HEADER_VALUE and "\n" not in value


def _check_object(
    hook: Mapping[str, Any],
    name: str,
    ok: Callable[[object], bool],
    wanted: str,
    found: _Findings,
) -> Mapping[str, Any]:
    value = hook.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        found.error(name, f"must be an object, not {type_name(value)}")
        return {}
    for key, item in value.items():
        if not ok(item):
            found.error(name, f"{_short(key)} must be {wanted}, not {_short(item)}")
    return value
