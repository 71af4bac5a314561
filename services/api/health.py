"""Liveness and readiness: /readyz is 200 only when store, broker and a worker are up."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from services.api.deps import EngineDep, RelayDep, SettingsDep
from services.ingest.kafka import reachable
from services.store import workers

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz", responses={503: {"description": "Not ready: `checks` says which part is down"}}
)
async def readyz(engine: EngineDep, relay: RelayDep, settings: SettingsDep) -> Any:
    def check() -> dict[str, bool]:
        # The relay may sit idle on an old connection: look at the broker now as well.
        broker = relay.connected and reachable(settings.kafka_bootstrap, timeout=0.5)
        checks = {"database": False, "broker": broker, "worker": False}
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                checks["database"] = True
                checks["worker"] = workers.any_consuming(conn)
        except Exception:  # noqa: S110 - any failure means not ready; the check says which
            pass
        return checks

    checks = await run_in_threadpool(check)
    ready = all(checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status_code=200 if ready else 503,
    )
