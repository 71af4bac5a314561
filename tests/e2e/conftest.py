"""Fixtures of the end-to-end tests."""

from tests.e2e.stack import on_broker, up  # noqa: F401  (the fixtures)
