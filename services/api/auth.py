"""Who is calling: bearer tokens on ingest (and on reads when `auth_read`), scopes, rate.

401 without a valid token (with `WWW-Authenticate: Bearer`), 403 naming the event
types outside the token's scopes, 429 with `Retry-After` over the source's rate.
The token itself is never logged or echoed: only its source and id are named.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from services.core.auth import foreign, hub_signature_valid, outside, speaks_for
from services.core.ratelimit import Limit, RateLimiter, retry_after_header
from services.settings import Settings
from services.store import tokens
from services.store.db import now_us

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="opstrack"'}
SIGNATURE_HEADER = "x-hub-signature"


@dataclass(frozen=True, slots=True)
class Caller:
    source: str
    scopes: tuple[str, ...]
    rate: float | None = None  # None: the settings' rate_limit
    event_sources: tuple[str, ...] = ("*",)  # CloudEvents sources it may send
    # A webhook that came with a signature instead of a token: the route checks it
    # against the body (it cannot be checked before the body is read).
    signed_by: str | None = None


def startup(app: FastAPI, engine: Engine, settings: Settings) -> None:
    """Make sure the configured dev token exists; give the app its rate limiter."""
    if settings.dev_token is not None:
        with engine.begin() as conn:
            tokens.ensure(conn, settings.dev_token.get_secret_value(), "dev", ("*",))
    app.state.limiter = RateLimiter(time.monotonic)


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers=CHALLENGE)


# Declared as a security scheme, so /docs has an "Authorize" button; a missing or
# non-Bearer header gives None here and the 401 below, with its reason.
_BEARER = HTTPBearer(auto_error=False, description="A token from `opstrack token create`.")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]


async def _token_caller(request: Request, token: str) -> Caller:
    engine: Engine = request.app.state.engine

    def look_up() -> tokens.TokenInfo | None:
        with engine.begin() as conn:
            info = tokens.find(conn, token)
            if info is not None and tokens.stale(info, now_us()):
                tokens.touch(conn, info.id)
            return info

    info = await run_in_threadpool(look_up)
    if info is None:
        raise unauthorized("the bearer token is not valid (unknown or revoked)")
    return Caller(info.source, info.scopes, info.rate, info.event_sources)


async def token_caller(request: Request, credentials: Credentials) -> Caller:
    """The caller of an ingest endpoint, by its bearer token."""
    if credentials is None:
        raise unauthorized("a bearer token is required: Authorization: Bearer <token>")
    return await _token_caller(request, credentials.credentials)


async def webhook_caller(source: str, request: Request, credentials: Credentials) -> Caller:
    """A ticket webhook's caller: a bearer token, or the source's HMAC signature."""
    if credentials is not None:
        return await _token_caller(request, credentials.credentials)
    settings: Settings = request.app.state.settings
    if source in settings.webhook_secrets and SIGNATURE_HEADER in request.headers:
        return Caller(source, ("ticket.*",), event_sources=(source,), signed_by=source)
    raise unauthorized(
        "a bearer token is required: Authorization: Bearer <token>"
        + (", or an X-Hub-Signature" if source in settings.webhook_secrets else "")
    )


def check_signature(request: Request, caller: Caller, body: bytes) -> None:
    """401 unless a signed caller's X-Hub-Signature is the HMAC of this body."""
    if caller.signed_by is None:
        return
    settings: Settings = request.app.state.settings
    secret = settings.webhook_secrets[caller.signed_by].get_secret_value()
    if not hub_signature_valid(secret, body, request.headers.get(SIGNATURE_HEADER)):
        raise unauthorized(f"the X-Hub-Signature does not match the body ({caller.signed_by})")


async def read_caller(request: Request) -> None:
    """Reads are open unless `auth_read` is set; then any valid token will do.

    Not through `_BEARER`: that would mark every read as needing a token in the
    OpenAPI document, which by default they do not."""
    settings: Settings = request.app.state.settings
    if settings.auth_read:
        await token_caller(request, await _BEARER(request))


IngestCaller = Annotated[Caller, Depends(token_caller)]
WebhookCaller = Annotated[Caller, Depends(webhook_caller)]
READ_ACCESS = Depends(read_caller)


def webhook_refused(caller: Caller, webhook: str) -> JSONResponse | None:
    """403 unless the caller speaks for this webhook: a token of source `zammad` (or one
    whose event sources name it) may post to the zammad webhook, and no other."""
    if speaks_for(caller.event_sources, webhook):
        return None
    detail = (
        f"the token of source {caller.source!r} may not post to the {webhook} webhook "
        f"(it speaks for: {','.join(caller.event_sources)}); nothing was stored"
    )
    return JSONResponse({"detail": detail, "forbidden_sources": [webhook]}, status_code=403)


def admit(
    request: Request,
    caller: Caller,
    event_types: list[str],
    count: int | None = None,
    event_sources: Sequence[str] = (),
) -> JSONResponse | None:
    """The 403/413/429 answer for `count` events (by default one per type given) of
    these types and CloudEvents sources from this caller, or None to go ahead."""
    count = len(event_types) if count is None else count
    strangers = foreign(caller.event_sources, event_sources)
    if strangers:
        detail = (
            f"source: the token of source {caller.source!r} may not send events of source "
            f"{', '.join(map(repr, strangers[:10]))} (it speaks for: "
            f"{','.join(caller.event_sources)}); nothing was stored"
        )
        return JSONResponse(
            {"detail": detail, "forbidden_sources": strangers[:100]}, status_code=403
        )
    forbidden = outside(caller.scopes, event_types)
    if forbidden:
        detail = (
            f"the token of source {caller.source!r} may not send {', '.join(forbidden)} "
            f"(its scopes: {','.join(caller.scopes)}); nothing was stored"
        )
        return JSONResponse({"detail": detail, "forbidden_types": forbidden}, status_code=403)
    settings: Settings = request.app.state.settings
    limiter: RateLimiter = request.app.state.limiter
    rate = caller.rate or settings.rate_limit
    limit = Limit(rate, rate * settings.rate_burst_seconds)
    decision = limiter.take(caller.source, limit, count)
    if decision.too_big:
        detail = (
            f"{count} events at once are over the burst of {limit.burst:.0f} "
            f"of source {caller.source!r}: send smaller batches"
        )
        return JSONResponse({"detail": detail}, status_code=413)
    if not decision.allowed:
        detail = (
            f"source {caller.source!r} is over its rate of {rate:g} events/s; nothing was stored"
        )
        headers = {"Retry-After": retry_after_header(decision.retry_after)}
        return JSONResponse({"detail": detail}, status_code=429, headers=headers)
    return None


# The answers every ingest endpoint may add to its own, for the OpenAPI document.
RESPONSES: dict[int | str, dict[str, object]] = {
    401: {"description": "No bearer token, or not a valid one"},
    403: {
        "description": "Event types outside the token's scopes, or sources it does not "
        "speak for; they are listed"
    },
    429: {"description": "Over the source's rate limit; see Retry-After (seconds)"},
}
