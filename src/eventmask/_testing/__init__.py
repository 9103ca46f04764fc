"""The testing kit: notification builders, Channex-like delivery, a harness, pytest fixtures.

Public through `eventmask.testing` (docs/testing.md).
"""
