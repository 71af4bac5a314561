"""`opstrack rebuild`: recompute buckets and entity state from the outbox with today's settings."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from services.commands.options import DatabaseUrlOpt, database_error

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def rebuild(
    from_: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="Replay events from this date or time on (ISO; Europe/Stockholm unless it has"
            " an offset), rounded down to its hour. Default: every event.",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask before clearing.")] = False,
    database_url: DatabaseUrlOpt = None,
    batch: Annotated[int, typer.Option(min=1, max=50_000, help="Events per transaction.")] = 5000,
    archive_dir: Annotated[
        Path | None,
        typer.Option(
            "--archive",
            help="Directory of archived months (opstrack archive): those holding events"
            " from --from on are replayed from their files.",
        ),
    ] = None,
) -> None:
    """Replay the outbox through the processors: buckets, tickets, incidents … with current settings.

    Use it after changing short_abandon_seconds, answer_thresholds or the business
    calendar. Readers see partial figures until it ends; a running worker may keep running.
    """
    # Imported here: the store and processor modules would add ~0.6 s to every CLI command.
    from sqlalchemy.engine.url import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from services import client
    from services.core import scrub
    from services.core.periods import STOCKHOLM
    from services.core.timeparse import parse_time
    from services.processor.replay import clear, replay, start_hour
    from services.settings import Settings
    from services.store.archive import ArchiveError
    from services.store.db import from_us, make_engine
    from services.store.migrate import init_db

    settings = Settings() if database_url is None else Settings(database_url=database_url)
    scrub.set_enabled(settings.scrub_personal_data)  # the events are parsed again
    since = None if from_ is None else parse_time(from_, "iso", STOCKHOLM, "earlier")
    hour = start_hour(since)
    where = make_url(settings.database_url).render_as_string(hide_password=True)
    scope = f"from {from_us(hour * 1_000_000):%Y-%m-%d %H:%M} UTC on" if hour else "all"
    if not yes:
        typer.confirm(
            f"Clear the call buckets ({scope}) in {where} and replay the events into them?",
            abort=True,
        )
    engine = make_engine(settings.database_url)
    started = time.perf_counter()
    try:
        init_db(engine)
        with err.status("clearing what the replay recreates …"):
            total = clear(engine, hour, archive_dir)
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
        ) as progress:
            task = progress.add_task("replaying", total=total)
            done = replay(
                engine, settings, hour, batch, lambda n: progress.advance(task, n), archive_dir
            )
    except ArchiveError as exc:
        raise client.ClientError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise client.ClientError(database_error(exc)) from exc
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    out.print(
        f"replayed {done.events:,} events ({scope}) in {seconds:.1f} s: "
        f"{done.applied:,} applied, {done.skipped:,} already applied, {len(done.invalid):,} invalid"
    )
    if done.invalid:
        value, reason = done.invalid[0]
        err.print(
            f"[yellow]first invalid event:[/] {reason}: {value[:200].decode(errors='replace')}"
        )
