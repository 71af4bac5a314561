"""`/` says where to go; /docs and /redoc work with no internet (every file served locally)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from services.stack.broker import EmbeddedBroker
from tests.conftest import AUTH
from tests.integration.test_api import running, settings_for
from tests.integration.testclient import QUIET_TESTCLIENT, TestClient

pytestmark = [pytest.mark.integration, QUIET_TESTCLIENT]

EXTERNAL = re.compile(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", re.IGNORECASE)
# src= and href= of a page: what a browser fetches (or offers) from it.
REFERENCED = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""")
# The URLs the inline script of Swagger UI / ReDoc loads.
SCRIPT_URLS = re.compile(r"""(?:url|spec-url)\s*[:=]\s*['"]([^'"]+)['"]""")


@pytest.fixture
def client(sqlite_url: str, broker: EmbeddedBroker) -> Iterator[TestClient]:
    with running(settings_for(sqlite_url, broker.bootstrap)) as c:
        yield c


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_api_reference_loads_only_files_the_api_serves(client: TestClient, page: str) -> None:
    answer = client.get(page, headers={"accept": "text/html"})
    assert answer.status_code == 200
    html = answer.text
    assert not EXTERNAL.findall(html), f"{page} refers to another host"
    urls = REFERENCED.findall(html) + SCRIPT_URLS.findall(html)
    assert "/openapi.json" in urls
    scripts = [u for u in urls if u.endswith(".js")]
    assert scripts, f"{page} loads no script"
    for url in urls:
        got = client.get(url)
        assert got.status_code == 200, f"{page} refers to {url}, which answers {got.status_code}"
        assert len(got.content) > 1000, url  # the real file, not an error page
    assert client.get("/openapi.json").json()["info"]["title"] == "opstrack"


def test_the_docs_need_no_token_even_when_reads_do(sqlite_url: str, broker: EmbeddedBroker) -> None:
    settings = settings_for(sqlite_url, broker.bootstrap, auth_read=True)
    with running(settings) as c:
        no_token = {"authorization": ""}
        for path in ("/", "/docs", "/redoc", "/openapi.json"):
            assert c.get(path, headers=no_token).status_code == 200, path
        assert c.get("/v1/goals", headers=no_token).status_code == 401


def test_home_in_a_browser_links_the_docs_readiness_and_metrics(client: TestClient) -> None:
    answer = client.get("/", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    links = REFERENCED.findall(answer.text)
    assert {"/docs", "/redoc", "/readyz", "/metrics"} <= set(links)
    for link in links:
        assert client.get(link).status_code in (200, 503), link  # readyz: 503 until a worker runs


def test_home_for_a_program_is_json_with_the_same_links(client: TestClient) -> None:
    for accept in ("application/json", "*/*"):
        answer = client.get("/", headers={"accept": accept, **AUTH})
        assert answer.headers["content-type"] == "application/json"
        body = answer.json()
        assert body["name"] == "opstrack"
        assert {"docs", "redoc", "openapi", "ready", "health", "metrics"} <= set(body["links"])
        assert body["links"]["ready"] == "/readyz"
        assert body["links"]["metrics"] == "/metrics"
