"""The service: receiving webhooks (HTTP -> envelope -> inbox) and working the inbox.

Modules: `receiver` (`Receiver`, the ASGI application) and `worker`
(`Worker`, inbox -> router).  They sit over the inbox and the router and are
what `eventmask serve` and `eventmask worker` run.
"""
