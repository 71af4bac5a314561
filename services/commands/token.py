"""`opstrack token create | list | revoke`: the bearer tokens of the ingest API.

They are kept in the database (only their SHA-256), so these commands talk to it
directly, like `opstrack up`, not to a running API. Registered in services/cli.py:

    app.add_typer(token_app, name="token")
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

# The store, the database drivers and the HTTP client are imported by each command,
# not here: every `opstrack` process (API, worker) imports this module.
token_app = typer.Typer(
    help="Bearer tokens of the ingest API: one or more per source.", no_args_is_help=True
)

_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

DbOpt = Annotated[
    str,
    typer.Option(
        "--db", envvar="OPSTRACK_DATABASE_URL", help="Database URL (SQLite file or postgresql://…)."
    ),
]


@token_app.command("create")
def create(
    source: Annotated[str, typer.Option(help="Who sends with it: asterisk, zammad, glpi …")],
    scope: Annotated[
        str,
        typer.Option(help="Event types it may send: call.*,ticket.*, ticket.created or *."),
    ],
    rate: Annotated[
        float | None,
        typer.Option(min=0.001, help="Events/s for this source (default: OPSTRACK_RATE_LIMIT)."),
    ] = None,
    event_source: Annotated[
        str | None,
        typer.Option(
            help="CloudEvents sources it may send: asterisk/*, /import/pbx or * "
            "(default: the source's own name and NAME/*); also the webhooks it may post to."
        ),
    ] = None,
    db: DbOpt = "sqlite:///./opstrack.db",
) -> None:
    """Create a token and print it, once: only its hash is kept."""
    from services.client import ClientError
    from services.core.auth import ScopeError, parse_event_sources, parse_scopes
    from services.store import tokens
    from services.store.db import make_engine
    from services.store.migrate import init_db

    if not _SOURCE.match(source):
        raise ClientError(f"source {source!r}: use letters, digits, '.', '_' or '-'")
    try:
        scopes = parse_scopes(scope)
        sources = parse_event_sources(event_source) if event_source is not None else None
    except ScopeError as exc:
        raise ClientError(str(exc)) from None
    engine = make_engine(db)
    try:
        init_db(engine)
        with engine.begin() as conn:
            info, token = tokens.create(conn, source, scopes, rate, event_sources=sources)
    finally:
        engine.dispose()
    err.print(
        f"created {info.id} for source {source!r}, scopes {','.join(scopes)},"
        f" event sources {','.join(info.event_sources)}"
        f"{f', {rate:g} events/s' if rate else ''}. The token is shown only now:",
        highlight=False,
    )
    # Alone on stdout, so that `TOKEN=$(opstrack token create …)` captures just it.
    print(token)


@token_app.command("list")
def list_tokens(
    db: DbOpt = "sqlite:///./opstrack.db",
    wide: Annotated[bool, typer.Option("--wide", help="One line per token, however wide.")] = False,
) -> None:
    """Every token's id, source, scopes, rate, when created and last used (never the token)."""
    from services.cli_tables import show, tokens_table
    from services.store import tokens
    from services.store.db import make_engine
    from services.store.migrate import init_db

    engine = make_engine(db)
    try:
        init_db(engine)
        with engine.begin() as conn:
            rows = tokens.all_tokens(conn)
    finally:
        engine.dispose()
    if not rows:
        out.print("no tokens (create one with `opstrack token create`)")
        return
    cells = [
        [
            t.id,
            t.source,
            ",".join(t.scopes),
            ",".join(t.event_sources),
            f"{t.rate:g}/s" if t.rate else "default",
            _when(t.created_at_us),
            _when(t.last_used_at_us) if t.last_used_at_us else "never",
        ]
        for t in rows
    ]
    show(out, tokens_table(cells, out.width, wide), wide)


@token_app.command("revoke")
def revoke(
    token_id: Annotated[
        str | None, typer.Argument(help="The token's id (see `token list`).")
    ] = None,
    source: Annotated[str | None, typer.Option(help="Revoke every token of this source.")] = None,
    db: DbOpt = "sqlite:///./opstrack.db",
) -> None:
    """Revoke one token by id, or all of a source's: they are refused from the next request."""
    from services.client import ClientError
    from services.store import tokens
    from services.store.db import make_engine
    from services.store.migrate import init_db

    if (token_id is None) == (source is None):
        raise ClientError("name a token id or --source, not both")
    engine = make_engine(db)
    try:
        init_db(engine)
        with engine.begin() as conn:
            gone = tokens.revoke(conn, token_id=token_id, source=source)
    finally:
        engine.dispose()
    what = f"token {token_id}" if token_id else f"tokens of source {source!r}"
    if not gone:
        raise ClientError(f"no {what} (see `opstrack token list`)")
    out.print(f"revoked {gone} {'token' if gone == 1 else 'tokens'} ({what})", highlight=False)


def _when(us: int | None) -> str:
    if us is None:
        return ""
    return datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M")
