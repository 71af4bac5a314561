"""`opstrack grafana …`: push the dashboards (and incidents) to Grafana, regenerate the files.

Register it in services/cli.py with:

    from services.commands.grafana import grafana_app

    app.add_typer(grafana_app, name="grafana")
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.commands.options import DEFAULT_URL

# The dashboards' builders and the Grafana client are imported by the commands that
# use them: at module level they would cost every `opstrack` process (API, worker) ~1 s.

grafana_app = typer.Typer(
    help="Grafana dashboards for opstrack's metrics: push them, or regenerate their files.",
    no_args_is_help=True,
)
out = Console(soft_wrap=True)


@grafana_app.command()
def push(
    url: Annotated[
        str, typer.Option("--url", envvar="GRAFANA_URL", help="Grafana's base URL.")
    ] = "http://127.0.0.1:3000",
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="GRAFANA_TOKEN",
            # Never echo the token: not in --help, not in messages.
            show_default=False,
            show_envvar=True,
            help="A Grafana service account token (Editor); or set GRAFANA_TOKEN.",
        ),
    ] = None,
    folder_uid: Annotated[
        str | None,
        typer.Option("--folder-uid", help="Put the dashboards in this folder (default: General)."),
    ] = None,
    annotate_incidents: Annotated[
        bool,
        typer.Option(
            "--annotate-incidents",
            help="Also mark each incident (opened to resolved) as an annotation.",
        ),
    ] = False,
    api: Annotated[
        str,
        typer.Option(
            "--api",
            envvar="OPSTRACK_URL",
            help="The opstrack API: where incidents are read and the dashboards' links point.",
        ),
    ] = DEFAULT_URL,
    period: Annotated[
        str | None,
        typer.Option(help="Only incidents overlapping this period (e.g. 2022, 2022-T2)."),
    ] = None,
) -> None:
    """Create or replace opstrack's dashboards in Grafana (by uid), optionally with incidents."""
    from services.client import ClientError
    from services.core.periods import PeriodError, parse_period
    from services.observability.grafana_push import push as push_to_grafana
    from services.observability.grafana_push import shown

    if not token:
        raise ClientError("no Grafana token: pass --token or set GRAFANA_TOKEN")
    if period and not annotate_incidents:
        raise ClientError("--period picks the incidents to annotate: add --annotate-incidents")
    try:
        within = parse_period(period) if period else None
    except PeriodError as exc:
        raise ClientError(str(exc)) from None
    summary = push_to_grafana(
        url,
        token,
        opstrack_url=api,
        folder_uid=folder_uid,
        annotate=annotate_incidents,
        period=within,
    )
    out.print(
        f"pushed {len(summary.dashboards)} dashboards to Grafana at {shown(url)}", highlight=False
    )
    for link in summary.dashboards:
        out.print(f"  {link}", highlight=False)
    if annotate_incidents:
        out.print(
            f"incident annotations: {summary.added} added, {summary.updated} updated,"
            f" {summary.unchanged} already there",
            highlight=False,
        )


@grafana_app.command()
def dashboards(
    check: Annotated[
        bool, typer.Option("--check", help="Fail if the files differ from the code.")
    ] = False,
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Where the dashboard files live (default: deploy/grafana/dashboards)."
        ),
    ] = None,
) -> None:
    """Write deploy/grafana/dashboards/*.json from the dashboards' code (or check for drift)."""
    from services.client import ClientError
    from services.observability.dashboards import BUILDERS, DASHBOARDS_DIR, write_all

    changed = write_all(directory or DASHBOARDS_DIR, check=check)
    if check and changed:
        raise ClientError(
            f"dashboards out of date: {', '.join(changed)} (run `opstrack grafana dashboards`)"
        )
    out.print(
        f"{len(BUILDERS)} dashboards {'checked' if check else 'written'}; {len(changed)} changed"
    )
