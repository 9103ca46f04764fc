"""uvicorn's HTTP protocol with the deadlines a public endpoint needs.

uvicorn runs ASGI code only once a request's headers are parsed, and its
keep-alive timer starts after a response and is reset by every byte, so a
connection that sends nothing, or one header byte every few seconds, holds
a descriptor for ever: a few hundred of them and honest deliveries wait.
This protocol adds, below the application:

* a header deadline: a connection whose request headers are not complete
  within ``header_timeout`` seconds of connecting (or of its last response)
  is closed, however slowly it trickles;
* a connection cap: past ``max_connections`` open connections, a new one is
  answered 503 and closed at once, before anything is read;
* a fair share: one client address may hold at most ``per_address`` of them,
  so a client that reconnects as fast as it can, or holds every connection it
  can get, leaves the rest to everybody else;
* header limits: a request head over ``MAX_HEADER_BYTES`` or with more than
  ``MAX_HEADERS`` header lines is answered 431 and closed before the HTTP
  parser sees it (h11 bounds only a head that arrives in pieces; a whole one
  of 116 KiB cost 45 ms of CPU to parse, against 2 ms for a delivery);
* chunk lines: in a chunked body, a chunk's size line (with any extension)
  over ``MAX_CHUNK_LINE`` bytes is answered 400 and closed, for the same
  reason.

The body deadline is the receiver's (it answers 408).  docs/receiver.md,
"Facing the internet", has the figures and what a proxy in front must still do.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Iterable
from typing import Any, Final

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .._json import dumps

__all__ = [
    "MAX_HEADERS",
    "MAX_HEADER_BYTES",
    "default_max_connections",
    "default_per_address",
    "guarded_protocol",
    "raise_open_file_limit",
]

log = logging.getLogger("eventmask.receiver")

_OVER_CAP: Final = dumps({"status": "error", "error": "too many connections; retry"})
# A request head, its request line and headers included: Channex's are under 1 KiB.
MAX_HEADER_BYTES: Final = 16_384
MAX_HEADERS: Final = 100
MAX_CHUNK_LINE: Final = 1_024


def _answer(status: bytes, doc: bytes, *extra: bytes) -> bytes:
    head = [b"HTTP/1.1 " + status, b"content-type: application/json", b"connection: close",
            *extra, b"content-length: " + str(len(doc)).encode()]  # fmt: skip
    return b"\r\n".join(head) + b"\r\n\r\n" + doc


_REFUSE: Final = _answer(b"503 Service Unavailable", _OVER_CAP, b"retry-after: 1")
_BAD_CHUNK: Final = _answer(
    b"400 Bad Request",
    dumps({"status": "error", "error": f"a chunk size line over {MAX_CHUNK_LINE} bytes"}),
)
_TOO_LARGE: Final = _answer(
    b"431 Request Header Fields Too Large",
    dumps(
        {
            "status": "error",
            "error": f"request headers over {MAX_HEADER_BYTES} bytes or {MAX_HEADERS} fields",
        }
    ),
)


def raise_open_file_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit; return (soft, hard) after.

    >>> soft, hard = raise_open_file_limit()
    >>> soft == hard or hard == resource.RLIM_INFINITY
    True
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
    if soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft, hard


def default_per_address(max_connections: int) -> int:
    """A sixteenth of the cap, at least 8: what one client address may hold.

    >>> default_per_address(1024), default_per_address(20)
    (64, 8)
    """
    return max(8, max_connections // 16)


def default_max_connections() -> int:
    """Half the open-file limit, at most 1,024: room for the database, logs and workers.

    >>> 16 <= default_max_connections() <= 1024
    True
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, min(1_024, soft // 2))


class _OneSendPerStep:
    """A connection's transport whose writes of one step of the event loop go out in one
    send: uvicorn writes an answer's head and its body apart, two system calls and two
    packets where one will do.  What is held is sent in a callback at the end of the
    step, or before the connection is closed.  Measured under cProfile, the two sends
    were 11% of the busy event loop of a receiver that stores deliveries.

    Every other call goes to the transport itself.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._held is None:
            self._held = [data]
            self._loop.call_soon(self._flush)
        else:
            self._held.append(data)

    def writelines(self, chunks: Iterable[bytes]) -> None:
        for chunk in chunks:  # held with the rest, in order
            self.write(chunk)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _Guarded(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """The deadlines and the cap, over whichever HTTP protocol uvicorn chose."""

    header_timeout: float = 10.0
    max_connections: int = 1_024
    per_address: int = 64
    refused: int = 0  # connections refused past the cap or the share, for the logs
    by_address: dict[str, int]  # open connections per client address (one dict per class)

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._deadline: asyncio.TimerHandle | None = None
        peer = transport.get_extra_info("peername")
        self._address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        held = self.by_address.get(self._address, 0)
        if len(self.server_state.connections) >= self.max_connections:
            self._over_cap = "too many open connections"
        elif held >= self.per_address:
            self._over_cap = "too many connections from one address"
        else:
            self._over_cap = ""
        if self._over_cap:
            self._refuse(transport)
            return
        self.by_address[self._address] = held + 1
        super().connection_made(_OneSendPerStep(transport, asyncio.get_running_loop()))
        self._seen_cycle: Any = None
        self._head_bytes = 0
        self._head_lines = 0
        self._head_tail = b""
        self._in_head = True
        self._chunked = False
        self._arm()

    def _refuse(self, transport: asyncio.Transport) -> None:
        type(self).refused += 1
        if type(self).refused % 1_000 == 1:
            fields = {"reason": self._over_cap, "max_connections": self.max_connections,
                      "per_address": self.per_address, "refused": type(self).refused}  # fmt: skip
            log.warning("connection refused: %s", self._over_cap, extra={"fields": fields})
        transport.write(_REFUSE)
        transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._over_cap:
            return
        held = self.by_address.get(self._address, 1) - 1
        if held > 0:
            self.by_address[self._address] = held
        else:
            self.by_address.pop(self._address, None)
        self._disarm()
        super().connection_lost(exc)

    def _head_too_large(self, data: bytes) -> bool:
        """Count the bytes and lines of the request head in `data`; True past a limit."""
        seen = self._head_tail + data
        end = seen.find(b"\r\n\r\n")
        head = data if end < 0 else data[: max(end + 4 - len(self._head_tail), 0)]
        self._head_bytes += len(head)
        self._head_lines += head.count(b"\n")
        if b"chunked" in head.lower():  # a Transfer-Encoding header, most likely: watch it
            self._chunked = True
            self._chunk_left = 0
            self._chunk_text = b""
        if self._head_bytes > MAX_HEADER_BYTES or self._head_lines > MAX_HEADERS + 2:
            return True
        if end >= 0:
            self._in_head = False  # the body (if any) follows: the receiver bounds it
            if self._chunked and len(head) < len(data):
                return not self._chunks_ok(data[len(head) :])
        else:
            self._head_tail = seen[-3:]
        return False

    def _chunks_ok(self, data: bytes) -> bool:
        """Follow a chunked body's framing in `data`; False when a size line is too long.

        Only the lengths are followed: h11 still parses and checks the body.
        """
        at = 0
        while at < len(data) and self._chunked:
            if self._chunk_left:
                step = min(self._chunk_left, len(data) - at)
                self._chunk_left -= step
                at += step
                continue
            end = data.find(b"\n", at)
            piece = data[at:] if end < 0 else data[at:end]
            if len(self._chunk_text) + len(piece) > MAX_CHUNK_LINE:
                return False
            self._chunk_text += piece
            if end < 0:
                return True  # the size line goes on in the next packet
            line, self._chunk_text = self._chunk_text, b""
            at = end + 1
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                size = 0  # not framing we follow: h11 answers it
            if size == 0:
                self._chunked = False  # the last chunk (its trailers are h11's), or bad framing
            self._chunk_left = size + 2 if size else 0  # the data and its CRLF
        return True

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            if self._head_too_large(data):
                # Past the head, what failed is the first chunk line in the same packet.
                self._close_with(_TOO_LARGE if self._in_head else _BAD_CHUNK)
                return
        elif self._chunked and not self._chunks_ok(data):
            self._close_with(_BAD_CHUNK)
            return
        super().data_received(data)
        cycle = getattr(self, "cycle", None)
        if cycle is not None and cycle is not self._seen_cycle:
            self._seen_cycle = cycle  # the headers of a new request are complete
            self._disarm()

    def _close_with(self, answer: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._head_bytes = self._head_lines = 0
        self._head_tail = b""
        self._in_head = True
        self._chunked = False
        self._arm()  # the next request's headers have the same deadline and limits

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        cycle = getattr(self, "cycle", None)
        if cycle is not None and cycle is not self._seen_cycle:
            return  # headers just completed in this very callback round
        if cycle is not None and not getattr(cycle, "response_complete", True):
            return  # a request is being answered: the receiver's body deadline rules
        if not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(
    header_timeout: float = 10.0,
    max_connections: int | None = None,
    per_address: int | None = None,
) -> type:
    """The protocol class for ``uvicorn.Config(http=...)``, with these limits.

    ``per_address`` defaults to `default_per_address` of the cap.  Behind a
    reverse proxy every connection comes from the proxy: give it the cap.

    >>> cls = guarded_protocol(header_timeout=5, max_connections=100)
    >>> cls.header_timeout, cls.max_connections, cls.per_address
    (5, 100, 8)
    """
    if header_timeout <= 0:
        raise ValueError(f"header_timeout must be greater than 0, not {header_timeout}")
    cap = default_max_connections() if max_connections is None else max_connections
    if cap < 1:
        raise ValueError(f"max_connections must be at least 1, not {cap}")
    share = default_per_address(cap) if per_address is None else per_address
    if share < 1:
        raise ValueError(f"per_address must be at least 1, not {share}")
    attributes = {"header_timeout": header_timeout, "max_connections": cap,
                  "per_address": min(share, cap), "refused": 0, "by_address": {}}  # fmt: skip
    return type("GuardedHTTPProtocol", (_Guarded,), attributes)
