"""GET /metrics: the API process's Prometheus metrics (a route, not a mount: no redirect)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.api.deps import SettingsDep
from services.observability import stack_metrics

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics(settings: SettingsDep) -> Response:
    body = generate_latest()
    if settings.stack_state_file is not None:
        # Under `opstrack up`: its restarts too (the supervisor has no HTTP server).
        body += stack_metrics.exposition(Path(settings.stack_state_file))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
