"""The stand-in's booking revisions, as Channex's Bookings Collection page documents them.

Served by `tests/channex_api.py` beside the webhook endpoints:

* ``GET /booking_revisions/feed``: the unacknowledged revisions only, with
  ``filter[property_id]``, ``order[inserted_at]=asc`` and ``pagination[page]`` /
  ``pagination[limit]`` (10 by default, at most 100), ``meta {page, limit, total}``;
* ``GET /booking_revisions/:id``: one revision (404 ``not_found``);
* ``POST /booking_revisions/:id/ack``: ``{"meta": {"message": "Success"}}`` (404);
* ``GET /bookings/:id``: the booking's latest revision, ``id`` the booking and
  ``revision_id`` the revision.

Where the page is silent, these are the stand-in's decisions (docs/bookings.md,
"Decisions"): without ``order[inserted_at]=asc`` the feed is newest first; a
second ack of a revision is answered 200 again; a limit above 100 is 100.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

NOT_FOUND = {"errors": {"code": "not_found", "title": "Resouce Not Found"}}


def _entry(attributes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "booking_revision", "id": attributes["id"], "attributes": attributes}


class Revisions:
    """The revisions Channex holds for the account, and what was acknowledged, how often."""

    def __init__(self) -> None:
        self.revisions: dict[str, dict[str, Any]] = {}
        self.acks: dict[str, int] = {}
        self.feed_requests = 0
        # Run after each feed page is made: another process acknowledging meanwhile.
        self.after_feed: Callable[[], None] | None = None
        # Run with each revision id acknowledged: a check of what the PMS has committed.
        self.on_ack: Callable[[str], None] | None = None

    def add(self, *attributes: dict[str, Any]) -> None:
        """Channex receives these revisions (attributes as `revision_attributes` makes them)."""
        for one in attributes:
            self.revisions[one["id"]] = one

    def unacked(self) -> list[dict[str, Any]]:
        return [r for r in self.revisions.values() if r["id"] not in self.acks]

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/booking_revisions/feed", self.feed, methods=["GET"]),
            Route("/api/v1/booking_revisions/{id}", self.get, methods=["GET"]),
            Route("/api/v1/booking_revisions/{id}/ack", self.ack, methods=["POST"]),
            Route("/api/v1/bookings/{id}", self.booking, methods=["GET"]),
        ]

    async def feed(self, request: Request) -> Response:
        self.feed_requests += 1
        query = request.query_params
        found = self.unacked()
        if "filter[property_id]" in query:
            found = [r for r in found if r["property_id"] == query["filter[property_id]"]]
        found.sort(key=lambda r: r["inserted_at"], reverse=query.get("order[inserted_at]") != "asc")
        page = max(int(query.get("pagination[page]", 1)), 1)
        limit = min(max(int(query.get("pagination[limit]", 10)), 1), 100)
        chunk = found[(page - 1) * limit : page * limit]
        meta = {"page": page, "limit": limit, "total": len(found)}
        answer = JSONResponse({"data": [_entry(r) for r in chunk], "meta": meta})
        if self.after_feed is not None:
            self.after_feed()
        return answer

    async def get(self, request: Request) -> Response:
        found = self.revisions.get(request.path_params["id"])
        if found is None:
            return JSONResponse(NOT_FOUND, status_code=404)
        return JSONResponse({"data": _entry(found)})

    async def ack(self, request: Request) -> Response:
        ident = request.path_params["id"]
        if ident not in self.revisions:
            return JSONResponse(NOT_FOUND, status_code=404)
        if self.on_ack is not None:
            self.on_ack(ident)
        self.acks[ident] = self.acks.get(ident, 0) + 1
        return JSONResponse({"meta": {"message": "Success"}})

    async def booking(self, request: Request) -> Response:
        ident = request.path_params["id"]
        chain = [r for r in self.revisions.values() if r["booking_id"] == ident]
        if not chain:
            return JSONResponse(NOT_FOUND, status_code=404)
        latest = max(chain, key=lambda r: r["inserted_at"])
        attributes = {k: v for k, v in latest.items() if k not in ("booking_id", "system_id")}
        attributes.update(id=ident, revision_id=latest["id"])
        return JSONResponse({"data": {"type": "booking", "id": ident, "attributes": attributes}})
