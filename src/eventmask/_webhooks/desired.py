"""The desired webhooks, written in TOML: `load_desired` (docs/provisioning.md, "The file").

A file holds ``[defaults]`` and a list of ``[[webhook]]`` tables.  Each
webhook names one property (``property_id``), several (``property_ids``:
one webhook each) or none (``global = true``), and an ``event_mask``; any
default may be overridden.  A header value may be ``{ env = "NAME" }``, so
that secrets stay out of the file.  Every problem is reported at once, with
``file:line:`` and, for a mask, the caret.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from typing import Any, Final

import attrs

from .._catalogue import split_secrets
from .._channex.webhook import Webhook
from .._errors import MaskSyntaxError, WebhookConfigError
from .._language.parser import parse
from .validation import validate_webhook

__all__ = ["Desired", "DesiredState", "load_desired", "read_desired"]

_DEFAULT_KEYS: Final = frozenset(
    {"callback_url", "headers", "request_params", "is_active", "send_data"}
)
_WEBHOOK_KEYS: Final = _DEFAULT_KEYS | {"property_id", "property_ids", "global", "event_mask"}
_TABLE: Final = re.compile(r"^[ \t]*\[\[[ \t]*webhook[ \t]*\]\]", re.M)


@attrs.frozen(slots=True)
class Desired:
    """One webhook the file asks for, with where it was written and its canonical mask.

    >>> hook = Webhook(property_id="p", callback_url="u", event_mask="booking")
    >>> Desired(hook, "booking", "webhooks.toml:3", ()).key
    ('p', 'u', 'booking')
    """

    webhook: Webhook
    canonical_mask: str
    where: str
    warnings: tuple[str, ...]

    @property
    def key(self) -> tuple[str | None, str, str]:
        """What identifies it among the existing webhooks: property, URL, canonical mask.

        >>> hook = Webhook(property_id=None, callback_url="u", event_mask="*")
        >>> Desired(hook, "*", "f:1", ()).key
        (None, 'u', '*')
        """
        return (self.webhook.property_id, self.webhook.callback_url, self.canonical_mask)


@attrs.frozen(slots=True)
class DesiredState:
    """Every webhook a file asks for; `managed_urls` are the only ones eventmask touches.

    ``secret_headers`` names the headers whose values come from the
    environment: they are masked wherever a plan shows them.

    >>> state = DesiredState("f", (), frozenset({"https://pms.example.com/c"}), frozenset())
    >>> state.managed_urls
    frozenset({'https://pms.example.com/c'})
    """

    source: str
    webhooks: tuple[Desired, ...]
    managed_urls: frozenset[str]
    secret_headers: frozenset[str]


@attrs.define
class _Reading:
    """One reading of a file: its text, the environment, and what was found wrong."""

    source: str
    text: str
    environ: Mapping[str, str]
    problems: list[str] = attrs.field(factory=list)
    secret: set[str] = attrs.field(factory=set)
    # False for what reads the file but sends nothing (coverage): an unset variable is fine.
    require_secrets: bool = True


def _env_value(value: Mapping[str, Any], reading: _Reading, where: str, name: str) -> str:
    problems = reading.problems
    variable = value.get("env")
    if set(value) != {"env"} or not isinstance(variable, str):
        problems.append(f'{where}: headers.{name}: expected a string or {{ env = "NAME" }}')
        return ""
    raw = reading.environ.get(variable, "")
    listed = split_secrets(raw)  # several while a secret rotates; the newest is sent
    if not listed:
        if reading.require_secrets:
            problems.append(f"{where}: headers.{name}: environment variable {variable} is not set")
        return ""
    return listed[-1]


def _headers(value: object, reading: _Reading, where: str) -> dict[str, str]:
    problems = reading.problems
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        problems.append(f"{where}: headers: expected a table of header names")
        return {}
    out: dict[str, str] = {}
    for name, item in value.items():
        if isinstance(item, Mapping):
            out[name] = _env_value(item, reading, where, name)
            reading.secret.add(name.lower())
        elif isinstance(item, str):
            out[name] = item
        else:
            problems.append(f'{where}: headers.{name}: expected a string or {{ env = "NAME" }}')
    return out


def _line(text: str, n: int) -> int | None:
    """The line of the `n`-th ``[[webhook]]`` table (0-based), when it can be found."""
    found = list(_TABLE.finditer(text))
    return text.count("\n", 0, found[n].start()) + 1 if n < len(found) else None


def _properties(table: Mapping[str, Any], where: str, problems: list[str]) -> list[str | None]:
    given = [k for k in ("property_id", "property_ids", "global") if k in table]
    if len(given) != 1:
        problems.append(f"{where}: give one of property_id, property_ids or global = true")
        return []
    if "global" in table:
        if table["global"] is not True:
            problems.append(f"{where}: global: expected true")
        return [None]
    ids = table.get("property_ids", [table.get("property_id")])
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        problems.append(f"{where}: {given[0]}: expected a property id, or a list of them")
        return []
    return [i.lower() for i in ids]


def _one(table: Any, n: int, defaults: Mapping[str, Any], reading: _Reading) -> list[Desired]:
    problems, source = reading.problems, reading.source
    line = _line(reading.text, n)
    where = f"{source}:{line}" if line is not None else f"{source}: webhook {n + 1}"
    if not isinstance(table, Mapping):
        problems.append(f"{where}: expected a table")
        return []
    for key in sorted(set(table) - _WEBHOOK_KEYS):
        problems.append(f"{where}: unknown key {key!r}")
    merged = {**defaults, **{k: v for k, v in table.items() if k in _DEFAULT_KEYS}}
    headers = _headers(defaults.get("headers"), reading, where)
    headers.update(_headers(table.get("headers"), reading, where))
    mask_text = table.get("event_mask")
    if isinstance(mask_text, str):
        try:
            parse(mask_text)
        except MaskSyntaxError as exc:
            problems.append(f"{where}: event_mask: {exc}")
            return []
    out = []
    for prop in _properties(table, where, problems):
        body = {
            "property_id": prop,
            "callback_url": merged.get("callback_url"),
            "event_mask": mask_text,
            "headers": headers,
            "request_params": merged.get("request_params", {}),
            # A file that leaves them out means "deliver, with data": Channex's
            # false defaults are the most common provisioning bug.
            "is_active": merged.get("is_active", True),
            "send_data": merged.get("send_data", True),
        }
        if prop is None:
            body = {**body, "is_global": True}
            del body["property_id"]
        report = validate_webhook(body)
        for field, messages in report.errors.items():
            problems += [f"{where}: {field}: {m}" for m in messages]
        if report.valid and report.mask is not None:
            fields = {k: v for k, v in body.items() if k not in ("property_id", "is_global")}
            hook = Webhook(property_id=prop, **fields)
            out.append(Desired(hook, str(report.mask), where, report.warnings))
    return out


def read_desired(
    text: str,
    source: str = "webhooks.toml",
    environ: Mapping[str, str] | None = None,
    *,
    require_secrets: bool = True,
) -> DesiredState:
    """The webhooks TOML `text` asks for; raise `WebhookConfigError` listing every problem.

    ``require_secrets=False`` reads a file whose ``{ env = ... }`` variables
    are not set, for what sends nothing (``eventmask coverage``): those
    header values are then empty.

    >>> state = read_desired('''
    ... [defaults]
    ... callback_url = "https://pms.example.com/channex"
    ... headers = { "X-Channex-Webhook-Secret" = { env = "SECRET" } }
    ... [[webhook]]
    ... property_ids = ["716305c4-561a-4561-a187-7f5b8aeb5920",
    ...                 "90958ec0-9713-1196-873e-4add0d834670"]
    ... event_mask = "booking_new;message"
    ... ''', environ={"SECRET": "old-secret-value,new-secret-value"})
    >>> [d.webhook.headers["X-Channex-Webhook-Secret"] for d in state.webhooks]
    ['new-secret-value', 'new-secret-value']
    """
    environment = os.environ if environ is None else environ
    reading = _Reading(source, text, environment, require_secrets=require_secrets)
    problems = reading.problems
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WebhookConfigError(source, [f"{source}: not valid TOML: {exc}"]) from None
    for key in sorted(set(doc) - {"defaults", "webhook"}):
        problems.append(f"{source}: unknown top-level key {key!r} (expected defaults, webhook)")
    defaults = doc.get("defaults", {})
    if not isinstance(defaults, Mapping):
        problems.append(f"{source}: defaults: expected a table")
        defaults = {}
    for key in sorted(set(defaults) - _DEFAULT_KEYS):
        problems.append(f"{source}: defaults: unknown key {key!r}")
    tables = doc.get("webhook", [])
    if not isinstance(tables, Sequence) or not tables:
        problems.append(f"{source}: no [[webhook]] tables")
        tables = []
    wanted: list[Desired] = []
    for n, table in enumerate(tables):
        wanted += _one(table, n, defaults, reading)
    seen: dict[tuple[str | None, str, str], str] = {}
    for d in wanted:
        if d.key in seen:
            problems.append(f"{d.where}: the same webhook as {seen[d.key]} (property, URL, mask)")
        seen.setdefault(d.key, d.where)
    if problems:
        raise WebhookConfigError(source, problems)
    urls = frozenset(d.webhook.callback_url for d in wanted)
    return DesiredState(source, tuple(wanted), urls, frozenset(reading.secret))


def load_desired(
    path: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    *,
    require_secrets: bool = True,
) -> DesiredState:
    """`read_desired` of the file at `path` (problems name the file).

    >>> load_desired("/nonexistent/webhooks.toml")
    Traceback (most recent call last):
    ...
    eventmask._errors.WebhookConfigError: /nonexistent/webhooks.toml is invalid:
      /nonexistent/webhooks.toml: cannot read: No such file or directory
    """
    source = os.fspath(path)
    try:
        with open(source, encoding="utf-8") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise WebhookConfigError(source, [f"{source}: cannot read: {reason}"]) from None
    return read_desired(text, source, environ, require_secrets=require_secrets)
