"""Routing: notifications to handlers, and streams through a mask.

Modules: `payloads` and `notification` (what a handler receives), `routes`
(the values routing produces), `index` (the compiled index), `router`
(`Router`), `filter` and `inputs` (streams).  Routing reads notifications
through `eventmask._envelope` and masks through the mask language; it knows
nothing of webhooks, the inbox or HTTP.
"""
