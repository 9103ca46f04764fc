"""The Channex API: one client and the resources it reads (docs/architecture.md).

Webhooks as code, booking revisions and ARI reads all go through it, so it
is a layer of its own, below routing and everything that calls Channex.
"""
