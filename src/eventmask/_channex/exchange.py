"""What every call to Channex shares: settings, attempts, typed errors, pages.

Authentication is the ``user-api-key`` header.  401, 404 and 422 become
typed errors that keep Channex's details; 429 waits (``Retry-After``, else
a doubling backoff) and retries, as do 5xx answers, timeouts and dropped
connections, a bounded number of times (docs/provisioning.md, "The Channex
API").  An `Exchange` holds one call's attempts without doing any I/O, so
that the sync and the async client differ only in how they send and wait.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, Final

from .._errors import (
    ChannexError,
    ChannexNotFound,
    ChannexUnauthorized,
    ChannexValidationError,
    ConfigError,
    InvalidJSON,
)
from .._json import dumps, loads

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_API_URL", "PAGE", "Base", "Exchange", "Pages", "data", "wait"]

# Channex's production API; staging is https://staging.channex.io/api/v1.
DEFAULT_API_URL: Final = "https://app.channex.io/api/v1"
# Channex pages its collections 10 to a page unless asked, 100 at most.
PAGE: Final = 100


def settings(base_url: str | None, api_key: str | None) -> tuple[str, str]:
    url = base_url or os.environ.get("CHANNEX_API_URL") or DEFAULT_API_URL
    key = api_key or os.environ.get("CHANNEX_API_KEY")
    if not key:
        # Nothing was sent: a configuration error, not an answer from Channex.
        raise ConfigError("no Channex API key: set CHANNEX_API_KEY or pass api_key")
    return url.rstrip("/"), key


def error_of(response: httpx.Response) -> ChannexError:
    """The typed error of a non-2xx answer, with Channex's code and details."""
    try:
        doc = loads(response.content)
    except InvalidJSON:
        doc = {}
    errors = doc.get("errors", {}) if isinstance(doc, Mapping) else {}
    errors = errors if isinstance(errors, Mapping) else {}
    code = errors.get("code") if isinstance(errors.get("code"), str) else None
    found = errors.get("details")
    details: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
    details = {str(k): [str(m) for m in (v if isinstance(v, list) else [v])]
               for k, v in details.items()}  # fmt: skip
    title = errors.get("title") if isinstance(errors.get("title"), str) else None
    message = title or response.reason_phrase or "error"
    kind = {401: ChannexUnauthorized, 404: ChannexNotFound, 422: ChannexValidationError}.get(
        response.status_code, ChannexError
    )
    where = f"{response.request.method} {response.request.url.path}"
    return kind(f"{where}: {message}", status=response.status_code, code=code, details=details)


def request_args(body: Any, params: Any) -> dict[str, Any]:
    """httpx arguments: the body encoded with eventmask's one JSON library."""
    out: dict[str, Any] = {"params": params}
    if body is not None:
        out["content"] = dumps(body)
        out["headers"] = {"content-type": "application/json"}
    return out


def decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return loads(response.content)
    except InvalidJSON as exc:
        where = f"{response.request.method} {response.request.url.path}"
        raise ChannexError(
            f"{where}: the answer is not JSON: {exc}", status=response.status_code
        ) from None


def retryable(status: int) -> bool:
    return status == 429 or status >= 500


class _Unsure(Exception):
    """A create that may have been stored: the answer was lost, or was a 5xx."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def maybe_done(reply: httpx.Response | Exception) -> bool:
    """Whether a failed attempt may have been carried out by Channex all the same."""
    import httpx

    if isinstance(reply, httpx.Response):
        return reply.status_code >= 500  # a 429 is refused before anything is done
    # Nothing was sent when the connection could not be made.
    return not isinstance(reply, (httpx.ConnectError, httpx.ConnectTimeout))


def describe(reply: httpx.Response | Exception) -> str:
    import httpx

    if isinstance(reply, httpx.Response):
        return f"HTTP {reply.status_code}"
    return f"{type(reply).__name__}: {reply}" if str(reply) else type(reply).__name__


def wait(response: httpx.Response | None, attempt: int, backoff: float) -> float:
    if response is not None and response.status_code == 429:
        after = response.headers.get("retry-after", "")
        if after.isdigit():
            return min(float(after), 60.0)
    return float(min(backoff * 2 ** (attempt - 1), 30.0))


def data(doc: Any) -> Any:
    return doc.get("data") if isinstance(doc, Mapping) else None


# What the shared exchange asks its driver for: an HTTP request (its httpx
# arguments), or a pause (seconds).  It is sent back the response or the error.
Exchange = Generator["dict[str, Any] | float", "httpx.Response | Exception | None", Any]


class Pages:
    """Walking a collection: the parameters of each page, and whether to ask for the next.

    Channex pages with ``pagination[page]`` and ``pagination[limit]`` and says
    ``meta.total`` (docs/provisioning.md, "The Channex API").
    """

    def __init__(self, **params: Any) -> None:
        self.page, self.seen = 1, 0
        self.extra = params
        self.total: int | None = None

    def params(self) -> dict[str, Any]:
        """The query of the next page."""
        return {**self.extra, "pagination[page]": self.page, "pagination[limit]": PAGE}

    def read(self, doc: Any) -> tuple[list[Mapping[str, Any]], bool]:
        """The page's entries, and whether another page follows."""
        items = data(doc)
        entries = [e for e in items if isinstance(e, Mapping)] if isinstance(items, list) else []
        meta = doc.get("meta") if isinstance(doc, Mapping) else None
        total = meta.get("total") if isinstance(meta, Mapping) else None
        self.total = total if isinstance(total, int) else None
        self.seen += len(entries)
        self.page += 1
        if self.total is None:  # no meta.total: a full page may have another after it
            return entries, len(entries) >= PAGE
        return entries, bool(entries) and self.seen < self.total


class Base:
    """Everything but the I/O: settings, and each call's attempts as an `Exchange`.

    An exchange yields what it needs (a request's httpx arguments, or seconds
    to wait) and is sent back the response, or the transport error; the sync
    and async clients differ only in how they carry these out.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        attempts: int = 5,
        backoff: float = 0.5,
    ) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, not {attempts}")
        self.base_url, key = settings(base_url, api_key)
        self.headers = {"user-api-key": key, "accept": "application/json"}
        self.timeout = timeout
        self.attempts = attempts
        self.backoff = backoff
        self.requests = 0  # every request sent, retries included

    def exchange(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Any = None,
        *,
        blind: bool = True,
    ) -> Exchange:
        """One call's attempts.  With ``blind=False`` (a create), an attempt that
        may have been carried out is not repeated: `_Unsure` goes to the caller,
        who looks for the result first (docs/provisioning.md, "Retries")."""
        import httpx

        kwargs = {"method": method, "url": self.base_url + path, **request_args(body, params)}
        last: httpx.Response | None = None
        error: Exception | None = None
        for attempt in range(1, self.attempts + 1):
            self.requests += 1
            reply = yield kwargs
            if isinstance(reply, httpx.Response):
                last = reply
                if last.status_code < 300:
                    return decode(last)
                if not retryable(last.status_code):
                    raise error_of(last)
            else:
                last, error = None, reply
            if not blind and reply is not None and maybe_done(reply):
                raise _Unsure(f"{method} {path}: {describe(reply)}")
            if attempt < self.attempts:
                yield wait(last, attempt, self.backoff)
        if last is not None:
            raise error_of(last)
        raise ChannexError(f"{method} {path}: no answer after {self.attempts} attempts: {error}")
