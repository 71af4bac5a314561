"""Command-line options shared by the commands that talk to a running opstrack API."""

from __future__ import annotations

from typing import Annotated

import typer

DEFAULT_URL = "http://127.0.0.1:8000"  # where `make run` serves the API
UrlOpt = Annotated[
    str, typer.Option("--url", envvar="OPSTRACK_URL", help="The opstrack API to talk to.")
]
