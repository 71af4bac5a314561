"""The `opstrack` command line: run the stack, send events, read service levels."""

from __future__ import annotations

import json
import os
import sys
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from services.commands.archive import archive
from services.commands.grafana import grafana_app
from services.commands.hints import Cli, cli_for
from services.commands.notice import notice_app
from services.commands.options import DEFAULT_URL, UrlOpt
from services.commands.rebuild import rebuild
from services.commands.rules import rules
from services.commands.simulate import simulate as simulate_command
from services.commands.token import token_app
from services.sources.asterisk.command import asterisk
from services.sources.csv.command import import_csv

# What a command needs beyond typer is imported inside it (here and in services/commands):
# `opstrack up` starts its API and worker as `python -m services.cli …`, and every
# module imported here is paid for by both before they can serve.
app = typer.Typer(
    name="opstrack",
    help="Live service levels for IT operations: events in, SLIs, metrics and reports out.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
sli_app = typer.Typer(
    help="Read service-level indicators from a running stack.", no_args_is_help=True
)
app.add_typer(sli_app, name="sli")

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
_state = {"debug": False}

WideOpt = Annotated[
    bool,
    typer.Option(
        "--wide", help="The full table with long headers, however wide (else it fits the terminal)."
    ),
]
SCHEMAS_DIR = Path(__file__).resolve().parents[1] / "schemas"


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    _state["debug"] = debug


DbOpt = Annotated[
    str,
    typer.Option(
        "--db", envvar="OPSTRACK_DATABASE_URL", help="Database URL (SQLite file or postgresql://…)."
    ),
]
KafkaOpt = Annotated[
    str | None,
    typer.Option(help="HOST:PORT of an existing Kafka; default: start the embedded broker."),
]
WorkerPortOpt = Annotated[int, typer.Option(help="Port of the processor worker's /metrics.")]
StateDirOpt = Annotated[Path, typer.Option(help="Where logs and worker state go.")]


def _start(
    host: str, port: int, db: str, kafka: str | None, worker_port: int, state_dir: Path, year: int
) -> Any:
    """Start the stack and print where everything is; returns the running stack."""
    from services.stack.supervisor import StackConfig, start

    config = StackConfig(
        host=host,
        port=port,
        worker_port=worker_port,
        database_url=db,
        kafka=kafka,
        state_dir=state_dir,
    )
    with err.status("starting opstrack …") as status:
        stack = start(config, step=lambda s: status.update(f"{s} …"))
    api = stack.api_url
    cli = cli_for(api)
    broker = f"{stack.bootstrap} (embedded Tansu, memory only)" if stack.broker else stack.bootstrap
    out.print(
        f"[bold green]opstrack is up[/]\n"
        f"  API             {api}   (docs: {api}/docs)\n"
        f"  send events     {escape(cli.run('emit', 'events.ndjson'))}   (POST {api}/v1/events)\n"
        f"  service levels  {escape(cli.run('sli', 'calls', '--period', str(year)))}"
        f"   or   {api}/v1/sli/calls?period={year}\n"
        f"  goal report     {escape(cli.run('report', '--period', str(year)))}"
        f"   or   {api}/v1/goals/report?period={year}\n"
        f"  metrics         {api}/metrics (ingest)   {stack.worker_url}/metrics (processor)\n"
        f"  ready           {api}/readyz\n"
        f"  broker          {broker}\n"
        f"  database        {db}\n"
        f"  logs            {stack.log_dir}/\n"
        f"  {_token_line(stack, cli)}",
        highlight=False,
        markup=True,
        soft_wrap=True,  # a command line wraps in the terminal, never with a newline in it
    )
    return stack


def _token_line(stack: Any, cli: Cli) -> str:
    if stack.dev_token_new:
        return _new_token_line(stack.dev_token, stack.config.state_dir)
    if stack.dev_token:
        return "dev token       OPSTRACK_DEV_TOKEN   (send it as OPSTRACK_API_TOKEN)"
    tokens = escape(cli.run("token", "list", "--db", stack.config.database_url, url=False))
    return f"tokens          {tokens}   (send one as OPSTRACK_API_TOKEN)"


def _new_token_line(token: str, state_dir: Path) -> str:
    """A new dev token goes to the terminal only: off a TTY (a log, a pipe) it is
    written to a file only its owner can read, and the output says where."""
    if _stdout_is_terminal():
        return (
            f"dev token       {token}   (source dev, scope *; shown only now)\n"
            f"                export OPSTRACK_API_TOKEN={token}"
        )
    from services.stack.secrets import write_secret

    path = write_secret(state_dir / "dev-token", token)
    return (
        f"dev token       in {path}   (source dev, scope *; readable by you only)\n"
        f'                export OPSTRACK_API_TOKEN="$(cat {path})"'
    )


def _stdout_is_terminal() -> bool:
    # Not rich's is_terminal: FORCE_COLOR makes that true for a file too.
    try:
        return os.isatty(sys.stdout.fileno())
    except (AttributeError, ValueError, OSError):
        return False


def _serve(stack: Any, before_stop: Any = lambda: None) -> None:
    from services.stack.supervisor import run_until_stopped

    out.print("Press Ctrl-C to stop.")
    code = run_until_stopped(stack, say=_say, before_stop=before_stop)
    err.print("opstrack stopped.")
    raise typer.Exit(code)


def _say(message: str) -> None:
    """What the supervisor reports while it runs (a child died, restarted): to stderr, timed."""
    stamp = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    err.print(f"{stamp} {message}", highlight=False, markup=False)


@app.command()
def up(
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8000,
    host: Annotated[str, typer.Option(help="Address the API listens on.")] = "127.0.0.1",
    db: DbOpt = "sqlite:///./opstrack.db",
    kafka: KafkaOpt = None,
    worker_port: WorkerPortOpt = 6066,
    state_dir: StateDirOpt = Path(".opstrack"),
) -> None:
    """Start the embedded stack: broker, database, API and one processor worker."""
    year = datetime.now(tz=UTC).year
    _serve(_start(host, port, db, kafka, worker_port, state_dir, year))


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the HTTP API.")] = 8000,
    db: DbOpt = "sqlite:///./opstrack.db",
    kafka: KafkaOpt = None,
    worker_port: WorkerPortOpt = 6066,
    state_dir: StateDirOpt = Path(".opstrack"),
    seed: Annotated[int, typer.Option(help="The simulation's seed.")] = 2022,
    live: Annotated[
        bool,
        typer.Option(
            help="After 2022, keep simulating today in real time (--no-live: stop sending)."
        ),
    ] = True,
    backfill: Annotated[
        str,
        typer.Option(help="What the live simulation sends at once first: this year or month."),
    ] = "year",
) -> None:
    """`up`, the seed department's January-July 2022 and its goal report, then the department
    live: this year so far at once, then its calls and tickets as they happen."""
    from services.commands.simulate import simulate
    from services.core.periods import STOCKHOLM
    from services.demo import Live, backfill_start, settle, write_report
    from services.stack.supervisor import demo_token

    since = backfill_start(backfill, datetime.now(tz=STOCKHOLM).date())  # bad input before start
    # The demo loads seven months and this year so far (over 200,000 events) at once: at the default
    # 2,000 events/s per source that alone would take 45 s. Its own stack, its own limit.
    os.environ.setdefault("OPSTRACK_RATE_LIMIT", "100000")
    stack = _start("127.0.0.1", port, db, kafka, worker_port, state_dir, 2022)
    try:
        if not os.environ.get("OPSTRACK_API_TOKEN"):
            # The demo's own sending and reading (services.client) use this token.
            os.environ["OPSTRACK_API_TOKEN"] = stack.dev_token or demo_token(db)
        simulate(from_=DEMO_FROM, to=DEMO_TO, fast=True, seed=seed, url=stack.api_url)
        with err.status("waiting for the processors to catch up …"):
            settle(stack.api_url, DEMO_PERIOD)
        path = write_report(stack.api_url, DEMO_PERIOD, state_dir / "report-2022-jan-jul.html")
    except BaseException:
        stack.stop()
        raise
    cli = cli_for(stack.api_url)
    tries = [
        cli.run("sli", "calls", "--period", "2022-T1", "--group-by", "queue"),
        cli.run("sli", "incidents", "--period", "2022-06", "--group-by", "service"),
        cli.run("report", "--period", DEMO_PERIOD),
    ]
    if cli.activate is not None:
        tries.append(f"(or `{cli.activate}` first, then `opstrack …`)")
    out.print(
        f"[bold]Demo data loaded[/]: the seed department's January-July 2022.\n"
        f"  goal report     {path.resolve()}   (also {stack.api_url}/v1/goals/report?period={DEMO_PERIOD})\n"
        f"  try             " + "\n                  ".join(escape(t) for t in tries),
        highlight=False,
        soft_wrap=True,
    )
    if not live:
        _serve(stack)  # never returns: it exits when the stack stops
    feed = Live(stack.api_url, seed, since, say=lambda line: out.print(line, highlight=False))
    month = f"{datetime.now(tz=STOCKHOLM).date():%Y-%m}"
    out.print(
        f"[bold]Live[/]: the department's days since {since} are being sent, then its calls "
        "and tickets as they happen (Europe/Stockholm), until you stop the demo.\n"
        f"  try             {escape(cli.run('sli', 'calls', '--period', month, '--group-by', 'queue'))}",
        highlight=False,
        soft_wrap=True,
    )
    feed.start()
    _serve(stack, feed.stop)


