"""The operator's page as a pure ASGI application over an inbox (docs/dashboard.md).

GET pages read; POST actions (retry, replay, retry a group) change the
inbox, only when the dashboard was made with ``actions=True``, and only
from the page itself (`access`).  Every answer is a whole page: a bad
parameter is a 400 that names it, an unknown entry a 404, an inbox that
went away a 503; never a traceback.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable
from importlib import resources
from typing import Any, Final, NoReturn

from .._errors import InboxError, InboxUnavailable
from .._inbox.interface import Inbox
from .._service.responses import Receive, Scope, Send, local_path, respond_bytes
from . import pages
from .access import Access, Visitor
from .params import BadParameter, EntryFilters, Params, entry_id, one, parse, time_range
from .render import Renderer

__all__ = ["Dashboard"]

log = logging.getLogger("eventmask.dashboard")

MAX_FORM: Final = 16_384
FORM_TIMEOUT: Final = 10.0
_ENTRY: Final = re.compile(r"^/entries/(\d{1,19})(/retry|/replay)?$")
_HTML: Final = (b"content-type", b"text/html; charset=utf-8")
_CSS: Final = (b"content-type", b"text/css; charset=utf-8")
# No script at all, styles from this app only, no framing, forms post only here.
_SECURITY: Final = (
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self'; "
     b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer makes a form's Origin "null"
    (b"cache-control", b"no-store"),
    (b"x-frame-options", b"DENY"),
)  # fmt: skip


class _Answer(Exception):
    """A page other than the one asked for: an error, or a redirect."""

    def __init__(self, status: int, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.location = location


# size: one ASGI application: its routes, its access checks and its error pages.
class Dashboard:
    """The operator's page: an ASGI app that shows, searches and repairs an inbox.

    Read-only unless ``actions=True``.  Without a `token` only loopback
    clients are served; with one, every request needs it (docs/dashboard.md,
    "Access").  Mount it beside a receiver, or run ``eventmask dashboard``.

    >>> import os, tempfile
    >>> from eventmask.inbox import SQLiteInbox
    >>> inbox = SQLiteInbox(os.path.join(tempfile.mkdtemp(), "inbox.db"))
    >>> Dashboard(inbox).actions
    False
    >>> inbox.close()
    """

    def __init__(self, inbox: Inbox, *, token: str | None = None, actions: bool = False) -> None:
        self.inbox = inbox
        self.access = Access(token)
        self.actions = actions
        self.render = Renderer()
        self._css = resources.files(__package__).joinpath("static/dashboard.css").read_bytes()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].replace("lifespan.", "")
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        if scope["type"] != "http":
            raise RuntimeError(f"the eventmask dashboard does not handle {scope['type']!r}")
        root = scope.get("root_path") or ""
        kind = _HTML
        try:
            try:
                status, body, headers = await self._answer(scope, receive, root)
                if body is self._css:
                    kind = _CSS
            except BadParameter as exc:
                raise _Answer(400, str(exc)) from None
            except _Answer:
                raise
            except Exception:  # a page never shows a traceback: it goes to the log
                log.exception("dashboard: the page failed")
                raise _Answer(500, "The page failed; the log has the details.") from None
        except _Answer as answer:
            if answer.location is not None:
                location = (root + answer.location).encode()
                await respond_bytes(send, 303, b"", _HTML, headers=[(b"location", location),
                                                                     *_SECURITY])  # fmt: skip
                return
            status, body, headers = answer.status, self._error(root, answer), []
        await respond_bytes(send, status, body, kind, headers=[*headers, *_SECURITY])

    def _error(self, root: str, answer: _Answer) -> bytes:
        return self.render.page(
            "error.html", root, self.access.csrf, self.actions, status=answer.status,
            message=str(answer), login=answer.status == 401 and self.access.token is not None,
        )  # fmt: skip

    async def _answer(
        self, scope: Scope, receive: Receive, root: str
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        path = local_path(scope).rstrip("/") or "/"
        method = scope["method"]
        if path == "/static/dashboard.css" and method == "GET":
            return 200, self._css, []
        if path == "/login":
            return await self._login(scope, receive, root, method)
        visitor = self.access.visitor(scope)
        if visitor is None:
            if self.access.token is None:
                raise _Answer(403, "Without a token this page answers only on loopback; "
                              "start it with a token to serve it further.")  # fmt: skip
            raise _Answer(401, "Sign in with the dashboard token to see this page.")
        if method == "POST":
            await self._act(scope, visitor, path, await _form(receive))
        if method != "GET":
            raise _Answer(405, f"{method} is not answered here: pages are GET, actions POST.")
        params = parse(scope.get("query_string", b""))
        template, values = await self._page(path, params)
        notice = one(params, "notice")
        body = self.render.page(template, root, self.access.csrf, self.actions,
                                notice=pages.NOTICES.get(notice or ""), **values)  # fmt: skip
        return 200, body, []

    async def _page(self, path: str, params: Params) -> pages.Page:
        """The page for a GET: the inbox's health, the parameters (BadParameter: 400), the reads."""
        inbox = self.inbox
        await self._read(self._healthy)
        if path == "/":
            span = time_range(params)
            stats, timeline, revisions = await asyncio.gather(
                *(self._read(read) for read in pages.overview_reads(inbox, span))
            )
            return pages.overview(span, stats, timeline, revisions)
        view: Callable[[], pages.Page] | None = None
        if path == "/entries":
            filters = EntryFilters.read(params)
            text = filters.query.text
            if text is not None and filters.query.after is None:
                named = await self._read(lambda: pages.entry_named(inbox, text))
                if named is not None:
                    raise _Answer(303, "", f"/entries/{named}")
            view = functools.partial(pages.entries, inbox, filters)
        elif path == "/dead":
            view = functools.partial(pages.dead_letters, inbox)
        elif path == "/dead/retry":
            error_class = one(params, "class") or ""
            handler = one(params, "handler", limit=2_000)
            view = functools.partial(pages.retry_group, inbox, error_class, handler)
        elif path == "/refusals":
            view = functools.partial(pages.refusals, inbox)
        elif (found := _ENTRY.match(path)) and found[2] is None:
            view = functools.partial(pages.entry, inbox, int(found[1]))
        if view is None:
            raise _Answer(404, f"No page at {path[:200]!r}.")
        result: pages.Page = await self._read(view)
        return result

    def _healthy(self) -> None:
        """Raise InboxUnavailable unless the inbox passes its own health check.

        A SQLite file deleted or replaced still reads through the open
        connection, and would show what is no longer there.
        """
        health = self.inbox.health()
        if not health.ok:
            raise InboxUnavailable(health.reason or "it failed its health check")

    async def _read(self, view: Callable[[], Any]) -> Any:
        """Run a read (or a repair) in a thread; an inbox failure is a page, not a traceback."""
        try:
            return await asyncio.to_thread(view)
        except InboxUnavailable as exc:
            raise _Answer(503, f"The inbox is unavailable: {exc}") from None
        except InboxError as exc:
            status = 404 if str(exc).startswith("no inbox entry") else 409
            raise _Answer(status, str(exc)) from None
        except Exception as exc:
            log.exception("dashboard: reading the inbox failed")
            raise _Answer(503, f"The inbox did not answer: {type(exc).__name__}") from None

    async def _act(self, scope: Scope, visitor: Visitor, path: str, form: Params) -> NoReturn:
        """Do one action, then answer with a redirect to its result (an `_Answer`)."""
        if not self.actions:
            raise _Answer(403, "This dashboard is read-only: start it with --allow-actions "
                          "(or actions=True) to retry and replay.")  # fmt: skip
        if not self.access.same_origin(scope) or not self.access.csrf_ok(form.get("csrf", ())):
            raise _Answer(
                403,
                "This action did not come from the dashboard's own page "
                "(cross-site request refused). Reload the page and try again.",
            )
        inbox = self.inbox
        found = _ENTRY.match(path)
        if found and found[2] == "/retry":
            number = int(found[1])
            await self._read(lambda: inbox.retry(number))
            self._log(visitor, "retry", entry=number)
            raise _Answer(303, "", f"/entries/{number}?notice=retried")
        if found and found[2] == "/replay":
            number = int(found[1])
            new = await self._read(lambda: inbox.replay(number))
            self._log(visitor, "replay", entry=number, new_entry=new)
            raise _Answer(303, "", f"/entries/{new}?notice=replayed")
        if path == "/dead/retry":
            try:
                error_class = one(form, "class") or ""
                handler = one(form, "handler", limit=2_000)
                last = entry_id(one(form, "last"), "last")
            except BadParameter as exc:
                raise _Answer(400, str(exc)) from None
            if last is None:
                raise _Answer(400, "last: the group's newest entry id is missing")
            count = await self._read(lambda: inbox.retry_dead_group(error_class, handler, last))
            self._log(visitor, "retry group", error_class=error_class, handler=handler,
                      up_to=last, retried=count)  # fmt: skip
            raise _Answer(303, "", "/dead?notice=group-retried")
        raise _Answer(404, f"No action at {path[:200]!r}.")

    def _log(self, visitor: Visitor, action: str, **what: Any) -> None:
        fields = {"action": action, "who": visitor.label, **what}
        log.info("dashboard action: %s by %s %s", action, visitor.label, what,
                 extra={"fields": fields})  # fmt: skip

    async def _login(
        self, scope: Scope, receive: Receive, root: str, method: str
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        if self.access.token is None:
            raise _Answer(303, "", "/")
        if method == "GET":
            return 200, self.render.page("login.html", root, "", False, failed=False), []
        if method != "POST":
            raise _Answer(405, f"{method} is not answered here.")
        form = await _form(receive)
        if not self.access.same_origin(scope) or not self.access.signs_in(one(form, "token") or ""):
            log.warning("dashboard: a sign-in failed from %s", (scope.get("client") or ["?"])[0])
            return 401, self.render.page("login.html", root, "", False, failed=True), []
        secure = scope.get("scheme") == "https"
        cookie = (b"set-cookie", self.access.session_cookie(secure))
        location = (b"location", (root or "").encode() + b"/")
        return 303, b"", [cookie, location]


async def _form(receive: Receive) -> Params:
    """An urlencoded form body, at most MAX_FORM bytes, within FORM_TIMEOUT seconds."""
    body = bytearray()
    try:
        async with asyncio.timeout(FORM_TIMEOUT):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _Answer(400, "The request ended before its form did.")
                body += message.get("body", b"")
                if len(body) > MAX_FORM:
                    raise _Answer(413, f"A form is at most {MAX_FORM:,} bytes.")
                if not message.get("more_body"):
                    break
    except TimeoutError:
        raise _Answer(408, "The form did not arrive in time.") from None
    try:
        return parse(bytes(body))
    except BadParameter as exc:
        raise _Answer(400, str(exc)) from None
