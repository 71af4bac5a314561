"""schemathesis against the API's own OpenAPI schema, served by uvicorn with its real store
(SQLite and PostgreSQL) and the real embedded broker.

For every operation (ingest, webhooks, read endpoints) it generates requests that fit
the documented schema and requests that break it, sent with a valid bearer token. No
answer may be a 5xx, and every 4xx must say why (`detail`), naming the field where a
field is at fault. The number of examples is bounded so the run takes well under a minute.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Err, Ok

from services.settings import Settings
from services.stack.broker import EmbeddedBroker
from tests.integration.conftest import serving

pytestmark = pytest.mark.integration

TOKEN = "schemathesis-dev-token"  # noqa: S105 (a test's own token)
AUTH = {"Authorization": f"Bearer {TOKEN}"}


EXAMPLES = 8  # per operation and generation mode (valid, then invalid requests)


# The API's own threads (kafka-python's backoff jitter in the relay) use `random` while
# Hypothesis draws a case in this process; Hypothesis takes that for the strategy's.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_no_server_errors_and_every_rejection_says_why(db_url: str, broker: EmbeddedBroker) -> None:
    config = Settings(
        database_url=db_url,
        kafka_bootstrap=broker.bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:12]}-",
        dev_token=TOKEN,
    )
    failures: list[str] = []
    counts: Counter[str] = Counter()
    with serving(config) as url, httpx.Client(base_url=url, timeout=30) as client:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        results = list(schema.get_all_operations())
        # An operation schemathesis cannot read is an Err: named here, not an AttributeError.
        assert not [r.err() for r in results if isinstance(r, Err)]
        operations = [r.ok() for r in results if isinstance(r, Ok)]
        assert len(operations) >= 10, [op.label for op in operations]
        runs: list[tuple[Any, GenerationMode, dict[str, str]]] = [
            (op, mode, {}) for op in operations for mode in GenerationMode
        ]
        # A random source names no mapping (404): also send to the shipped ones.
        webhook = next(op for op in operations if "{source}" in op.label)
        runs += [(webhook, GenerationMode.POSITIVE, {"source": s}) for s in ("zammad", "glpi")]
        for op, mode, path in runs:
            try:
                _run(op, mode, path, client, counts)
            except Unsatisfiable:
                pass  # nothing to break: no parameters and no body
            except Exception as exc:  # collected: one run reports every operation's failure
                # Hypothesis reports a failure that did not repeat as a group of one.
                inner = getattr(exc, "exceptions", [exc])
                failures.append(f"{op.label} ({mode.value}): " + "; ".join(map(str, inner)))
        # Generated reads mostly break a rule the schema cannot say (a period over
        # the span limit, month 13), so whether one of them succeeds is chance: a
        # read the test knows to be valid must succeed, on the same store.
        known = client.get("/v1/sli/calls", params={"period": "2022", "group_by": "queue"})
        assert known.status_code == 200, known.text
    assert not failures, "\n\n".join(failures)
    # The run reached the store: some generated events were valid and accepted.
    assert counts["POST /v1/events 202"] > 0, counts
    print(sorted(counts.items()))


def _send(case: Any, client: httpx.Client) -> httpx.Response:
    """The case's request, sent with httpx.

    Not `case.call()`: its requests transport counts urllib3's pools, which fails
    with the urllib3-future that grafana-client's niquests installs in its place.
    """
    kw = case.as_transport_kwargs(base_url=str(client.base_url), headers=AUTH)
    # Valid requests carry the valid token, whatever was generated for the header;
    # invalid ones may go with a generated one (a 401 is then the right answer).
    headers = dict(kw["headers"]) | (AUTH if case.meta.generation.mode.is_positive else {})
    content = kw.get("data")
    if "json" in kw:
        content = json.dumps(kw["json"]).encode()
        headers.setdefault("Content-Type", case.media_type or "application/json")
    return client.request(
        kw["method"], kw["url"], params=kw.get("params"), headers=headers, content=content
    )


def _run(
    op: Any, mode: GenerationMode, path: dict[str, str], client: httpx.Client, counts: Counter[str]
) -> None:
    # Most generated events break some rule the schema cannot say (a subject that is
    # not the entity id, a time outside 1900-2999): more tries to store a few.
    valid_events = op.label == "POST /v1/events" and mode is GenerationMode.POSITIVE

    @settings(
        max_examples=EXAMPLES * 4 if valid_events else EXAMPLES,
        deadline=None,
        database=None,
        # No shrinking: on this schema it takes minutes; the first failing request,
        # printed as curl, is what one needs.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),  # slow requests, filtered cases
    )
    @given(case=op.as_strategy(generation_mode=mode, path_parameters=path or None))
    def check(case: Any) -> None:
        response = _send(case, client)
        counts[" ".join([op.label, *path.values(), str(response.status_code)])] += 1
        repro = case.as_curl_command(headers=AUTH)
        # /readyz answers 503 by design while no worker runs (none does here).
        not_ready = op.label == "GET /readyz" and response.status_code == 503
        assert response.status_code < 500 or not_ready, (
            f"{response.status_code} {response.text[:500]}\n{repro}"
        )
        if not 400 <= response.status_code < 500:
            return
        body = response.json()
        assert body.get("detail"), f"{response.status_code} without a detail: {body}\n{repro}"
        if response.status_code == 422:
            assert _names_a_field(body, case), f"422 naming no field: {body}\n{repro}"

    check()


def _names_a_field(body: dict[str, Any], case: Any) -> bool:
    """A 422 names what is wrong: each listed error has a location or field, or the
    detail names one of the request's parameters."""
    detail = body["detail"]
    if isinstance(detail, list):  # FastAPI's own request validation
        return all(e.get("loc") for e in detail)
    if "errors" in body:  # ingest: each bad event or alert by index and field
        return all(e.get("field") for e in body["errors"])
    params = {**(case.query or {}), **(case.path_parameters or {})}
    return any(str(detail).startswith(f"{name}: ") for name in params)
