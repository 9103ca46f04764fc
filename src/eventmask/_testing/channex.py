"""Channex's booking revision endpoints, a stand-in for tests: the feed, a revision, the ack.

Written from Channex's "Bookings Collection" page (docs/bookings.md has the
flow; docs/testing.md shows the stand-in in use):

* ``GET /api/v1/booking_revisions/feed``: the unacknowledged revisions only,
  with ``filter[property_id]``, ``order[inserted_at]=asc`` and
  ``pagination[page]`` / ``pagination[limit]`` (10 by default, at most 100),
  ``meta {page, limit, total}``;
* ``GET /api/v1/booking_revisions/:id``: one revision (404 ``not_found``);
* ``POST /api/v1/booking_revisions/:id/ack``: ``{"meta": {"message": "Success"}}``
  (404 for an unknown revision);
* ``GET /api/v1/bookings/:id``: the booking's latest revision, ``id`` the
  booking and ``revision_id`` the revision.

Where the page is silent these are the stand-in's decisions (docs/bookings.md,
"Decisions"): without ``order[inserted_at]=asc`` the feed is newest first; a
second ack of a revision is answered 200 again; a limit above 100 is 100.
Requests without the API key in ``user-api-key`` are answered 401.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from .._json import dumps

__all__ = ["ChannexFeed", "serve_channex"]

NOT_FOUND: Final = {"errors": {"code": "not_found", "title": "Resouce Not Found"}}
UNAUTHORIZED: Final = {"errors": {"code": "unauthorized", "title": "Unauthorized"}}
_PREFIX: Final = "/api/v1/"
Answer = tuple[int, Mapping[str, Any]]


def _entry(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "booking_revision", "id": attributes["id"], "attributes": attributes}


def _int(query: Mapping[str, str], key: str, default: int) -> int:
    try:
        return int(query.get(key, default))
    except ValueError:
        return default


class ChannexFeed:
    """The revisions Channex holds for an account, what was acknowledged and how often.

    An ASGI app: serve it with `serve_channex`, or call `answer` directly.

    >>> from eventmask.testing import revision_attributes
    >>> feed = ChannexFeed()
    >>> one = revision_attributes(property_id="716305c4-561a-4561-a187-7f5b8aeb5920")
    >>> feed.add(one)
    >>> feed.answer("POST", f"booking_revisions/{one['id']}/ack", {})
    (200, {'meta': {'message': 'Success'}})
    >>> feed.acks == {one["id"]: 1}, feed.answer("GET", "booking_revisions/feed", {})[1]["meta"]
    (True, {'page': 1, 'limit': 10, 'total': 0})
    """

    def __init__(self, api_key: str = "eventmask-test-key") -> None:
        self.api_key = api_key
        self.revisions: dict[str, dict[str, Any]] = {}
        self.acks: dict[str, int] = {}
        self.feed_requests = 0
        self.url = ""  # the API base URL once served (`serve_channex`)
        # Run after each feed page is made: another process acknowledging meanwhile.
        self.after_feed: Callable[[], None] | None = None
        # Run with each revision id acknowledged, before it counts: a check of the PMS.
        self.on_ack: Callable[[str], None] | None = None

    def add(self, *attributes: Mapping[str, Any]) -> None:
        """Channex receives these revisions (attributes as `revision_attributes` makes them).

        >>> feed = ChannexFeed(); feed.add({"id": "r1", "booking_id": "b1"}); list(feed.revisions)
        ['r1']
        """
        for one in attributes:
            self.revisions[one["id"]] = dict(one)

    def unacked(self) -> list[dict[str, Any]]:
        """The revisions nobody has acknowledged, as the feed offers them.

        >>> feed = ChannexFeed(); feed.add({"id": "r1"}); [r["id"] for r in feed.unacked()]
        ['r1']
        """
        return [r for r in self.revisions.values() if r["id"] not in self.acks]

    def answer(self, method: str, path: str, query: Mapping[str, str]) -> Answer:
        """The status and JSON body for a request to `path` (after ``/api/v1/``).

        >>> ChannexFeed().answer("GET", "booking_revisions/nope", {})[0]
        404
        """
        parts = path.strip("/").split("/")
        if method == "GET" and parts == ["booking_revisions", "feed"]:
            return self._feed(query)
        if method == "GET" and len(parts) == 2 and parts[0] == "booking_revisions":
            found = self.revisions.get(parts[1])
            return (200, {"data": _entry(found)}) if found else (404, NOT_FOUND)
        if method == "POST" and len(parts) == 3 and parts[::2] == ["booking_revisions", "ack"]:
            return self._ack(parts[1])
        if method == "GET" and len(parts) == 2 and parts[0] == "bookings":
            return self._booking(parts[1])
        return 404, NOT_FOUND

    def _feed(self, query: Mapping[str, str]) -> Answer:
        self.feed_requests += 1
        found = self.unacked()
        if "filter[property_id]" in query:
            found = [r for r in found if r.get("property_id") == query["filter[property_id]"]]
        newest_first = query.get("order[inserted_at]") != "asc"
        found.sort(key=lambda r: str(r.get("inserted_at")), reverse=newest_first)
        page = max(_int(query, "pagination[page]", 1), 1)
        limit = min(max(_int(query, "pagination[limit]", 10), 1), 100)
        chunk = found[(page - 1) * limit : page * limit]
        answer = {"data": [_entry(r) for r in chunk],
                  "meta": {"page": page, "limit": limit, "total": len(found)}}  # fmt: skip
        if self.after_feed is not None:
            self.after_feed()
        return 200, answer

    def _ack(self, ident: str) -> Answer:
        if ident not in self.revisions:
            return 404, NOT_FOUND
        if self.on_ack is not None:
            self.on_ack(ident)
        self.acks[ident] = self.acks.get(ident, 0) + 1
        return 200, {"meta": {"message": "Success"}}

    def _booking(self, ident: str) -> Answer:
        chain = [r for r in self.revisions.values() if r.get("booking_id") == ident]
        if not chain:
            return 404, NOT_FOUND
        latest = max(chain, key=lambda r: str(r.get("inserted_at")))
        attributes = {k: v for k, v in latest.items() if k not in ("booking_id", "system_id")}
        attributes.update(id=ident, revision_id=latest["id"])
        return 200, {"data": {"type": "booking", "id": ident, "attributes": attributes}}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Serve the endpoints over ASGI (HTTP only; the request body is not read)."""
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        path = scope["path"]
        status: int
        body: Mapping[str, Any]
        if headers.get("user-api-key") != self.api_key:
            status, body = 401, UNAUTHORIZED
        elif not path.startswith(_PREFIX):
            status, body = 404, NOT_FOUND
        else:
            query = dict(urllib.parse.parse_qsl(scope["query_string"].decode("latin-1")))
            status, body = self.answer(scope["method"], path[len(_PREFIX) :], query)
        data = dumps(body)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(data)).encode())]})  # fmt: skip
        await send({"type": "http.response.body", "body": data})


@contextlib.contextmanager
def serve_channex(feed: ChannexFeed | None = None) -> Iterator[ChannexFeed]:
    """Serve `feed` (a new one if None) with uvicorn on a free loopback port until the
    block ends; ``feed.url`` is its API base URL.  Needs ``eventmask[server]``.

    >>> with serve_channex() as feed:
    ...     feed.url.startswith("http://127.0.0.1:") and feed.url.endswith("/api/v1")
    True
    """
    import uvicorn

    feed = feed if feed is not None else ChannexFeed()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(feed, log_config=None, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Channex stand-in did not start")
            time.sleep(0.005)
        feed.url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v1"
        yield feed
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
