"""Tests of eventmask._cli."""
