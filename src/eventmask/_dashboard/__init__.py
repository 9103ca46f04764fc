"""The operator's page: the inbox in a browser (docs/dashboard.md).

`app.Dashboard` is a pure ASGI application over any `Inbox`.  It reads
with the inbox's own questions (`search`, `timeline`, `stats`...) and acts
only through the inbox's repairs (`retry`, `replay`, `retry_dead_group`), so
the page and ``eventmask inbox`` always agree.
"""
