"""Starlette's TestClient for the integration tests, without its warning about plain httpx.

starlette warns on importing its test client with plain httpx (it wants httpx2), and
again when a test makes a client; the warning is about the test tool, not opstrack,
so it is silenced for the tests that use the client only: they import TestClient
from here and put QUIET_TESTCLIENT in their pytestmark.
"""

from __future__ import annotations

import warnings

import pytest

HTTPX_WARNING = "Using `httpx` with `starlette.testclient` is deprecated"
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=HTTPX_WARNING)
    from fastapi.testclient import TestClient

QUIET_TESTCLIENT = pytest.mark.filterwarnings(
    f"ignore:{HTTPX_WARNING}:starlette.exceptions.StarletteDeprecationWarning"
)

__all__ = ["HTTPX_WARNING", "QUIET_TESTCLIENT", "TestClient"]
