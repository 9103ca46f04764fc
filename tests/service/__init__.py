"""Tests of eventmask._service."""
