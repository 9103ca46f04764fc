"""The stand-in's booking revisions: the testing kit's `ChannexFeed`, behind this stand-in's gate.

`eventmask.testing.ChannexFeed` (src/eventmask/_testing/channex.py) is
written from Channex's Bookings Collection page, and its docstring lists the
endpoints and the decisions taken where the page is silent.  Served here
beside the webhook endpoints of `tests/channex_api.py`, whose gate checks the
API key and injects the faults, so the tests and the testing kit's users run
against one stand-in.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from eventmask.testing import ChannexFeed

_PREFIX = "/api/v1/"


class Revisions(ChannexFeed):
    """The revisions Channex holds for the account, and what was acknowledged, how often."""

    def routes(self) -> list[Route]:
        return [
            Route("/api/v1/booking_revisions/{rest:path}", self._serve, methods=["GET", "POST"]),
            Route("/api/v1/bookings/{id}", self._serve, methods=["GET"]),
        ]

    async def _serve(self, request: Request) -> Response:
        path = request.url.path[len(_PREFIX) :]
        status, body = self.answer(request.method, path, dict(request.query_params))
        return JSONResponse(body, status)
