"""Tests of eventmask._routing."""
