"""Bearer tokens in the store: created, looked up by hash, listed, revoked (deleted)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import Connection, select

from services.core.auth import default_event_sources, new_token, token_hash
from services.store.db import insert_for, now_us
from services.store.tables import ApiToken

TOKENS = ApiToken.__table__  # type: ignore[attr-defined]
# `last used` is written at most this often per token, not on every request.
TOUCH_EVERY_US = 60_000_000


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    source: str
    scopes: tuple[str, ...]
    rate: float | None
    created_at_us: int
    last_used_at_us: int | None
    event_sources: tuple[str, ...] = ()  # the CloudEvents sources it may send


def _sources(value: str | None, source: str) -> tuple[str, ...]:
    return tuple(value.split(",")) if value else default_event_sources(source)


def _info(row: object) -> TokenInfo:
    r = row._mapping  # type: ignore[attr-defined]
    return TokenInfo(
        id=r["id"],
        source=r["source"],
        scopes=tuple(r["scopes"].split(",")),
        rate=r["rate"],
        created_at_us=r["created_at_us"],
        last_used_at_us=r["last_used_at_us"],
        event_sources=_sources(r["event_sources"], r["source"]),
    )


def create(
    conn: Connection,
    source: str,
    scopes: tuple[str, ...],
    rate: float | None = None,
    token: str | None = None,
    event_sources: tuple[str, ...] | None = None,
) -> tuple[TokenInfo, str]:
    """A new token (random unless given); returns it in clear this once, with its row.
    Without `event_sources` it may send events of its own source and below it."""
    token = token or new_token()
    stored = ",".join(event_sources) if event_sources else None
    info = TokenInfo(_new_id(), source, scopes, rate, now_us(), None, _sources(stored, source))
    conn.execute(
        TOKENS.insert().values(
            id=info.id,
            token_hash=token_hash(token),
            source=source,
            scopes=",".join(scopes),
            rate=rate,
            created_at_us=info.created_at_us,
            event_sources=stored,
        )
    )
    return info, token


def _new_id() -> str:
    return "tok_" + secrets.token_hex(4)


def ensure(
    conn: Connection,
    token: str,
    source: str,
    scopes: tuple[str, ...],
    event_sources: tuple[str, ...] = ("*",),
) -> bool:
    """Make sure `token` exists (the configured dev token), with these event sources;
    True if it was added now."""
    exists = select(TOKENS.c.id).where(TOKENS.c.token_hash == token_hash(token))
    if conn.execute(exists).first() is not None:
        # A store from before event sources: the dev token keeps speaking for all.
        conn.execute(
            TOKENS.update()
            .where(TOKENS.c.token_hash == token_hash(token))
            .values(event_sources=",".join(event_sources))
        )
        return False
    ins = insert_for(conn.dialect.name, TOKENS).values(
        id=_new_id(),
        token_hash=token_hash(token),
        source=source,
        scopes=",".join(scopes),
        rate=None,
        created_at_us=now_us(),
        event_sources=",".join(event_sources),
    )
    # Two API processes starting together both try: the second one's insert is a no-op.
    result = conn.execute(ins.on_conflict_do_nothing(index_elements=["token_hash"]))
    return bool(result.rowcount)


def find(conn: Connection, token: str) -> TokenInfo | None:
    row = conn.execute(select(TOKENS).where(TOKENS.c.token_hash == token_hash(token))).first()
    return None if row is None else _info(row)


def touch(conn: Connection, token_id: str) -> None:
    conn.execute(TOKENS.update().where(TOKENS.c.id == token_id).values(last_used_at_us=now_us()))


def stale(info: TokenInfo, now: int) -> bool:
    """Whether the token's `last used` is old enough to be written again."""
    return info.last_used_at_us is None or now - info.last_used_at_us >= TOUCH_EVERY_US


def all_tokens(conn: Connection) -> list[TokenInfo]:
    rows = conn.execute(select(TOKENS).order_by(TOKENS.c.source, TOKENS.c.created_at_us))
    return [_info(r) for r in rows]


def any_token(conn: Connection) -> bool:
    return conn.execute(select(TOKENS.c.id).limit(1)).first() is not None


def revoke(conn: Connection, token_id: str | None = None, source: str | None = None) -> int:
    """Delete one token by id, or every token of a source; returns how many went."""
    if token_id is not None:
        where = TOKENS.c.id == token_id
    elif source is not None:
        where = TOKENS.c.source == source
    else:
        raise ValueError("revoke needs a token id or a source")
    return int(conn.execute(TOKENS.delete().where(where)).rowcount)
