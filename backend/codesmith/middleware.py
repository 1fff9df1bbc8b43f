"""Pure ASGI middlewares (no per-chunk overhead on streams): request id and HTTP metrics, request body
limits and checks, and security headers."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from codesmith import openai_compat
from codesmith.errors import PROBLEM_JSON, RequestTooLarge, ValidationFailed
from codesmith.logs import request_id_var
from codesmith.metrics import HTTP_LATENCY, HTTP_REQUESTS
from codesmith.openai_compat import errors as openai_errors


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


# -- request bodies: size first, then text that every database can store ---------------------------------
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_JSON_TYPES = (b"application/json",)


class RequestBodyGuard:
    """Refuses a body over `max_bytes` with 413 before anything parses it (Content-Length or counted as it
    arrives, chunked bodies too), and JSON or form text that is not storable: lone surrogates (which no
    UTF-8 encoder takes) and NUL characters (which PostgreSQL's text refuses) answer 422 for every route.

    `limits` names the routes that take more (path prefix -> bytes). The body is read here (it is at most
    the limit) and handed on to the app as it came.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, limits: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = limits or {}

    def _limit(self, path: str) -> int:
        return next((size for prefix, size in self.limits.items() if path.startswith(prefix)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _problem(send, RequestTooLarge(_too_large(limit)).problem(), scope["path"])
            return
        body, more = await _read_body(receive, limit)
        if body is None:
            await _problem(send, RequestTooLarge(_too_large(limit)).problem(), scope["path"])
            return
        refusal = _unstorable_text(body, headers.get(b"content-type", b""))
        if refusal is not None:
            await _problem(send, refusal.problem(), scope["path"])
            return
        await self.app(scope, _replay(body, more, receive), send)


def _too_large(limit: int) -> str:
    return f"The request body is larger than this server accepts ({limit} bytes)."


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, bool]:
    """The whole body (None past `limit`), and whether the client has more to say (a disconnect)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts), True  # disconnected: the app sees that on its next receive
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, False
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts), False


def _replay(body: bytes, disconnected: bool, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if disconnected:
            return {"type": "http.disconnect"}
        return await receive()

    return replay


def _unstorable_text(body: bytes, content_type: bytes) -> ValidationFailed | None:
    if not body:
        return None
    kind = content_type.split(b";", 1)[0].strip().lower()
    if kind == b"application/x-www-form-urlencoded":
        if b"%00" in body.lower():
            return ValidationFailed("Text may not contain NUL characters.", loc=["body"])
        return None
    if not (kind in _JSON_TYPES or kind.endswith(b"+json")):
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _invalid_unicode(body)
    where = _nul_in(document, ["body"])
    if where is not None:
        return ValidationFailed("Text may not contain NUL characters.", loc=where)
    return None


def _invalid_unicode(body: bytes) -> ValidationFailed | None:
    """Python's json takes what orjson refused when the only fault is a lone surrogate; anything else is
    left to the app's own parser and its json_invalid error."""
    try:
        json.loads(body)
    except ValueError:
        return None
    return ValidationFailed(
        "Text must be valid Unicode: the request has a lone surrogate (an unpaired \\ud800-\\udfff escape).",
        loc=["body"],
    )


def _nul_in(value: Any, loc: list[str | int]) -> list[str | int] | None:
    if isinstance(value, str):
        return loc if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_in(key, loc) or _nul_in(item, [*loc, key])
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_in(item, [*loc, index])
            if found is not None:
                return found
    return None


async def _problem(send: Send, problem: dict[str, Any], path: str = "") -> None:
    status, media_type = problem["status"], PROBLEM_JSON
    if openai_compat.handles(path):  # OpenAI's clients get OpenAI's error envelope
        error = openai_errors.from_problem(problem)
        status, problem, media_type = error.status, error.body(), "application/json"
    body = orjson.dumps(problem)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", media_type.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


# -- security headers ---------------------------------------------------------------------------------------
# The SPA and the API console: scripts only from this origin, never inline, and never framed.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
# Everything else is data: it loads nothing and renders nothing.
DATA_CSP = "default-src 'none'; frame-ancestors 'none'"
# The SPA's sandbox page, where answers' code runs (frontend/public/sandbox.html): `sandbox allow-scripts` gives it
# an opaque origin wherever it is opened (no storage, no cookies, no API as the user); only the app may frame it.
# Inside, anything may run (it is there to run untrusted code): inline scripts, eval, WebAssembly, data: workers.
SANDBOX_PATH = "/sandbox.html"
SANDBOX_CSP = (
    "sandbox allow-scripts; default-src 'self' blob: data:; "
    "script-src 'self' http: https: 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' blob: data:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'self'"
)
# Pyodide's runtime, fetched from the sandbox's opaque origin: public files, readable cross-origin (no credentials).
PYODIDE_PREFIX = "/pyodide/"
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """nosniff, no referrer and no framing on every response; a strict Content-Security-Policy on pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                headers.extend([*_COMMON_HEADERS, *_framing_headers(scope["path"], content_type)])
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _framing_headers(path: str, content_type: bytes) -> list[tuple[bytes, bytes]]:
    """The CSP and framing rule of one answer: the sandbox page may be framed by the app, nothing else."""
    if path == SANDBOX_PATH and content_type.startswith(b"text/html"):
        return [(b"content-security-policy", SANDBOX_CSP.encode()), (b"x-frame-options", b"SAMEORIGIN")]
    csp = PAGE_CSP if content_type.startswith(b"text/html") else DATA_CSP
    headers = [(b"content-security-policy", csp.encode()), (b"x-frame-options", b"DENY")]
    if path.startswith(PYODIDE_PREFIX):
        headers.append((b"access-control-allow-origin", b"*"))
    return headers
