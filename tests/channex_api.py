"""A stand-in for Channex's webhook and booking revision API, served on loopback by the tests.

Channex itself cannot be reached from the tests.  This server implements
the webhook endpoints as Channex documents them (docs/provisioning.md, "The
Channex API"): the JSON:API response shapes, pagination with ``meta``
(10 per page unless asked), the 401, 404 and 422 error bodies, and the test
endpoint, which really POSTs a test notification to the callback URL (in
the tests, a real eventmask receiver) and answers with what it got back.
`faults` injects 429s, 5xx answers and timeouts, one per request.

Written from Channex's Webhook Collection and Rate Limits pages.  Where they
are silent, the stand-in decides, and says so below with "Decision":

- Validation: ``property_id`` must be a UUID, ``callback_url`` an http(s)
  URL with a host, ``event_mask`` non-empty (the page's field rules).  The
  page shows only "can't be blank"; Decision: a present but malformed value
  is "is invalid", in the same 422 shape.
- The test endpoint answers ``{"status_code": ..., "body": ...}`` at the top
  level, as the page's example does.  Decision: an endpoint it cannot reach
  is ``status_code`` 0 and the socket error in ``body`` ("econnrefused").
- A 429 has the documented body (``http_too_many_requests``).  Decision:
  no ``Retry-After`` header, since the page shows none; `retry_after` sends
  one when a test wants it.
- Decision: a "timeout" carries the request out and answers 504 two seconds
  later, so a client that gave up cannot know whether it happened; that is
  the case a create must survive without doing it twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .channex_revisions import Revisions
from .helpers import Server

API_KEY = "stand-in-api-key"
_FIELDS = ("callback_url", "event_mask", "request_params", "headers", "is_active", "send_data")


def _resource(hook: dict[str, Any]) -> dict[str, Any]:
    attributes = {"id": hook["id"], **{k: hook.get(k) for k in _FIELDS}}
    out: dict[str, Any] = {"id": hook["id"], "type": "webhook", "attributes": attributes}
    if hook.get("property_id"):
        out["relationships"] = {
            "property": {"data": {"type": "property", "id": hook["property_id"]}}
        }
    else:
        attributes["is_global"] = True
    return out


def _error(
    status: int,
    code: str,
    title: str,
    details: dict[str, list[str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    errors: dict[str, Any] = {"code": code, "title": title}
    if details is not None:
        errors["details"] = details
    return JSONResponse({"errors": errors}, status_code=status, headers=headers)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def _valid_url(value: object) -> bool:
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


class ChannexStandIn:
    """The stand-in's state: webhooks by id, the faults to inject, every request seen."""

    def __init__(self) -> None:
        self.webhooks: dict[str, dict[str, Any]] = {}
        # One per request: a status, "timeout", or (status, details) for an error body.
        self.faults: list[int | str | tuple[int, dict[str, list[str]]]] = []
        # Only requests of this method take faults, or "METHOD /path" for one path, or
        # those a predicate picks: concurrent requests (the acks) arrive in any order.
        self.fault_on: str | Callable[[Request], bool] | None = None
        self.requests: list[tuple[str, str]] = []
        self.tests: list[dict[str, Any]] = []  # what the test endpoint posted, and got
        self.retry_after: str | None = None  # a Retry-After for 429s (Channex shows none)
        self.revisions = Revisions()  # tests/channex_revisions.py
        self.ari = AriReads()
        self.app = Starlette(
            routes=[
                *self.revisions.routes(),
                *self.ari.routes(),
                Route("/api/v1/webhooks", self.list_, methods=["GET"]),
                Route("/api/v1/webhooks", self.create, methods=["POST"]),
                Route("/api/v1/webhooks/test", self.test, methods=["POST"]),
                Route("/api/v1/webhooks/{id}", self.get, methods=["GET"]),
                Route("/api/v1/webhooks/{id}", self.update, methods=["PUT"]),
                Route("/api/v1/webhooks/{id}", self.delete, methods=["DELETE"]),
            ],
            middleware=[Middleware(BaseHTTPMiddleware, dispatch=self._gate)],
        )

    def add(self, **fields: Any) -> str:
        """Store a webhook directly, as if created earlier (Channex's defaults apply)."""
        ident = str(uuid.uuid4())
        self.webhooks[ident] = {"id": ident, "is_active": False, "send_data": False,
                                "headers": None, "request_params": None, **fields}  # fmt: skip
        return ident

    def _faulted(self, request: Request) -> bool:
        if callable(self.fault_on):
            return self.fault_on(request)
        return self.fault_on in (None, request.method, f"{request.method} {request.url.path}")

    async def _gate(self, request: Request, call_next: Any) -> Response:
        self.requests.append((request.method, request.url.path))
        if self.faults and self._faulted(request):
            fault = self.faults.pop(0)
            if fault == "timeout":  # carried out, then longer than the tests' client timeout
                await call_next(request)
                await asyncio.sleep(2)
                return JSONResponse({"errors": {"code": "timeout"}}, 504)
            if fault == "lost answer":  # carried out, then the answer is too late
                done: Response = await call_next(request)
                await asyncio.sleep(2)
                return done
            if fault == "not json":  # a proxy's error page, answered 200
                return Response(b"<html>Service Unavailable</html>", 200)
            if fault == "no data":  # JSON, but not the documented shape
                return JSONResponse({"errors": None, "meta": {"page": 1}})
            if fault == "stored, then 502":  # carried out, then a proxy's 5xx
                await call_next(request)
                return JSONResponse({"errors": {"code": "bad_gateway"}}, 502)
            if isinstance(fault, tuple):
                return _error(fault[0], "validation_error", "Validation Error", fault[1])
            if fault == 429:  # the Rate Limits page's body
                headers = {} if self.retry_after is None else {"retry-after": self.retry_after}
                return _error(429, "http_too_many_requests", "Too Many Requests", headers=headers)
            if isinstance(fault, int):
                return JSONResponse({"errors": {"code": "error"}}, fault)
        if request.headers.get("user-api-key") != API_KEY:
            return _error(401, "unauthorized", "Unauthorized")
        response: Response = await call_next(request)
        return response

    async def list_(self, request: Request) -> Response:
        page = int(request.query_params.get("pagination[page]", 1))
        limit = int(request.query_params.get("pagination[limit]", 10))
        hooks = list(self.webhooks.values())
        chunk = hooks[(page - 1) * limit : page * limit]
        meta = {"page": page, "total": len(hooks), "limit": limit}
        return JSONResponse({"data": [_resource(h) for h in chunk], "meta": meta})

    async def get(self, request: Request) -> Response:
        hook = self.webhooks.get(request.path_params["id"])
        if hook is None:
            return _error(404, "resource_not_found", "Resource Not Found")
        return JSONResponse({"data": _resource(hook)})

    @staticmethod
    def _check(body: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        hook = body.get("webhook") if isinstance(body, dict) else None
        if not isinstance(hook, dict):
            return {}, {"webhook": ["can't be blank"]}
        details: dict[str, list[str]] = {}
        prop = hook.get("property_id")
        if not prop and hook.get("is_global") is not True:
            details["property_id"] = ["can't be blank"]
        elif prop and not (isinstance(prop, str) and _UUID.fullmatch(prop)):
            details["property_id"] = ["is invalid"]  # Decision: the page says "valid UUID"
        for name in ("callback_url", "event_mask"):
            if not hook.get(name):
                details[name] = ["can't be blank"]
        if hook.get("callback_url") and not _valid_url(hook["callback_url"]):
            details["callback_url"] = ["is invalid"]  # Decision: the page says "valid URL"
        if hook.get("event_mask") is not None and not isinstance(hook.get("event_mask"), str):
            details["event_mask"] = ["is invalid"]
        return hook, details

    async def create(self, request: Request) -> Response:
        hook, details = self._check(await request.json())
        if details:
            return _error(422, "validation_error", "Validation Error", details)
        fields = {k: hook[k] for k in (*_FIELDS, "property_id") if k in hook}
        ident = self.add(**fields)
        return JSONResponse({"data": _resource(self.webhooks[ident])}, status_code=201)

    async def update(self, request: Request) -> Response:
        stored = self.webhooks.get(request.path_params["id"])
        if stored is None:
            return _error(404, "resource_not_found", "Resource Not Found")
        hook, details = self._check(await request.json())
        if details:
            return _error(422, "validation_error", "Validation Error", details)
        stored.update({k: hook[k] for k in (*_FIELDS, "property_id") if k in hook})
        return JSONResponse({"data": _resource(stored)})

    async def delete(self, request: Request) -> Response:
        if self.webhooks.pop(request.path_params["id"], None) is None:
            return _error(404, "resource_not_found", "Resource Not Found")
        return JSONResponse({"meta": {"message": "Success"}})

    async def test(self, request: Request) -> Response:
        hook, details = self._check(await request.json())
        if details:
            return _error(422, "validation_error", "Validation Error", details)
        notification = {
            "event": "test",
            "property_id": hook.get("property_id"),
            "user_id": None,
            "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-2] + "Z",
            "payload": {"message": "test webhook"},
        }
        params = {k: str(v) for k, v in (hook.get("request_params") or {}).items()}
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                headers = hook.get("headers") or {}
                got = await client.post(
                    hook["callback_url"], json=notification, headers=headers, params=params
                )
            result: dict[str, Any] = {"status_code": got.status_code, "body": got.text}
        except httpx.ConnectError:
            # As Channex reports an endpoint it cannot reach: status 0 and the
            # socket error's name in the body.
            result = {"status_code": 0, "body": "econnrefused"}
        except httpx.HTTPError as exc:
            result = {"status_code": 0, "body": f"{type(exc).__name__}: {exc}"}
        self.tests.append({"sent": notification, **result})
        return JSONResponse(result)  # at the top level, as the page's example


@contextmanager
def serving() -> Iterator[tuple[str, ChannexStandIn]]:
    """The stand-in on a free loopback port: its API base URL, and its state."""
    standin = ChannexStandIn()
    with Server(standin.app) as url:
        yield f"{url}/api/v1", standin


class AriReads:
    """The ARI reads of the "Availability and Rates" page, with the "Rate Limits" budget.

    ``restrictions[property][rate plan][date]`` holds restriction values and
    ``availability[property][room type][date]`` a count.  Decisions where the
    pages are silent: a missing ``filter[property_id]`` is a 400 like the
    documented missing arguments; the budget is 10 reads a minute per
    property and endpoint, counted over the last 60 s, and the 11th is the
    documented 429.
    """

    def __init__(self) -> None:
        self.restrictions: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
        self.availability: dict[str, dict[str, dict[str, int]]] = {}
        self.reads: list[tuple[float, str, str]] = []  # (when, endpoint, property)
        self.clock: Callable[[], float] = time.monotonic  # a test may move it by hand

    def routes(self) -> list[Route]:
        return [Route("/api/v1/restrictions", self.read_restrictions, methods=["GET"]),
                Route("/api/v1/availability", self.read_availability, methods=["GET"])]  # fmt: skip

    def _checked(self, request: Request, endpoint: str, needs: tuple[str, ...]) -> Any:
        query = request.query_params
        for name, key in (("property_id", "filter[property_id]"), ("date", "filter[date][gte]"),
                          *[(n, f"filter[{n}]") for n in needs]):  # fmt: skip
            if not query.get(key) and not (name == "date" and query.get("filter[date]")):
                return _bad_request(f"{name} is required")
        prop = query["filter[property_id]"]
        now = self.clock()
        recent = [r for r in self.reads if r[0] > now - 60 and r[1:] == (endpoint, prop)]
        if len(recent) >= 10:
            return _error(429, "http_too_many_requests", "Too Many Requests")
        self.reads.append((now, endpoint, prop))
        first = query.get("filter[date][gte]") or query["filter[date]"]
        last = query.get("filter[date][lte]") or first
        return prop, first, last

    async def read_restrictions(self, request: Request) -> Response:
        checked = self._checked(request, "restrictions", ("restrictions",))
        if isinstance(checked, Response):
            return checked
        prop, first, last = checked
        wanted = request.query_params["filter[restrictions]"].split(",")
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for rate_plan, days in self.restrictions.get(prop, {}).items():
            for day, values in days.items():
                if first <= day <= last:
                    kept = {k: v for k, v in values.items() if k in wanted}
                    out.setdefault(rate_plan, {})[day] = kept
        return JSONResponse({"data": out})

    async def read_availability(self, request: Request) -> Response:
        checked = self._checked(request, "availability", ())
        if isinstance(checked, Response):
            return checked
        prop, first, last = checked
        out = {room: {d: n for d, n in days.items() if first <= d <= last}
               for room, days in self.availability.get(prop, {}).items()}  # fmt: skip
        return JSONResponse({"data": {room: days for room, days in out.items() if days}})


def _bad_request(detail: str) -> Response:
    """The page's 400: ``details`` is a list of sentences, not a field map."""
    errors = {"code": "bad_request", "title": "Bad Request", "details": [detail]}
    return JSONResponse({"errors": errors}, status_code=400)
