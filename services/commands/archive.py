"""`opstrack archive`: move whole months of the outbox to compressed files (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.commands.options import DatabaseUrlOpt, database_error

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def archive(
    before: Annotated[
        str,
        typer.Option(
            "--before",
            help="Archive the months before this one (YYYY-MM; months of when the API"
            " received the events, UTC).",
        ),
    ],
    to: Annotated[
        Path,
        typer.Option("--to", help="Directory for the files (outbox-YYYY-MM.jsonl.gz); must exist."),
    ],
    database_url: DatabaseUrlOpt = None,
) -> None:
    """Export each month before --before to a file, read it back, then drop it from the outbox.

    A month with events not yet published or applied is left alone (and the command
    stops there). `opstrack rebuild --archive DIR` replays archived months.
    """
    # Imported here: the store modules would add to every CLI command's start.
    from sqlalchemy.exc import SQLAlchemyError

    from services import client
    from services.processor.replay import REPLAYED
    from services.settings import Settings
    from services.store import archive as store_archive
    from services.store.db import make_engine
    from services.store.migrate import init_db

    settings = Settings() if database_url is None else Settings(database_url=database_url)
    try:
        month = store_archive.parse_month(before)
    except store_archive.ArchiveError as exc:
        raise client.ClientError(f"--before: {exc}") from exc
    engine = make_engine(settings.database_url)
    try:
        init_db(engine)
        done = store_archive.archive(engine, to, month, REPLAYED)
    except store_archive.ArchiveError as exc:
        raise client.ClientError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise client.ClientError(database_error(exc)) from exc
    finally:
        engine.dispose()
    for a in done:
        out.print(f"{a.month}: {a.events:,} events to {to / a.file}")
    if not done:
        out.print(f"nothing to archive before {store_archive.label(month)}")
