"""`Webhook`: one Channex webhook, as the API returns it and as eventmask sends it.

Channex answers in JSON:API form (``{"id", "type", "attributes",
"relationships": {"property": {"data": {"id"}}}}``) and takes a flat
``{"webhook": {...}}`` body (docs/provisioning.md, "The Channex API").
`Webhook.from_api` reads the first, tolerating unknown and missing fields;
`Webhook.body` writes the second.  This module is the one reader of that
shape: the overlap report and the API client both use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from .._errors import MaskSyntaxError
from .._language.parser import parse

__all__ = ["Webhook", "canonical"]


def canonical(mask_text: str) -> str:
    """A mask's canonical form (lenient), or the text itself when eventmask cannot read it.

    >>> canonical("message; booking"), canonical("booking;;x")
    ('booking;message', 'booking;;x')
    """
    try:
        return str(parse(mask_text, lenient=True))
    except MaskSyntaxError:
        return mask_text


def _text_map(value: object) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        return MappingProxyType({})
    return MappingProxyType({str(k): str(v) for k, v in value.items()})


def _params(value: object) -> Mapping[str, Any]:
    return MappingProxyType(dict(value) if isinstance(value, Mapping) else {})


@attrs.frozen(slots=True, kw_only=True)
class Webhook:
    """One webhook: where it posts, what its mask lets through, and how.

    ``property_id`` is None for a global webhook.  ``headers`` and
    ``request_params`` are empty when Channex sends null.  Channex's
    defaults for ``is_active`` and ``send_data`` are false: a webhook left
    without them never fires, or fires without data.

    >>> hook = Webhook(property_id="P", callback_url="https://pms.example.com/channex",
    ...                event_mask="booking", is_active=True, send_data=True)
    >>> hook.body()["webhook"]["event_mask"]
    'booking'
    """

    id: str | None = None
    property_id: str | None
    callback_url: str
    event_mask: str
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_text_map)
    request_params: Mapping[str, Any] = attrs.field(factory=dict, converter=_params)
    is_active: bool = False
    send_data: bool = False
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def is_global(self) -> bool:
        """Whether it is a global webhook (no property).

        >>> Webhook(property_id=None, callback_url="u", event_mask="*").is_global
        True
        """
        return self.property_id is None

    @property
    def key(self) -> tuple[str | None, str, str]:
        """What identifies it among an account's webhooks: property, URL, canonical mask.

        >>> Webhook(property_id="p", callback_url="u", event_mask="message;booking").key
        ('p', 'u', 'booking;message')
        """
        return (self.property_id, self.callback_url, canonical(self.event_mask))

    @classmethod
    def from_api(cls, entry: Mapping[str, Any]) -> Webhook:
        """Read one webhook of an API response (JSON:API or flat), tolerating the unknown.

        >>> Webhook.from_api({"id": "w1", "attributes": {"event_mask": "*", "callback_url": "u",
        ...     "headers": None, "is_active": True}, "relationships": {"property": {"data":
        ...     {"id": "P", "type": "property"}}}}).property_id
        'p'
        """
        fields = entry.get("attributes", entry)
        fields = fields if isinstance(fields, Mapping) else {}
        prop = fields.get("property_id")
        relationships = entry.get("relationships")
        if isinstance(relationships, Mapping):
            related = relationships.get("property")
            data = related.get("data") if isinstance(related, Mapping) else None
            if isinstance(data, Mapping) and isinstance(data.get("id"), str):
                prop = data["id"]
        ident = entry.get("id", fields.get("id"))
        is_global = fields.get("is_global") is True
        url, mask = fields.get("callback_url"), fields.get("event_mask")
        return cls(
            id=ident if isinstance(ident, str) else None,
            # Channex ids compare case-insensitively; they are kept in lower case.
            property_id=prop.lower() if isinstance(prop, str) and not is_global else None,
            callback_url=url if isinstance(url, str) else "",
            event_mask=mask if isinstance(mask, str) else "",
            headers=fields.get("headers"),
            request_params=fields.get("request_params"),
            is_active=fields.get("is_active") is True,
            send_data=fields.get("send_data") is True,
            raw=entry,
        )

    def body(self) -> dict[str, Any]:
        """The ``{"webhook": {...}}`` body of a create, update or test request.

        >>> Webhook(property_id=None, callback_url="u", event_mask="*").body()["webhook"][
        ...     "is_global"]
        True
        """
        hook: dict[str, Any] = {
            "callback_url": self.callback_url,
            "event_mask": self.event_mask,
            "request_params": dict(self.request_params),
            "headers": dict(self.headers),
            "is_active": self.is_active,
            "send_data": self.send_data,
        }
        if self.property_id is None:
            hook["is_global"] = True
        else:
            hook = {"property_id": self.property_id, **hook}
        return {"webhook": hook}
