"""Who may send what: bearer tokens, their scopes of event types, webhook signatures.

Pure functions: no database, no clock. A token is `ops_` + 256 random bits; the
store keeps only its SHA-256. A fast unsalted hash is enough here, unlike for
passwords: nobody can guess a 256-bit value, so there is nothing for a slow or
salted hash to slow down, and an unsalted digest can be looked up by index.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from services.core.events import EVENT_MODELS

TOKEN_PREFIX = "ops_"  # noqa: S105 - a marker that makes a leaked token recognisable, no secret
# `*`, a family (`call.*`) or one event type (`ticket.created`).
_SCOPE = re.compile(r"^(\*|[a-z][a-z_]*\.\*|[a-z][a-z_]*\.[a-z][a-z_]*)$")


class ScopeError(ValueError):
    """A scope list that names no event type or is not a scope at all."""


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The hex SHA-256 the store keeps instead of the token (see the module doc for why)."""
    return hashlib.sha256(token.encode()).hexdigest()


# Families of events that opstrack itself produces (the SLA clock's warnings and
# breaches): from outside they would forge or, sent first, suppress the real ones, so
# `*` does not cover them; only a scope naming them does (`sla.*`, `sla.breached`).
INTERNAL_FAMILIES = frozenset({"sla"})


def matches(scope: str, event_type: str) -> bool:
    if scope == event_type:
        return True
    if event_type.split(".", 1)[0] in INTERNAL_FAMILIES:
        return scope.endswith(".*") and event_type.startswith(scope[:-1])
    return scope == "*" or (scope.endswith(".*") and event_type.startswith(scope[:-1]))


# The CloudEvents `source` values a token may send: `*`, a prefix ending in `/*`, or
# one exact source. Sources are URI references, so `/` separates their parts.
_EVENT_SOURCE = re.compile(r"^(\*|[^\s*,]+/\*|[^\s*,]+)$")


def default_event_sources(source: str) -> tuple[str, ...]:
    """What a token of `source` may speak for unless told otherwise: itself and below it."""
    return (source, f"{source}/*")


def parse_event_sources(text: str) -> tuple[str, ...]:
    """`pbx/*,/import/pbx` → its patterns, or ScopeError naming the bad one."""
    patterns = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not patterns:
        raise ScopeError("no event source given: use e.g. asterisk/*, /import/pbx or *")
    for p in patterns:
        if not _EVENT_SOURCE.match(p):
            raise ScopeError(
                f"event source {p!r} is not `*`, a prefix like `pbx/*` or one exact source"
            )
    return patterns


def speaks_for(patterns: Iterable[str], source: str) -> bool:
    """Whether a token with these event-source patterns may send events of `source`."""
    for p in patterns:
        if p in ("*", source) or (p.endswith("/*") and source.startswith(p[:-1])):
            return True
    return False


def foreign(patterns: Iterable[str], sources: Iterable[str]) -> list[str]:
    """The distinct sources these patterns do not allow, sorted."""
    allowed = tuple(patterns)
    return sorted({s for s in sources if not speaks_for(allowed, s)})


def parse_scopes(text: str, known: Iterable[str] = EVENT_MODELS) -> tuple[str, ...]:
    """`call.*,ticket.created` → its scopes; each must name at least one known event type."""
    scopes = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    if not scopes:
        raise ScopeError("no scope given: use e.g. call.*,ticket.* or *")
    types = sorted(known)
    for scope in scopes:
        if not _SCOPE.match(scope):
            raise ScopeError(f"scope {scope!r} is not `*`, a family like `call.*` or an event type")
        if not any(matches(scope, t) for t in types):
            families = sorted({t.split(".", 1)[0] + ".*" for t in types})
            raise ScopeError(
                f"scope {scope!r} matches no event type; families: {', '.join(families)}"
            )
    return scopes


def outside(scopes: Iterable[str], event_types: Iterable[str]) -> list[str]:
    """The distinct event types that no scope allows, sorted."""
    allowed = tuple(scopes)
    return sorted({t for t in event_types if not any(matches(s, t) for s in allowed)})


def hub_signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is `sha1=<hex HMAC-SHA1 of body>`, as Zammad signs its webhooks
    (X-Hub-Signature). Compared in constant time."""
    if not header or not header.startswith("sha1="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha1=").strip().lower())
