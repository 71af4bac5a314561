"""The HTTP app: ingest, read API, health and /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services import config
from services.api import (
    alertmanager,
    auth,
    changes,
    goals,
    health,
    incidents,
    metrics,
    sli,
    tickets,
    webhooks,
)
from services.core import scrub
from services.ingest import routes as ingest
from services.ingest.relay import Relay
from services.settings import Settings, get_settings
from services.store.db import init_db, make_engine


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    scrub.set_enabled(settings.scrub_personal_data)  # for every event this process parses

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        init_db(engine)
        relay = Relay(engine, settings)
        app.state.engine, app.state.settings, app.state.relay = engine, settings, relay
        app.state.catalog = config.catalog(settings.config_dir)
        auth.startup(app, engine, settings)
        relay.start()
        try:
            yield
        finally:
            relay.stop()
            engine.dispose()

    app = FastAPI(
        title="opstrack",
        summary="Live service levels for IT operations: events in, SLIs out.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.include_router(ingest.router)
    # Reads are open unless `auth_read` is set (health and /metrics stay open).
    for read in (sli, tickets, incidents, changes, goals):
        app.include_router(read.router, dependencies=[auth.READ_ACCESS])
    app.include_router(webhooks.router)
    app.include_router(alertmanager.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    return app
