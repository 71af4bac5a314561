"""Counting the API's HTTP responses by route template and status class.

Plain ASGI middleware rather than a decorator on each route, so that every response
is counted, errors and paths no route takes included. The label is the route as
declared (`/v1/tickets/{ticket_id}`), never the path asked for: the label set stays
as small as the API, whatever clients send.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.observability.ingest_metrics import HTTP_RESPONSES

UNMATCHED = "unmatched"  # the route label of a path no route takes (404s)


class CountResponses:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # An exception before any response is started becomes Starlette's 500.
        status = 500

        async def counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            # The router puts the matched route into this same scope as it dispatches.
            template = getattr(scope.get("route"), "path", None)
            HTTP_RESPONSES.labels(template or UNMATCHED, f"{status // 100}xx").inc()
