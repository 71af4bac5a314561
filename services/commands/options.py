"""Command-line options shared by commands: the API to talk to, or the store to open."""

from __future__ import annotations

from typing import Annotated

import typer

DEFAULT_URL = "http://127.0.0.1:8000"  # where `make run` serves the API
UrlOpt = Annotated[
    str, typer.Option("--url", envvar="OPSTRACK_URL", help="The opstrack API to talk to.")
]
DatabaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        "--db",
        envvar="OPSTRACK_DATABASE_URL",
        help="Database URL (SQLite file or postgresql://…).",
    ),
]


def database_error(exc: BaseException) -> str:
    """A store error as one line: the driver's own message, when there is one."""
    cause = getattr(exc, "orig", None) or exc
    return f"database: {str(cause).strip().splitlines()[0]}"
