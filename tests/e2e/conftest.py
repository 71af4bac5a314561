"""Fixtures of the end-to-end tests."""

from tests.e2e.stack import up  # noqa: F401  (the fixture)
