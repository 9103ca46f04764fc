"""Tests of eventmask._webhooks."""
