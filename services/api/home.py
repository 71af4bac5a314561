"""`/` (where to go next) and the API reference at /docs and /redoc, served from local files.

FastAPI's own /docs loads Swagger UI from a CDN, a blank page without internet. The
fastapi-offline package ships Swagger UI (Apache-2.0) and ReDoc (MIT) as files; these
routes serve them from here, so the reference works on a machine with no way out.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_PATH = "/docs-assets"

router = APIRouter(include_in_schema=False)

# What `/` points at: (name, path, what it is).
LINKS = (
    ("docs", "/docs", "the API reference (Swagger UI): try the endpoints"),
    ("redoc", "/redoc", "the API reference (ReDoc), to read"),
    ("openapi", "/openapi.json", "the OpenAPI schema"),
    ("ready", "/readyz", "readiness: store, broker and a worker (503 says which is down)"),
    ("health", "/healthz", "liveness"),
    ("metrics", "/metrics", "the API's Prometheus metrics (a worker serves its own)"),
)


def install(app: FastAPI) -> None:
    """Serve the docs' files and add `/`, /docs and /redoc (create the app with
    docs_url=None and redoc_url=None, so that FastAPI's CDN pages are not there)."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS), name="docs-assets")
    app.include_router(router)


def _prefix(request: Request) -> str:
    """The path the app is mounted under behind a proxy (uvicorn's --root-path)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/")
async def home(request: Request) -> Any:
    """Links to the docs, readiness and metrics: HTML for a browser, JSON otherwise."""
    base = _prefix(request)
    accept = request.headers.get("accept", "")
    if "text/html" not in accept:
        return JSONResponse(
            {
                "name": "opstrack",
                "version": request.app.version,
                "links": {name: base + path for name, path, _ in LINKS},
            }
        )
    items = "\n".join(
        f'<li><a href="{escape(base + path)}">{escape(path)}</a>: {escape(what)}</li>'
        for _, path, what in LINKS
    )
    return HTMLResponse(
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        "<title>opstrack</title></head>\n<body><h1>opstrack</h1>\n"
        f"<p>{escape(request.app.summary or '')}</p>\n<ul>\n{items}\n</ul>\n</body></html>\n"
    )


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    base = _prefix(request)
    return get_swagger_ui_html(
        openapi_url=base + "/openapi.json",
        title="opstrack API",
        swagger_js_url=f"{base}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{base}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{base}{ASSETS_PATH}/favicon.png",
        oauth2_redirect_url=base + "/docs/oauth2-redirect",
        # No badge that asks the public validator to check the schema.
        swagger_ui_parameters={"validatorUrl": None},
    )


@router.get("/docs/oauth2-redirect")
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    base = _prefix(request)
    return get_redoc_html(
        openapi_url=base + "/openapi.json",
        title="opstrack API",
        redoc_js_url=f"{base}{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{base}{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )
