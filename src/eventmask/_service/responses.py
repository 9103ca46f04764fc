"""JSON answers of the receiver, and the ASGI types it speaks.

A refusal answered before the body is read carries ``Connection: close``:
the server then closes the connection instead of reading the rest of a
body nobody wants (RFC 9112 section 9.6; docs/receiver.md, "Facing the internet").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any, Final

from .._json import dumps

__all__ = ["Message", "Receive", "Scope", "Send", "local_path", "respond", "respond_bytes"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_JSON: Final = (b"content-type", b"application/json")
_CLOSE: Final = (b"connection", b"close")


async def respond(
    send: Send,
    status: int,
    doc: Any,
    *,
    close: bool = False,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Send `doc` as a JSON response; with `close`, ask the server to close the connection."""
    await respond_bytes(send, status, dumps(doc), _JSON, close=close, headers=headers)


async def respond_bytes(
    send: Send,
    status: int,
    body: bytes,
    content_type: tuple[bytes, bytes],
    *,
    close: bool = False,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Send `body` as it is, with its content type header."""
    out = [content_type, (b"content-length", str(len(body)).encode()), *headers]
    if close:
        out.append(_CLOSE)
    await send({"type": "http.response.start", "status": status, "headers": out})
    await send({"type": "http.response.body", "body": body})


def local_path(scope: Scope) -> str:
    """The request's path inside this app (the mount prefix, ``root_path``, taken off).

    >>> local_path({"path": "/ops/entries", "root_path": "/ops"})
    '/entries'
    """
    path: str = scope.get("path") or "/"
    root: str = scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"
