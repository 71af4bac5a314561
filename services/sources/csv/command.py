"""`opstrack import csv`: a CSV export → checked events → a running stack, all or nothing.

Register it in services/cli.py, on the same `import` group as the other importers:

    from services.sources.csv.command import import_csv

    import_app = typer.Typer(help="Import events from other systems.", no_args_is_help=True)
    app.add_typer(import_app, name="import")
    import_app.command("csv")(import_csv)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.commands.options import DEFAULT_URL, UrlOpt
from services.sources.csv.mapping import Kind

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def import_csv(
    file: Annotated[Path, typer.Argument(help="The CSV file: one call, ticket or incident a row.")],
    kind: Annotated[
        Kind, typer.Option("--kind", help="What the rows are: calls, tickets or incidents.")
    ],
    mapping: Annotated[
        Path,
        typer.Option("--mapping", help="The mapping YAML (see config/mappings/): column → field."),
    ],
    url: UrlOpt = DEFAULT_URL,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Events per request.")] = 500,
) -> None:
    """Import a CSV export: every row is checked before anything is sent; re-importing counts nothing twice."""
    from services import client
    from services.commands.sending import send_with_progress
    from services.sources.csv.read import load_spec, prepare

    spec = load_spec(mapping)
    if spec.kind != kind:
        raise client.ClientError(f"{mapping} maps {spec.kind}, not {kind} (see --kind)")
    with err.status(f"checking {file} …"):
        rows, events = prepare(file, spec)
    sent = send_with_progress(url, list(events), batch, err)
    out.print(
        f"imported {rows} rows as {len(events)} events: "
        f"{sent.accepted} accepted, {sent.duplicates} duplicates"
    )
