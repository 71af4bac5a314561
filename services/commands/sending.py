"""Posting a list of events to the API with a progress bar (emit, import csv)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

if TYPE_CHECKING:
    from services import client


def send_with_progress(url: str, values: list[object], batch: int, console: Console) -> client.Sent:
    from services import client

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("sending", total=len(values))
        return client.post_batches(url, values, batch, lambda n: progress.advance(task, n))
