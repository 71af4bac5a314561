"""`opstrack import asterisk`: send an Asterisk queue_log's calls to a running stack.

Register it in services/cli.py with:

    from services.sources.asterisk.command import asterisk

    import_app = typer.Typer(help="Import events from other systems.", no_args_is_help=True)
    app.add_typer(import_app, name="import")
    import_app.command("asterisk")(asterisk)
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TimeRemainingColumn

from services.commands.options import DEFAULT_URL, UrlOpt

if TYPE_CHECKING:  # imported when the command runs: the importer brings an HTTP client
    from services.sources.asterisk.follow import ImportProgress, ImportSummary

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

SHOWN_SKIPPED = 20


def asterisk(
    file: Annotated[
        Path, typer.Argument(help="The queue_log file, e.g. /var/log/asterisk/queue_log.")
    ],
    url: UrlOpt = DEFAULT_URL,
    queues: Annotated[
        Path | None,
        typer.Option(
            help="YAML file mapping each queue to its municipality"
            " (default: queues.yaml in OPSTRACK_CONFIG_DIR, i.e. config/queues.yaml)."
        ),
    ] = None,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep following the file as Asterisk writes it, through log rotation;"
            " a restarted follower goes on where the last one stopped. Stop with Ctrl-C.",
        ),
    ] = False,
    state_dir: Annotated[
        Path, typer.Option(help="Where --follow keeps its place in the file.")
    ] = Path(".opstrack/asterisk"),
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Events per request.")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Import phone-queue calls from an Asterisk queue_log (caller numbers are never sent)."""
    from services.client import ClientError
    from services.sources.asterisk.follow import import_file

    if queues is None:
        from services.settings import get_settings

        queues = get_settings().config_dir / "queues.yaml"
    if not follow and not file.is_file():
        raise ClientError(f"no such file: {file}")
    stop = threading.Event()
    with (
        Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar,
        _stop_on_signals(stop) if follow else _nothing(),
    ):
        task = bar.add_task(f"reading {file.name}", total=None)
        summary = import_file(
            file,
            url,
            queues,
            follow,
            state_dir,
            lambda p: _show(bar, task, p),
            batch=batch,
            stop=stop,
        )
    if as_json:
        out.print_json(json.dumps(summary.as_dict()))
    else:
        _print(summary)


def _show(bar: Progress, task: TaskID, p: ImportProgress) -> None:
    if p.waiting:
        what = f"following {p.file}: {p.events:,} events sent, waiting for new lines"
    else:
        what = f"reading {p.file}: {p.events:,} events sent"
    bar.update(task, description=what, completed=p.done_bytes, total=p.total_bytes)


def _print(s: ImportSummary) -> None:
    for note in s.notes:
        err.print(f"[yellow]note:[/] {note}", highlight=False)
    if s.skipped:
        err.print(f"[yellow]{len(s.skipped)} line(s) skipped:[/]", highlight=False)
        for k in s.skipped[:SHOWN_SKIPPED]:
            err.print(f"  {k.file} line {k.line}: {k.reason}", highlight=False)
        if len(s.skipped) > SHOWN_SKIPPED:
            err.print(f"  … and {len(s.skipped) - SHOWN_SKIPPED} more (--json lists all)")
    if s.unmapped_queues:
        err.print(
            f"[yellow]queues not in the queues file[/] (imported with municipality"
            f' "unknown"): {", ".join(s.unmapped_queues)}',
            highlight=False,
        )
    out.print(
        f"read {_n(s.lines, 'line')}: sent {_n(s.events, 'event')}:"
        f" {s.accepted:,} accepted, {s.duplicates:,} duplicates;"
        f" {_n(len(s.skipped), 'line')} skipped; {_n(s.pending_stays, 'call')} still in a queue",
        highlight=False,
    )


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM ends a follower cleanly: its place is saved, its summary shown."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield  # signals reach only the main thread; the caller sets `stop` itself
        return
    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@contextmanager
def _nothing() -> Iterator[None]:
    yield