DEMO_FROM, DEMO_TO = date(2022, 1, 1), date(2022, 7, 31)
DEMO_PERIOD = "2022-01-01..2022-07-31"


@app.command()
def api(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Run only the HTTP API (ingest, read API, /metrics); settings from OPSTRACK_* variables."""
    import uvicorn

    from services.api.main import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


@app.command()
def worker(
    loglevel: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run one processor worker (faust); settings from OPSTRACK_* variables."""
    from services.processor.worker import run
    from services.settings import get_settings

    sys.argv = [sys.argv[0]]  # faust's Worker parses argv itself
    run(get_settings(), loglevel)


@app.command()
def emit(
    file: Annotated[
        str, typer.Argument(help="NDJSON file of CloudEvents, one per line; - for stdin.")
    ],
    url: UrlOpt = DEFAULT_URL,
    batch: Annotated[int, typer.Option(min=1, max=10_000, help="Events per request.")] = 500,
) -> None:
    """Send events to a running stack, in batches, with a progress bar."""
    from services import client
    from services.commands.sending import send_with_progress

    if file == "-":
        lines = client.read_ndjson(sys.stdin.buffer)
    else:
        path = Path(file)
        if not path.is_file():
            raise client.ClientError(f"no such file: {file}")
        with path.open("rb") as fh:
            lines = client.read_ndjson(fh)
    values = client.check_lines(lines)
    sent = send_with_progress(url, values, batch, err)
    out.print(
        f"sent {len(values)} events: {sent.accepted} accepted, {sent.duplicates} duplicates"
        + (
            f", {sent.conflicts} conflicts (id already sent with other content)"
            if sent.conflicts
            else ""
        )
    )


@sli_app.command("calls")
def sli_calls(
    period: Annotated[
        str,
        typer.Option(
            help="2022, 2022-T2, 2022-Q3, 2022-07, 2022-W27, 2022-07-15 or 2022-01-01..2022-07-31"
        ),
    ],
    queue: Annotated[str | None, typer.Option(help="Only this queue.")] = None,
    municipality: Annotated[str | None, typer.Option(help="Only this municipality.")] = None,
    group_by: Annotated[
        str | None,
        typer.Option("--group-by", help="queue, municipality, hour or day (comma-separated)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    wide: WideOpt = False,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Call service levels: offered, answered within 20/60 s, abandon rate, ASA."""
    from services import client
    from services.cli_tables import calls_table, show

    params: dict[str, Any] = {
        "period": period,
        "queue": queue,
        "municipality": municipality,
        "group_by": group_by,
    }
    body = client.get_json(url, "/v1/sli/calls", params)
    if as_json:
        out.print_json(json.dumps(body))
    else:
        show(out, calls_table(body, out.width, wide), wide)


@app.command("staffing")
def staffing(
    week: Annotated[str, typer.Option(help="ISO week, e.g. 2022-W36.")],
    queue: Annotated[str | None, typer.Option(help="Only this queue (else all pooled).")] = None,
    target: Annotated[
        float | None, typer.Option(help="Share answered in time (config/staffing.yaml: 0.70).")
    ] = None,
    within: Annotated[int | None, typer.Option(help="Answer-time threshold, s (20).")] = None,
    roster: Annotated[
        Path | None,
        typer.Option(help="CSV of scheduled agents per half hour (date,start,agents)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON.")] = False,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Agents each half hour needs for the target (Erlang C and A), from a running stack;
    with --roster, against those scheduled and the service level they should give."""
    from services import client
    from services.cli_tables_staffing import staffing_table
    from services.core.roster import RosterError, apply_roster, parse_roster

    rostered = None
    if roster is not None:
        try:
            rostered = parse_roster(roster.read_text(encoding="utf-8"))
        except (OSError, RosterError) as exc:
            raise client.ClientError(f"{roster}: {exc}") from None
    params = {"week": week, "queue": queue, "target": target, "within": within}
    body = client.get_json(url, "/v1/staffing", params)
    if rostered is not None:
        body = apply_roster(body, rostered)
    if as_json:
        out.print_json(json.dumps(body))
    else:
        out.print(staffing_table(body))


PeriodOpt = Annotated[
    str,
    typer.Option(
        help="2022, 2022-T2, 2022-Q3, 2022-07, 2022-W27, 2022-07-15 or 2022-01-01..2022-07-31"
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]


def _show(
    title: str,
    path: str,
    params: dict[str, Any],
    url: str,
    as_json: bool,
    wide: bool,
    percent: tuple[str, ...] = (),
) -> None:
    from services import client
    from services.cli_tables import rows_table, show

    body = client.get_json(url, path, params)
    if as_json:
        out.print_json(json.dumps(body))
    else:
        show(out, rows_table(title, body, percent, out.width, wide), wide)


@sli_app.command("tickets")
def sli_tickets(
    period: PeriodOpt,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    priority: Annotated[int | None, typer.Option(min=1, max=4, help="Only this priority.")] = None,
    municipality: Annotated[str | None, typer.Option(help="Only this municipality.")] = None,
    group_by: Annotated[
        str | None,
        typer.Option(
            "--group-by", help="category, priority, municipality or day (comma-separated)."
        ),
    ] = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Tickets created and resolved; handling time in hours (mean, median, p90), pauses excluded."""
    params = {
        "period": period,
        "category": category,
        "priority": priority,
        "municipality": municipality,
        "group_by": group_by,
    }
    _show("Tickets", "/v1/sli/tickets", params, url, as_json, wide)


@sli_app.command("incidents")
def sli_incidents(
    period: PeriodOpt,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    group_by: Annotated[str | None, typer.Option("--group-by", help="service or severity.")] = None,
    municipality: Annotated[
        str | None, typer.Option(help="Only incidents that touched this municipality.")
    ] = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Incidents opened and resolved, MTTA, MTTR; downtime and availability per service."""
    params = {
        "period": period,
        "service": service,
        "group_by": group_by,
        "municipality": municipality,
    }
    _show("Incidents", "/v1/sli/incidents", params, url, as_json, wide, percent=("availability",))


@sli_app.command("changes")
def sli_changes(
    period: PeriodOpt,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    group_by: Annotated[str | None, typer.Option("--group-by", help="service.")] = None,
    as_json: JsonOpt = False,
    wide: WideOpt = False,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Changes implemented, change-freeze violations, incidents during freezes."""
    params = {"period": period, "service": service, "group_by": group_by}
    _show("Changes", "/v1/sli/changes", params, url, as_json, wide)


import_app = typer.Typer(help="Import events from other systems' files.", no_args_is_help=True)
app.add_typer(import_app, name="import")
import_app.command("csv")(import_csv)
import_app.command("asterisk")(asterisk)
app.command()(simulate_command)
app.add_typer(grafana_app, name="grafana")
app.command("rules")(rules)
app.add_typer(token_app, name="token")
app.command("rebuild")(rebuild)
app.command("archive")(archive)
app.add_typer(notice_app, name="notice")


indicator_app = typer.Typer(help="Indicator values that no stream computes.", no_args_is_help=True)
app.add_typer(indicator_app, name="indicator")


@indicator_app.command("set")
def indicator_set(
    indicator: Annotated[str, typer.Argument(help="The indicator's id in config/goals.yaml.")],
    value: Annotated[str, typer.Argument(help="7,29 % or 0.0729, -1412, 71, ja/nej.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="The date it was measured (default today).")
    ] = None,
    forecast: Annotated[
        str | None, typer.Option(help="A forecast (prognos) for the period end.")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """Enter a measured value (sick leave, staff survey, budget deviation …) for the goal report."""
    from services import client
    from services.core.values import parse_value

    day = date.fromisoformat(as_of) if as_of else datetime.now(tz=UTC).date()
    known = [i["id"] for i in client.goal_indicators(url)]
    if indicator not in known:
        raise client.ClientError(
            f"unknown indicator {indicator!r}: the goals file has {', '.join(known)}"
        )
    data: dict[str, Any] = {
        "indicator": indicator,
        "value": parse_value(value),
        "as_of": day.isoformat(),
    }
    if forecast is not None:
        data["forecast"] = parse_value(forecast)
    event = {
        "specversion": "1.0",
        "id": f"indicator-{indicator}-{uuid.uuid4()}",  # a new measurement, not a repeat
        "source": "opstrack/cli",
        "type": "indicator.measured",
        "time": datetime.now(tz=UTC).isoformat(),
        "data": data,
    }
    client.post_batches(url, [event], 1)
    out.print(
        f"{indicator} = {data['value']} as of {day}"
        + (f", forecast {data['forecast']}" if forecast else "")
    )


@app.command()
def report(
    period: PeriodOpt,
    lang: Annotated[str, typer.Option(help="sv or en.")] = "sv",
    fmt: Annotated[str, typer.Option("--format", help="html, md, json or xlsx.")] = "md",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write to this file (required for xlsx).")
    ] = None,
    url: UrlOpt = DEFAULT_URL,
) -> None:
    """The goal report (MER): nuvärde, prognos, målvärde and status of every indicator."""
    from services import client

    if fmt == "xlsx" and output is None:
        raise client.ClientError("an xlsx report needs -o FILE")
    with err.status("building the report …"):
        body = client.get_bytes(
            url, "/v1/goals/report", {"period": period, "lang": lang, "format": fmt}
        )
    if output is None:
        sys.stdout.write(body.decode())
    else:
        output.write_bytes(body)
        err.print(f"wrote {output} ({len(body):,} bytes)")


@app.command()
def schemas(
    check: Annotated[
        bool, typer.Option("--check", help="Fail if the files differ from the models.")
    ] = False,
    directory: Annotated[
        Path, typer.Option("--dir", help="Where the schema files live.")
    ] = SCHEMAS_DIR,
) -> None:
    """Write schemas/<type>.json from the event models (or check them for drift)."""
    from services import client
    from services.core.events import EVENT_MODELS, json_schema

    stale = []
    for event_type in sorted(EVENT_MODELS):
        text = json.dumps(json_schema(event_type), indent=2, ensure_ascii=False) + "\n"
        path = directory / f"{event_type}.json"
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.name)
        if not check:
            path.write_text(text)
    if check and stale:
        raise client.ClientError(
            f"schemas out of date: {', '.join(stale)} (run `opstrack schemas`)"
        )
    out.print(
        f"{len(EVENT_MODELS)} schemas {'checked' if check else 'written'}; {len(stale)} changed"
    )


def _user_error(exc: Exception) -> bool:
    """An error to show in one line; imported only when one happens (see `app`)."""
    from services.client import ClientError
    from services.config import ConfigError
    from services.core.grouping import GroupError
    from services.core.periods import PeriodError
    from services.stack.broker import BrokerError
    from services.stack.supervisor import StackError

    known = (ClientError, StackError, BrokerError, PeriodError, GroupError, ConfigError)
    return isinstance(exc, (*known, ValueError, OSError))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if _state["debug"] or not _user_error(exc):
            raise
        # Escaped: a message may hold brackets, e.g. "opstrack[embedded]".
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
