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
  answered 503 and closed at once, before anything is read.

The body deadline is the receiver's (it answers 408).  docs/receiver.md,
"Facing the internet", has the figures and what a proxy in front must still do.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any, Final

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .._json import dumps

__all__ = ["default_max_connections", "guarded_protocol", "raise_open_file_limit"]

log = logging.getLogger("eventmask.receiver")

_OVER_CAP: Final = dumps({"status": "error", "error": "too many connections; retry"})
_REFUSE: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n"
    b"connection: close\r\nretry-after: 1\r\ncontent-length: "
    + str(len(_OVER_CAP)).encode()
    + b"\r\n\r\n"
    + _OVER_CAP
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


def default_max_connections() -> int:
    """Half the open-file limit, at most 1,024: room for the database, logs and workers.

    >>> 16 <= default_max_connections() <= 1024
    True
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, min(1_024, soft // 2))


class _Guarded(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """The deadlines and the cap, over whichever HTTP protocol uvicorn chose."""

    header_timeout: float = 10.0
    max_connections: int = 1_024
    refused: int = 0  # connections refused past the cap, for the logs

    def connection_made(self, transport: asyncio.Transport) -> None:
        self._deadline: asyncio.TimerHandle | None = None
        self._over_cap = len(self.server_state.connections) >= self.max_connections
        if self._over_cap:
            type(self).refused += 1
            if type(self).refused % 1_000 == 1:
                log.warning(
                    "connection refused: too many open connections",
                    extra={"fields": {"max_connections": self.max_connections,
                                      "refused": type(self).refused}},
                )  # fmt: skip
            transport.write(_REFUSE)
            transport.close()
            return
        super().connection_made(transport)
        self._seen_cycle: Any = None
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._over_cap:
            return
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        cycle = getattr(self, "cycle", None)
        if cycle is not None and cycle is not self._seen_cycle:
            self._seen_cycle = cycle  # the headers of a new request are complete
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()  # the next request's headers have the same deadline

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


def guarded_protocol(header_timeout: float = 10.0, max_connections: int | None = None) -> type:
    """The protocol class for ``uvicorn.Config(http=...)``, with these limits.

    >>> cls = guarded_protocol(header_timeout=5, max_connections=100)
    >>> cls.header_timeout, cls.max_connections
    (5, 100)
    """
    if header_timeout <= 0:
        raise ValueError(f"header_timeout must be greater than 0, not {header_timeout}")
    cap = default_max_connections() if max_connections is None else max_connections
    if cap < 1:
        raise ValueError(f"max_connections must be at least 1, not {cap}")
    return type(
        "GuardedHTTPProtocol",
        (_Guarded,),
        {"header_timeout": header_timeout, "max_connections": cap, "refused": 0},
    )
