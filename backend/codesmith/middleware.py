"""A pure ASGI middleware (no per-chunk overhead on streams): request id and HTTP metrics."""

from __future__ import annotations

import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codesmith.logs import request_id_var
from codesmith.metrics import HTTP_LATENCY, HTTP_REQUESTS


def _route_template(scope: Scope) -> str:
    """The matched route's template (set in the scope by the router), so metrics have few labels."""
    route = scope.get("route")
    return str(getattr(route, "path", None) or "unmatched")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
                route = _route_template(scope)
                HTTP_LATENCY.labels(scope["method"], route).observe(time.perf_counter() - started)
                HTTP_REQUESTS.labels(scope["method"], route, str(status)).inc()
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
