"""Tests of eventmask._language."""
