"""Tests of eventmask._inbox."""
