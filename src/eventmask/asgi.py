"""The webhook receiver, as an ASGI application.

>>> from eventmask import Router
>>> from eventmask.asgi import Receiver
>>> app = Receiver(Router(), secrets=["a-long-shared-secret"])   # inline: no inbox
>>> app.header
'x-channex-webhook-secret'

With a durable inbox (``eventmask.inbox``) the receiver commits each delivery
before it answers, and workers dispatch it: mount it in Starlette or FastAPI,
or run ``eventmask serve`` (docs/receiver.md).  Inside your own app, `mount`
adds it with and without the trailing slash, and `lifespan` (or `running`)
starts its workers (docs/embedding.md).
"""

from ._service.embedding import ASGIApp, lifespan, metrics_app, mount, running
from ._service.receiver import Receiver

__all__ = ["ASGIApp", "Receiver", "lifespan", "metrics_app", "mount", "running"]
