"""The HTTP app: ingest, read API, health and /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from services import config
from services.api import (
    alertmanager,
    auth,
    calls,
    changes,
    deps,
    events,
    goals,
    health,
    home,
    http_metrics,
    incidents,
    metrics,
    staffing,
    status,
    tickets,
    webhooks,
)
from services.core import scrub
from services.ingest.pipeline_watch import PipelineWatch
from services.ingest.relay import Relay
from services.report.cache import ReportCache
from services.settings import Settings, get_settings
from services.store.db import make_engine
from services.store.migrate import init_db


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    scrub.set_enabled(settings.scrub_personal_data)  # for every event this process parses

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        init_db(engine)
        relay = Relay(engine, settings)
        watch = PipelineWatch(engine, settings)
        app.state.engine, app.state.settings, app.state.relay = engine, settings, relay
        app.state.catalog = config.catalog(settings.config_dir)
        app.state.status_config = config.status_page(settings.config_dir)
        app.state.pipeline_watch = watch  # the status page reads what it finds
        app.state.report_cache = ReportCache(
            settings.report_cache_size,
            settings.report_cache_seconds,
            renders=settings.report_renders,
            waiting=4 * settings.report_renders,
        )
        auth.startup(app, engine, settings)
        relay.start()
        watch.start()
        try:
            yield
        finally:
            watch.stop()
            relay.stop()
            engine.dispose()

    app = FastAPI(
        title="opstrack",
        summary="Live service levels for IT operations: events in, SLIs out.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by `home` from local files, not from a CDN
        redoc_url=None,
        # Every route's query and path parameters obey the store's string rule.
        dependencies=[Depends(deps.storable_request)],
    )
    app.add_middleware(http_metrics.CountResponses)
    app.include_router(events.router)
    # Reads are open unless `auth_read` is set (health and /metrics stay open).
    for read in (calls, tickets, incidents, changes, goals, staffing):
        app.include_router(read.router, dependencies=[auth.READ_ACCESS])
    app.include_router(webhooks.router)
    app.include_router(alertmanager.router)
    app.include_router(health.router)
    app.include_router(status.router)  # public: never behind a token
    app.include_router(metrics.router)
    home.install(app)
    return app
