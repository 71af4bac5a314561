"""The public status page and its feeds: no token, ever (they show public notices only).

GET /status[/<municipality>]                  HTML, ?lang=en for English
GET /status[/<municipality>]/summary.json     Statuspage's /api/v2/summary.json shape
GET /status[/<municipality>]/feed.atom        Atom (RFC 4287) of the notices
GET /status[/<municipality>]/planned.ics      iCalendar (RFC 5545) of planned work

The feeds carry ETag and Last-Modified and answer 304 to a matching conditional GET.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.datastructures import Default
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Engine

from services.api.deps import CatalogDep, EngineDep
from services.core.catalog import Catalog
from services.core.changes import ChangeState
from services.core.incidents import IncidentState
from services.core.status import StatusView, status_view
from services.status.config import StatusConfig
from services.status.feeds import atom_feed, ics_calendar, summary_json
from services.status.page import PageLinks, render_page
from services.status.texts import slug
from services.store import changes, incidents

router = APIRouter(tags=["status"])
LangQuery = Query("sv", description="sv (default) or en")
FEED_TOPICS = ("incidents", "changes")  # what the page is made of


def _config(request: Request) -> StatusConfig:
    config: StatusConfig = request.app.state.status_config
    return config


def _municipality(catalog: Catalog, place: str | None) -> str | None:
    if place is None:
        return None
    for m in sorted({m for s in catalog.e_services() for m in s.municipalities}):
        if place in (m, slug(m)):
            return m
    raise HTTPException(404, f"no e-services for municipality {place!r}")


async def _view(
    request: Request, engine: EngineDep, catalog: Catalog, place: str | None
) -> tuple[StatusView, bool]:
    config = _config(request)
    municipality = _municipality(catalog, place)
    now = datetime.now(UTC)
    since_us = int((now - timedelta(days=config.history_days)).timestamp() * 1_000_000)
    now_us = int(now.timestamp() * 1_000_000) + 1

    def query() -> tuple[list[IncidentState], list[ChangeState]]:
        with engine.connect() as conn:
            return incidents.overlapping(conn, since_us, now_us), changes.with_notice(
                conn, since_us
            )

    found, work = await run_in_threadpool(query)
    view = status_view(
        catalog, found, work, now, municipality, config.planned_days, config.history_days
    )
    return view, _delayed(request, now, config)


def _delayed(request: Request, now: datetime, config: StatusConfig) -> bool:
    """Whether an incident or change event accepted more than the configured minutes
    ago is still unapplied, or the pipeline watch has not looked for that long."""
    watch = getattr(request.app.state, "pipeline_watch", None)
    limit_us = int((now.timestamp() - config.delayed_after_minutes * 60) * 1_000_000)
    if watch is None:
        return False  # an app whose lifespan has not run has no watch: nothing to tell
    if watch.refreshed_at_us is None or watch.refreshed_at_us < limit_us:
        return True
    settings = request.app.state.settings
    topics = {settings.topic(t) for t in FEED_TOPICS}
    return any(at < limit_us for topic, at in watch.oldest_us.items() if topic in topics)


def _page_url(request: Request, config: StatusConfig, municipality: str | None) -> str:
    """The page's absolute URL, for the feeds' links."""
    base = (config.base_url or str(request.base_url)).rstrip("/")
    return base + _page_path(municipality)


def _page_path(municipality: str | None) -> str:
    return "/status" if municipality is None else f"/status/{slug(municipality)}"


def _cached(request: Request, body: bytes, media_type: str, modified: datetime) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Last-Modified": format_datetime(modified.astimezone(UTC), usegmt=True),
        "Cache-Control": "public, max-age=30",
    }
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = {t.strip().removeprefix("W/") for t in match.split(",")}
        if etag in tags or "*" in tags:
            return Response(status_code=304, headers=headers)
    elif (since := _http_date(request.headers.get("if-modified-since"))) is not None and (
        modified.replace(microsecond=0) <= since
    ):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None  # an unreadable date is ignored, as RFC 9110 13.1.3 says
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


async def _page(
    request: Request, engine: EngineDep, catalog: Catalog, place: str | None, lang: str
) -> HTMLResponse:
    view, delayed = await _view(request, engine, catalog, place)
    links = PageLinks(base=_page_path(view.municipality))
    html = render_page(view, catalog, _config(request), lang, links, delayed)
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


async def _summary(
    request: Request, engine: EngineDep, catalog: Catalog, place: str | None, lang: str
) -> Response:
    view, delayed = await _view(request, engine, catalog, place)
    config = _config(request)
    url = _page_url(request, config, view.municipality)
    body = orjson.dumps(summary_json(view, catalog, config, lang, url, delayed))
    return _cached(request, body, "application/json", view.last_modified)


async def _atom(
    request: Request, engine: EngineDep, catalog: Catalog, place: str | None, lang: str
) -> Response:
    view, _ = await _view(request, engine, catalog, place)
    config = _config(request)
    page = _page_url(request, config, view.municipality)
    feed = f"{page}/feed.atom" + ("?lang=en" if lang == "en" else "")
    body = atom_feed(view, catalog, config, lang, page, feed)
    return _cached(request, body, "application/atom+xml; charset=utf-8", view.last_modified)


async def _ics(
    request: Request, engine: EngineDep, catalog: Catalog, place: str | None, lang: str
) -> Response:
    view, _ = await _view(request, engine, catalog, place)
    config = _config(request)
    page = _page_url(request, config, view.municipality)
    body = ics_calendar(view, catalog, config, lang, page)
    return _cached(request, body, "text/calendar; charset=utf-8", view.last_modified)


Lang = Literal["sv", "en"]


Feed = Callable[[Request, Engine, Catalog, str | None, str], Awaitable[Response]]
Endpoint = Callable[..., Awaitable[Response]]


def _every(feed: Feed) -> Endpoint:
    async def endpoint(
        request: Request, engine: EngineDep, catalog: CatalogDep, lang: Lang = LangQuery
    ) -> Response:
        return await feed(request, engine, catalog, None, lang)

    return endpoint


def _one(feed: Feed) -> Endpoint:
    async def endpoint(
        request: Request,
        engine: EngineDep,
        catalog: CatalogDep,
        municipality: str,
        lang: Lang = LangQuery,
    ) -> Response:
        return await feed(request, engine, catalog, municipality, lang)

    return endpoint


# The page and each feed: path after /status[/<municipality>], what answers, the
# routes' names (every municipality, one) and the page's descriptions.
_FEEDS: tuple[tuple[str, Feed, tuple[str, str], tuple[str, str]], ...] = (
    (
        "",
        _page,
        ("status_page", "municipality_page"),
        (
            "The public status page of every municipality's e-services.",
            "The status page of one municipality (by name or slug: Laxå or laxa).",
        ),
    ),
    ("/summary.json", _summary, ("status_summary", "municipality_summary"), ("", "")),
    ("/feed.atom", _atom, ("status_atom", "municipality_atom"), ("", "")),
    ("/planned.ics", _ics, ("status_ics", "municipality_ics"), ("", "")),
)


def _add_routes() -> None:
    # Every municipality's routes first: /status/feed.atom is not a municipality's page.
    for i, (prefix, endpoint) in enumerate((("/status", _every), ("/status/{municipality}", _one))):
        for path, feed, names, descriptions in _FEEDS:
            router.add_api_route(
                prefix + path,
                endpoint(feed),
                methods=["GET"],
                name=names[i],
                description=descriptions[i],
                response_class=HTMLResponse if feed is _page else Default(JSONResponse),
            )


_add_routes()
