"""Who may see the operator's page, and whether a POST really comes from it.

The rules (docs/dashboard.md, "Access"):

- Without a token, only loopback clients are served, and a request that a
  proxy forwarded (``Forwarded``, ``X-Forwarded-For``) is not loopback: a
  proxy on the same host would otherwise open the page to everyone.
- With a token, every request needs it: ``Authorization: Bearer TOKEN`` (the
  form a Prometheus scrape uses), or the session cookie that signing in
  with the token sets.  The cookie holds an HMAC of the token, never the
  token itself.
- An action is a POST carrying the form's CSRF value (an HMAC of a key only
  the server knows), from the page's own origin: a cross-site form can
  neither read that value nor pass the ``Origin`` and ``Sec-Fetch-Site``
  checks, and the cookie is ``SameSite=Strict`` besides.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from typing import Any, Final

import attrs

__all__ = ["COOKIE", "Access", "Visitor"]

COOKIE: Final = "eventmask_dashboard"
_FORWARDED: Final = (b"forwarded", b"x-forwarded-for", b"x-real-ip")


def _header(scope: Any, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.frozen(slots=True)
class Visitor:
    """Who made a request, as the action log names them.

    >>> Visitor("127.0.0.1", "loopback").label
    '127.0.0.1 (loopback)'
    """

    address: str
    by: str  # "loopback", "bearer token" or "session cookie"

    @property
    def label(self) -> str:
        """The address and how the visitor was let in."""
        return f"{self.address} ({self.by})"


class Access:
    """The page's access rules for one token (or none: loopback only).

    >>> access = Access(None)
    >>> scope = {"client": ("127.0.0.1", 5000), "headers": []}
    >>> access.visitor(scope).by
    'loopback'
    >>> access.visitor({"client": ("203.0.113.9", 5000), "headers": []}) is None
    True
    """

    def __init__(self, token: str | None) -> None:
        if token is not None and len(token) < 16:
            raise ValueError("a dashboard token must be at least 16 characters")
        self.token = token
        # The CSRF value is an HMAC of this key; with no token, a key of this process.
        key = token.encode() if token is not None else secrets.token_bytes(32)
        self._csrf = hmac.new(key, b"eventmask dashboard csrf", hashlib.sha256).hexdigest()
        self._session = None
        if token is not None:
            mac = hmac.new(token.encode(), b"eventmask dashboard session", hashlib.sha256)
            self._session = mac.hexdigest()

    @property
    def csrf(self) -> str:
        """The value every action's form carries."""
        return self._csrf

    def session_cookie(self, secure: bool) -> bytes:
        """The ``Set-Cookie`` value that signing in sets."""
        assert self._session is not None
        flags = "; Secure" if secure else ""
        return f"{COOKIE}={self._session}; Path=/; HttpOnly; SameSite=Strict{flags}".encode()

    def signs_in(self, given: str) -> bool:
        """Whether `given` is the token (compared in constant time)."""
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def visitor(self, scope: Any) -> Visitor | None:
        """Who this request is from, or None when it may not see the page."""
        client = scope.get("client")
        address = client[0] if client else "unknown"
        if self.token is None:
            forwarded = any(_header(scope, name) is not None for name in _FORWARDED)
            return Visitor(address, "loopback") if _is_loopback(address) and not forwarded else None
        auth = _header(scope, b"authorization") or b""
        if auth[:7].lower() == b"bearer " and hmac.compare_digest(auth[7:], self.token.encode()):
            return Visitor(address, "bearer token")
        assert self._session is not None
        for value in _cookies(scope):
            if hmac.compare_digest(value.encode(), self._session.encode()):
                return Visitor(address, "session cookie")
        return None

    def same_origin(self, scope: Any) -> bool:
        """Whether a POST comes from this page: Sec-Fetch-Site and Origin agree with Host."""
        site = _header(scope, b"sec-fetch-site")
        if site is not None and site not in (b"same-origin", b"none"):
            return False
        origin = _header(scope, b"origin")
        if origin is None or origin == b"null":
            return origin is None  # "null": a sandboxed or privacy-stripped form
        host = _header(scope, b"host") or b""
        return origin.split(b"://", 1)[-1] == host

    def csrf_ok(self, given: Iterable[str]) -> bool:
        """Whether the form carried the CSRF value, once."""
        values = list(given)
        return len(values) == 1 and hmac.compare_digest(values[0], self._csrf)


def _cookies(scope: Any) -> list[str]:
    raw = b"; ".join(v for k, v in scope.get("headers", ()) if k.lower() == b"cookie")
    found = []
    for part in raw.decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            found.append(value)
    return found
