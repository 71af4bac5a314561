"""`opstrack simulate`: replay a simulated scenario (by default the seed's 2022) into a stack.

Register it in services/cli.py with:

    from services.commands.simulate import simulate

    app.command()(simulate)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeElapsedColumn

from services.commands.options import DEFAULT_URL, UrlOpt
from services.simulate import SCENARIOS

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def _day(text: str | date) -> date:
    if isinstance(text, date):
        return text  # typer passes the default through the parser too
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date (YYYY-MM-DD)") from None


@dataclass(slots=True)
class Summary:
    by_family: Counter[str] = field(default_factory=Counter)
    accepted: int = 0
    duplicates: int = 0

    @property
    def sent(self) -> int:
        return sum(self.by_family.values())


def simulate(
    scenario: Annotated[
        str, typer.Argument(help=f"The scenario to replay: {', '.join(SCENARIOS)}.")
    ] = "syd-it-2022",
    from_: Annotated[
        date, typer.Option("--from", parser=_day, metavar="YYYY-MM-DD", help="First day.")
    ] = date(2022, 1, 1),
    to: Annotated[
        date, typer.Option(parser=_day, metavar="YYYY-MM-DD", help="Last day (inclusive).")
    ] = date(2022, 12, 31),
    speed: Annotated[
        float | None,
        typer.Option(help="Replay in simulated time, N times faster than real time."),
    ] = None,
    fast: Annotated[
        bool, typer.Option("--fast", help="Send everything as fast as the API takes it (default).")
    ] = False,
    seed: Annotated[int, typer.Option(help="The same seed gives the same events.")] = 2022,
    url: UrlOpt = DEFAULT_URL,
) -> Summary:
    """Replay a simulated year of the seed's IT department: calls, tickets, incidents, changes."""
    from services import client
    from services.core.events import topic_for
    from services.simulate.clock import ONE_DAY, midnight
    from services.simulate.pacing import BATCH, chunks, paced

    generate = SCENARIOS.get(scenario)
    if generate is None:
        raise client.ClientError(
            f"unknown scenario {scenario!r}: known scenarios are {', '.join(sorted(SCENARIOS))}"
        )
    if to < from_:
        raise client.ClientError(f"--to {to} is before --from {from_}")
    if speed is not None and (fast or not speed > 0):
        raise client.ClientError("use either --fast or --speed N with N > 0")
    events = generate(from_, to, seed)
    batches = paced(events, speed) if speed is not None else chunks(events, BATCH)
    lo, hi = midnight(from_).timestamp(), midnight(to + ONE_DAY).timestamp()
    summary = Summary()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        # Progress is simulated time, which is known before the events are.
        task = bar.add_task(f"simulating {scenario}", total=hi - lo)
        for batch in batches:
            sent = client.post_batches(url, list(batch), BATCH)
            summary.accepted += sent.accepted
            summary.duplicates += sent.duplicates
            summary.by_family.update(topic_for(e["type"]) for e in batch)
            last = datetime.fromisoformat(batch[-1]["time"])
            bar.update(
                task,
                completed=last.timestamp() - lo,
                description=f"{last:%Y-%m-%d}: {summary.sent:,} events sent",
            )
    _print(scenario, from_, to, seed, summary)
    return summary


def _print(scenario: str, first: date, last: date, seed: int, s: Summary) -> None:
    families = " · ".join(f"{name} {n:,}" for name, n in sorted(s.by_family.items()))
    out.print(
        f"simulated {scenario} {first}..{last} (seed {seed}): {families or 'no events'}",
        highlight=False,
    )
    out.print(
        f"sent {s.sent:,} events: {s.accepted:,} accepted, {s.duplicates:,} duplicates",
        highlight=False,
    )
