"""The webhook receiver, as an ASGI application.

>>> from eventmask import Router
>>> from eventmask.asgi import Receiver
>>> app = Receiver(Router(), secrets=["a-long-shared-secret"])   # inline: no inbox
>>> app.header
'x-channex-webhook-secret'

With a durable inbox (``eventmask.inbox``) the receiver commits each delivery
before it answers, and workers dispatch it: mount it in Starlette or FastAPI,
or run ``eventmask serve`` (docs/receiver.md).
"""

from ._service.receiver import Receiver

__all__ = ["Receiver"]
