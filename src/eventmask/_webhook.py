"""Validating a webhook body before ``POST /api/v1/webhooks``, and checking it
against the webhooks that already exist.

`validate_webhook` reports field errors exactly as Channex's 422 response
shapes them (``{"errors": {"code": "validation_error", ...}}``) plus the
warnings a careful integrator wants.  `overlaps_with_existing` reads the
``GET /api/v1/webhooks`` response and says which existing webhooks would
deliver the same notifications again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import attrs
import orjson

from ._algebra import overlap_example
from ._ast import Mask
from ._errors import MaskSyntaxError
from ._parser import parse

__all__ = [
    "ExistingWebhook",
    "OverlapFinding",
    "WebhookReport",
    "overlaps_with_existing",
    "validate_webhook",
]

MAX_URL_LENGTH: Final = 2048
MAX_HEADER_VALUE: Final = 8192
_UUID: Final = re.compile(r"^[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12}$")
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


def _json_type(value: object) -> str:
    from ._notification import type_name

    return type_name(value)


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
    """

    errors: dict[str, list[str]]
    warnings: tuple[str, ...]
    mask: Mask | None
    webhook: dict[str, Any]

    @property
    def valid(self) -> bool:
        """True when Channex would accept the body."""
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
            body = orjson.loads(body)
        except orjson.JSONDecodeError as err:
            return None, f"is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})"
    if not isinstance(body, Mapping):
        return None, f"must be an object, not {_json_type(body)}"
    inner = body.get("webhook") if set(body) == {"webhook"} else body
    if not isinstance(inner, Mapping):
        return None, f"must be an object, not {_json_type(inner)}"
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
    errors: dict[str, list[str]] = {}
    warnings: list[str] = []

    def error(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    hook, problem = _body(body)
    if hook is None:
        assert problem is not None
        error("webhook", problem)
        return WebhookReport(errors, (), None, {})

    is_global = hook.get("is_global", False)
    if not isinstance(is_global, bool):
        error("is_global", "must be true or false")
        is_global = False
    prop = hook.get("property_id")
    if prop is None or prop == "":
        if not is_global:
            error("property_id", "can't be blank")
    elif not isinstance(prop, str) or not _UUID.match(prop):
        error("property_id", f"is not a valid UUID: {_short(prop)}")

    url = hook.get("callback_url")
    if url is None or url == "":
        error("callback_url", "can't be blank")
    elif not isinstance(url, str):
        error("callback_url", f"must be a string, not {_json_type(url)}")
    elif len(url) > MAX_URL_LENGTH:
        error("callback_url", f"is too long ({len(url):,} characters; at most {MAX_URL_LENGTH:,})")
    else:
        _check_url(url, error, warnings)

    mask = None
    text = hook.get("event_mask")
    if text is None or text == "":
        error("event_mask", "can't be blank")
    elif not isinstance(text, str):
        error("event_mask", f"must be a string, not {_json_type(text)}")
    else:
        try:
            mask = parse(text)
        except MaskSyntaxError as err:
            error("event_mask", f"{err.message} (at position {err.position})")
        else:
            warnings += [f"event_mask: {w.code} {w.message}" for w in mask.warnings]

    _check_object(hook, "request_params", _scalar, "a string, number, boolean or null", error)
    headers = _check_object(hook, "headers", _header_value, "a string", error)

    flags: dict[str, bool] = {}
    for name in ("is_active", "send_data"):
        value = hook.get(name, False)
        if value is None:
            value = False
        if not isinstance(value, bool):
            error(name, f"must be true or false, not {_short(value)}")
            value = False
        flags[name] = value
    if not flags["is_active"]:
        warnings.append("is_active is false: the webhook exists but Channex sends nothing to it")
    if not flags["send_data"]:
        warnings.append(
            "send_data is false: notifications carry no payload; pull the data from the API"
        )
    if "headers" not in errors and not any(_SECRETISH.search(str(k)) for k in headers):
        warnings.append(
            "headers has no secret-looking header (such as X-Channex-Webhook-Secret): "
            "Channex signs nothing, so the receiver cannot authenticate deliveries"
        )
    for name in sorted(set(hook) - _FIELDS, key=str):
        warnings.append(f"unknown field {_short(name)} is not part of a Channex webhook")

    webhook = {**hook, **flags}
    return WebhookReport(errors, tuple(warnings), mask, webhook)


def _check_url(url: str, error: Any, warnings: list[str]) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        error("callback_url", f"is not a valid URL: {_short(url)}")
        return
    if parts.scheme not in ("http", "https"):
        error("callback_url", f"must be an http or https URL, not {_short(parts.scheme or url)}")
    elif not host:
        error("callback_url", "must name a host")
    elif parts.scheme == "http":
        warnings.append("callback_url uses plain http: the shared secret travels unencrypted")


def _scalar(value: object) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _header_value(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_HEADER_VALUE and "\n" not in value


def _check_object(
    hook: Mapping[str, Any], name: str, ok: Any, wanted: str, error: Any
) -> Mapping[str, Any]:
    value = hook.get(name)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        error(name, f"must be an object, not {_json_type(value)}")
        return {}
    for key, item in value.items():
        if not ok(item):
            error(name, f"{_short(key)} must be {wanted}, not {_short(item)}")
    return value


# -- existing webhooks ------------------------------------------------------------------


@attrs.frozen(slots=True)
class ExistingWebhook:
    """One webhook from Channex's ``GET /api/v1/webhooks`` response."""

    id: str | None
    property_id: str | None
    callback_url: str | None
    event_mask: str
    mask: Mask | None
    is_active: bool
    is_global: bool


FindingKind = Literal["overlap", "redundant", "same_url", "global_shadowed", "invalid_existing"]


@attrs.frozen(slots=True)
class OverlapFinding:
    """Something the new webhook has in common with an existing one.

    ``kind`` is one of ``overlap`` (both deliver some notification: it
    arrives twice), ``redundant`` (the existing mask covers the new one),
    ``same_url`` (the same callback URL registered twice), ``global_shadowed``
    (a property webhook next to a global one: Channex delivers only the
    property one) and ``invalid_existing`` (an existing mask eventmask cannot
    read).  ``example`` is a notification both masks select, for ``overlap``.
    """

    kind: FindingKind
    webhook_id: str | None
    message: str
    example: dict[str, Any] | None = None


def _existing(entries: object) -> list[ExistingWebhook]:
    if isinstance(entries, (bytes, bytearray, str)):
        entries = orjson.loads(entries)
    if isinstance(entries, Mapping):
        entries = entries.get("data", [entries])
    if not isinstance(entries, Sequence):
        raise TypeError("existing webhooks: expected the GET /api/v1/webhooks response")
    out = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        attrs_ = entry.get("attributes", entry)
        if not isinstance(attrs_, Mapping):
            continue
        rel = entry.get("relationships", {})
        prop = attrs_.get("property_id")
        if isinstance(rel, Mapping):
            data = (rel.get("property") or {}).get("data") or {}
            if isinstance(data, Mapping) and isinstance(data.get("id"), str):
                prop = data["id"]
        text = attrs_.get("event_mask")
        text = text if isinstance(text, str) else ""
        try:
            mask: Mask | None = parse(text, lenient=True)
        except MaskSyntaxError:
            mask = None
        ident = entry.get("id", attrs_.get("id"))
        out.append(
            ExistingWebhook(
                id=ident if isinstance(ident, str) else None,
                property_id=prop.lower() if isinstance(prop, str) else None,
                callback_url=attrs_.get("callback_url")
                if isinstance(attrs_.get("callback_url"), str)
                else None,
                event_mask=text,
                mask=mask,
                is_active=attrs_.get("is_active") is True,
                is_global=attrs_.get("is_global") is True or prop is None,
            )
        )
    return out


def overlaps_with_existing(body: object, existing: object) -> list[OverlapFinding]:
    """Compare a new webhook body with the existing webhooks (GET response shape).

    Only active webhooks of the same property, or global ones, are compared.

    >>> prop = "716305c4-561a-4561-a187-7f5b8aeb5920"
    >>> existing = {"data": [{"id": "w1", "attributes": {"event_mask": "booking",
    ...     "callback_url": "https://pms.example.com/hook", "is_active": True},
    ...     "relationships": {"property": {"data": {"id": prop}}}}]}
    >>> body = {"property_id": prop, "event_mask": "booking_new;booking",
    ...         "callback_url": "https://other.example.com/hook"}
    >>> [f.kind for f in overlaps_with_existing(body, existing)]
    ['overlap']
    """
    report = validate_webhook(body)
    hook = report.webhook
    mask = report.mask
    prop = hook.get("property_id")
    prop = prop.lower() if isinstance(prop, str) else None
    is_global = hook.get("is_global") is True or prop is None
    url = hook.get("callback_url")
    findings: list[OverlapFinding] = []
    for other in _existing(existing):
        if not other.is_active:
            continue
        if not (other.is_global or is_global or other.property_id == prop):
            continue
        where = f"webhook {other.id or '(no id)'} ({other.event_mask!r})"
        if other.mask is None:
            findings.append(
                OverlapFinding(
                    "invalid_existing", other.id, f"{where} has a mask eventmask cannot read"
                )
            )
            continue
        if is_global != other.is_global:
            findings.append(
                OverlapFinding(
                    "global_shadowed",
                    other.id,
                    f"{where} is {'global' if other.is_global else 'for this property'} "
                    f"and the new one {'global' if is_global else 'for a property'}: Channex "
                    "delivers a property's notifications only to its property webhooks",
                )
            )
        if isinstance(url, str) and other.callback_url == url:
            findings.append(
                OverlapFinding(
                    "same_url",
                    other.id,
                    f"{where} already posts to {url}: overlapping notifications arrive twice",
                )
            )
        if mask is None:
            continue
        if other.mask.covers(mask):
            findings.append(
                OverlapFinding(
                    "redundant",
                    other.id,
                    f"{where} already delivers everything {str(mask)!r} does: "
                    "the new webhook is probably redundant",
                    overlap_example(other.mask, mask),
                )
            )
        elif other.mask.overlaps(mask):
            findings.append(
                OverlapFinding(
                    "overlap",
                    other.id,
                    f"{where} overlaps {str(mask)!r}: some notifications arrive at both",
                    overlap_example(other.mask, mask),
                )
            )
    return findings
