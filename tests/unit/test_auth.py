"""Access control's pure parts: scopes, token hashing, webhook signatures, the rate limiter."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.auth import (
    ScopeError,
    foreign,
    hub_signature_valid,
    matches,
    new_token,
    outside,
    parse_event_sources,
    parse_scopes,
    speaks_for,
    token_hash,
)
from services.core.contracts.envelope import dedup_key
from services.core.ratelimit import Bucket, Limit, RateLimiter, retry_after_header, take

KNOWN = ("call.queued", "call.answered", "ticket.created", "ticket.closed", "incident.opened")


# --- scopes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "event_type", "expected"),
    [
        ("*", "call.queued", True),
        ("call.*", "call.queued", True),
        ("call.*", "callx.queued", False),  # a family is the part before the dot, not a prefix
        ("call.*", "ticket.created", False),
        ("ticket.created", "ticket.created", True),
        ("ticket.created", "ticket.closed", False),
        # opstrack's own SLA events: `*` does not grant them, naming them does.
        ("*", "sla.breached", False),
        ("*", "sla.warning", False),
        ("sla.*", "sla.breached", True),
        ("sla.breached", "sla.breached", True),
        ("sla.breached", "sla.warning", False),
    ],
)
def test_scope_matches(scope: str, event_type: str, expected: bool) -> None:
    assert matches(scope, event_type) is expected


def test_scopes_are_parsed_trimmed_and_deduplicated() -> None:
    assert parse_scopes(" call.* , ticket.created,call.*", KNOWN) == ("call.*", "ticket.created")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no scope given"),
        (" , ", "no scope given"),
        ("cal.*", "'cal.*' matches no event type"),
        ("ticket.opened", "'ticket.opened' matches no event type"),
        ("call*", "'call*' is not"),
        ("call.**", "'call.**' is not"),
        ("c?ll.*", "'c?ll.*' is not"),
    ],
)
def test_bad_scopes_are_named(text: str, says: str) -> None:
    with pytest.raises(ScopeError) as caught:
        parse_scopes(text, KNOWN)
    assert says in str(caught.value)


def test_outside_lists_each_type_no_scope_allows_once_sorted() -> None:
    types = ["ticket.created", "call.queued", "incident.opened", "call.queued", "ticket.closed"]
    assert outside(("call.*", "ticket.created"), types) == ["incident.opened", "ticket.closed"]
    assert outside(("*",), types) == []


# --- tokens ----------------------------------------------------------------------------


# --- event sources ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "source", "expected"),
    [
        (("*",), "pbx/askersund", True),
        (("pbx/*",), "pbx/askersund", True),
        (("pbx/*",), "pbx/a/b", True),
        (("pbx/*",), "pbx", False),  # the prefix's own name is not below it
        (("pbx/*",), "pbxx/askersund", False),  # a prefix ends at its slash
        (("pbx",), "pbx", True),
        (("pbx",), "pbx/askersund", False),
        (("slowsrc", "slowsrc/*"), "pbx/askersund", False),
        (("/import/*",), "/import/pbx", True),
        ((), "anything", False),
    ],
)
def test_speaks_for(patterns: tuple[str, ...], source: str, expected: bool) -> None:
    assert speaks_for(patterns, source) is expected


def test_foreign_lists_each_source_not_allowed_once_sorted() -> None:
    sources = ["pbx/b", "slowsrc", "pbx/a", "pbx/b", "zammad"]
    assert foreign(("slowsrc",), sources) == ["pbx/a", "pbx/b", "zammad"]


def test_event_sources_are_parsed_and_bad_ones_named() -> None:
    assert parse_event_sources(" pbx/* , /import/pbx,pbx/*,* ") == ("pbx/*", "/import/pbx", "*")
    for bad in ("", " , ", "pb*x", "pbx/*/x*", "a b"):
        with pytest.raises(ScopeError):
            parse_event_sources(bad)


# --- dedup keys -------------------------------------------------------------------------


@given(st.text(min_size=1), st.text(min_size=1), st.text(min_size=1), st.text(min_size=1))
def test_dedup_key_tells_every_other_source_id_pair_apart(
    s1: str, i1: str, s2: str, i2: str
) -> None:
    # Equal exactly for the same pair; ("a", "bc") and ("ab", "c") are two pairs.
    assert (dedup_key(s1, i1) == dedup_key(s2, i2)) is ((s1, i1) == (s2, i2))
    assert len(dedup_key(s1, i1)) == 64  # fits the 200-character id columns


def test_dedup_key_splits_no_pair_two_ways() -> None:
    assert dedup_key("a", "bc") != dedup_key("ab", "c")
    assert dedup_key("1:a", "b") != dedup_key("1", ":ab")


def test_new_tokens_are_long_random_and_recognisable() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    for t in tokens:
        assert t.startswith("ops_")
        assert len(t) >= 4 + 43  # 32 random bytes in URL-safe base64


def test_token_hash_is_the_sha256_hex_and_not_the_token() -> None:
    token = "ops_example"  # noqa: S105 - a test value
    assert token_hash(token) == hashlib.sha256(b"ops_example").hexdigest()
    assert token not in token_hash(token)


# --- Zammad's X-Hub-Signature ---------------------------------------------------------


def test_hub_signature_is_the_sha1_hmac_of_the_body() -> None:
    body, secret = b'{"ticket": {"id": 1}}', "s3cret"
    good = "sha1=" + hmac.new(b"s3cret", body, "sha1").hexdigest()
    assert hub_signature_valid(secret, body, good)
    assert hub_signature_valid(secret, body, good.upper().replace("SHA1=", "sha1="))
    assert not hub_signature_valid(secret, body + b" ", good)
    assert not hub_signature_valid("other", body, good)
    assert not hub_signature_valid(secret, body, good.removeprefix("sha1="))
    assert not hub_signature_valid(secret, body, None)
    assert not hub_signature_valid(secret, body, "")


# --- the token bucket ------------------------------------------------------------------


def test_a_new_bucket_is_full_and_a_batch_costs_its_events() -> None:
    limit = Limit(rate=10, burst=50)
    bucket, d = take(None, limit, 30, now=100.0)
    assert d.allowed and bucket == Bucket(20, 100.0)
    bucket, d = take(bucket, limit, 20, now=100.0)
    assert d.allowed and bucket.level == 0


def test_over_the_limit_the_wait_is_the_refill_time_of_the_missing_events() -> None:
    limit = Limit(rate=10, burst=50)
    bucket, _ = take(None, limit, 45, now=0.0)  # 5 left
    bucket, d = take(bucket, limit, 30, now=1.0)  # 5 + 10 refilled = 15; 15 missing → 1.5 s
    assert not d.allowed and d.retry_after == pytest.approx(1.5)
    assert bucket.level == pytest.approx(15)  # a refusal takes nothing
    bucket, d = take(bucket, limit, 30, now=2.5)  # 15 + 15 = 30
    assert d.allowed and bucket.level == pytest.approx(0)


def test_the_bucket_never_holds_more_than_the_burst() -> None:
    limit = Limit(rate=10, burst=50)
    bucket, _ = take(None, limit, 50, now=0.0)
    bucket, d = take(bucket, limit, 1, now=1_000.0)
    assert d.allowed and bucket.level == pytest.approx(49)


def test_a_clock_going_back_refills_nothing() -> None:
    limit = Limit(rate=10, burst=50)
    bucket, _ = take(None, limit, 50, now=10.0)
    bucket, d = take(bucket, limit, 1, now=5.0)
    assert not d.allowed and d.retry_after == pytest.approx(0.1)


def test_a_request_over_the_burst_can_never_pass() -> None:
    limit = Limit(rate=10, burst=50)
    bucket, d = take(None, limit, 51, now=0.0)
    assert not d.allowed and d.too_big
    assert bucket.level == 50  # and it took nothing


def test_the_limiter_keeps_one_bucket_per_source_on_its_clock() -> None:
    now = [0.0]
    limiter = RateLimiter(lambda: now[0])
    limit = Limit(rate=100, burst=100)
    assert limiter.take("asterisk", limit, 100).allowed
    assert not limiter.take("asterisk", limit, 1).allowed
    assert limiter.take("zammad", limit, 100).allowed  # its own bucket
    now[0] = 0.5
    assert limiter.take("asterisk", limit, 50).allowed
    d = limiter.take("asterisk", limit, 50)
    assert not d.allowed and d.retry_after == pytest.approx(0.5)


@pytest.mark.parametrize(("seconds", "header"), [(0.0, "1"), (0.01, "1"), (1.0, "1"), (1.2, "2")])
def test_retry_after_is_whole_seconds_at_least_one(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header
