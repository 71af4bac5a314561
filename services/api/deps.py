"""Shared dependencies of the HTTP routes: the process's engine, settings and relay."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from services.ingest.relay import Relay
from services.settings import Settings


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _relay(request: Request) -> Relay:
    relay: Relay = request.app.state.relay
    return relay


EngineDep = Annotated[Engine, Depends(_engine)]
SettingsDep = Annotated[Settings, Depends(_settings)]
RelayDep = Annotated[Relay, Depends(_relay)]
