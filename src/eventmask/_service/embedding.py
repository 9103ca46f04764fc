"""Putting a `Receiver` inside someone else's app: FastAPI, Starlette, any ASGI router.

Two things go wrong when a receiver is mounted (docs/embedding.md):

- Starlette's ``Mount("/channex", app)`` matches ``/channex/...`` only; a
  POST to ``/channex`` itself gets a 307 to ``/channex/``, which Channex
  does not follow.  `mount` adds the receiver at both.
- A mounted app gets no lifespan events, so nothing would start its inbox
  workers or flush its last refusal counts.  `lifespan` and `running` do.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from .receiver import Receiver
from .responses import Receive, Scope, Send
from .worker import Worker

__all__ = ["ASGIApp", "lifespan", "metrics_app", "mount", "running"]


ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _AtMountPoint:
    """The mounted app, called for the mount point itself (no trailing slash)."""

    def __init__(self, inner: ASGIApp, prefix: str) -> None:
        self.inner = inner
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # As a Mount would: the prefix moves into root_path, the path stays whole.
        inner = {**scope, "root_path": scope.get("root_path", "") + self.prefix}
        await self.inner(inner, receive, send)


def metrics_app() -> ASGIApp:
    """prometheus_client's ASGI app for the default registry, typed, to `mount` at ``/metrics``.

    The receiver's and the workers' counters are in that registry, beside
    the app's own.  Needs prometheus_client (``pip install
    'eventmask[metrics]'``); without it, an ImportError that says so.

    >>> from starlette.applications import Starlette
    >>> app = Starlette()
    >>> mount(app, "/metrics", metrics_app())
    >>> [route.path for route in app.routes]
    ['/metrics', '/metrics']
    """
    try:
        from prometheus_client import make_asgi_app
    except ImportError as exc:
        raise ImportError(
            "metrics need prometheus_client: pip install 'eventmask[metrics]'", name=exc.name
        ) from exc
    served: ASGIApp = make_asgi_app()
    return served


def mount(app: Any, path: str, receiver: Receiver | ASGIApp) -> None:
    """Mount `receiver` at `path` in a Starlette or FastAPI `app`, with and without the slash.

    Deliveries then arrive at ``path`` and ``path/``; health answers at
    ``path/health``.  Equivalent to ``app.mount(path, receiver)`` plus a
    route for ``path`` itself, so Channex's callback URL needs no trailing
    slash.  Any ASGI app mounts the same way: ``mount(app, "/metrics",
    metrics_app())`` answers ``/metrics`` without the 307 that ``app.mount``
    gives it.

    >>> from starlette.applications import Starlette
    >>> from eventmask import Router
    >>> app = Starlette()
    >>> mount(app, "/channex", Receiver(Router(), secrets=["a-long-shared-secret"]))
    >>> [route.path for route in app.routes]
    ['/channex', '/channex']
    """
    prefix = "/" + path.strip("/")
    if prefix == "/":
        raise ValueError("mount a receiver under a path such as '/channex', not at '/'")
    app.mount(prefix, receiver)
    app.add_route(prefix, _AtMountPoint(receiver, prefix), include_in_schema=False)


@contextlib.asynccontextmanager
async def running(receiver: Receiver, workers: int = 1) -> AsyncGenerator[list[Worker], None]:
    """Run `workers` inbox worker threads for `receiver` while the block runs.

    What a receiver's own lifespan does under ``eventmask serve``, for a
    receiver mounted in an app whose lifespan you write yourself: the
    ``on_startup`` and ``on_shutdown`` hooks run, the workers start and, on
    exit, finish the batch in hand and give back what they claimed; the
    last refusal counts are written.  In inline mode (no inbox) no worker
    starts.

    >>> import asyncio
    >>> from eventmask import Router
    >>> async def main() -> int:
    ...     async with running(Receiver(Router(), secrets=["a-long-shared-secret"])) as started:
    ...         return len(started)
    >>> asyncio.run(main())
    0
    """
    if workers < 0:
        raise ValueError(f"workers must be 0 or more, not {workers}")
    if receiver.on_startup is not None:
        receiver.on_startup()
    receiver.started = True
    started: list[Worker] = []
    try:
        if receiver.inbox is not None:
            for _ in range(workers):
                started.append(Worker(receiver.inbox, receiver.router).start())
        yield started
    finally:
        # Stopped together, off the event loop: each finishes the batch in hand.
        await asyncio.gather(*(asyncio.to_thread(worker.stop) for worker in started))
        receiver.flush()
        if receiver.on_shutdown is not None:
            receiver.on_shutdown()


def lifespan(
    receiver: Receiver, workers: int = 1
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """A lifespan for ``FastAPI(lifespan=...)`` or ``Starlette(lifespan=...)`` that runs `running`.

    >>> from starlette.applications import Starlette
    >>> from eventmask import Router
    >>> receiver = Receiver(Router(), secrets=["a-long-shared-secret"])
    >>> app = Starlette(lifespan=lifespan(receiver, workers=2))
    """

    @contextlib.asynccontextmanager
    async def _lifespan(app: Any) -> AsyncGenerator[None, None]:
        async with running(receiver, workers):
            yield

    return _lifespan
