"""Webhook configuration: validating a webhook body, and comparing it with what exists.

Modules: `validation` (`validate_webhook`, Channex's 422 shape) and
`existing` (reading ``GET /api/v1/webhooks``, the overlap report).
"""
