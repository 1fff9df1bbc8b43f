"""OpenAI's error envelope, `{"error": {"message", "type", "param", "code"}}`, for everything under /v1,
with the statuses the `openai` SDK maps to its exception classes (400 BadRequestError, 401
AuthenticationError, 403 PermissionDeniedError, 404 NotFoundError, 429 RateLimitError, 5xx
InternalServerError). The rest of the API keeps problem+json.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from codesmith.errors import AppError

logger = logging.getLogger("codesmith.openai")

# Codesmith's codes that OpenAI clients know under another name (Continue and Aider look for these).
_CODES = {
    "not_authenticated": "invalid_api_key",
    "invalid_credentials": "invalid_api_key",
    "context_window_exceeded": "context_length_exceeded",
    "rate_limited": "rate_limit_exceeded",
}
# Codesmith answers a refused input with 422; OpenAI (and so its SDK's BadRequestError) with 400.
_STATUSES = {422: 400}
_TYPES = {401: "invalid_request_error", 403: "permission_error", 429: "rate_limit_error"}

# Every error that a generation can end with, by code: the status it has as an AppError.
STATUS_OF_CODE: dict[str, int] = {}


def _collect(cls: type[AppError]) -> None:
    for sub in cls.__subclasses__():
        STATUS_OF_CODE.setdefault(sub.code, sub.status)
        _collect(sub)


_collect(AppError)
STATUS_OF_CODE.update({"internal_error": 500, "not_found": 404, "cancelled": 503, "interrupted": 503})


class OpenAIError(Exception):
    """An error to answer in OpenAI's envelope."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = _STATUSES.get(status, status)
        self.message = message
        self.code = _CODES.get(code, code) if code is not None else None
        self.param = param
        self.headers = headers or {}

    @property
    def type(self) -> str:
        if self.status >= 500:
            return "server_error"
        return _TYPES.get(self.status, "invalid_request_error")

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> Response:
        return Response(
            orjson.dumps(self.body()), status_code=self.status, headers=self.headers, media_type="application/json"
        )


def from_app_error(exc: AppError) -> OpenAIError:
    param = None
    errors = getattr(exc, "errors", None)
    if errors:
        param = _param(errors[0].get("loc", []))
    if exc.code == "not_found" and exc.detail == "The model was not found.":
        return OpenAIError(404, exc.detail, "model_not_found", param="model")
    return OpenAIError(exc.status, exc.detail, exc.code, param=param, headers=exc.headers)


def from_outcome(code: str, detail: str) -> OpenAIError:
    """How a generation that did not complete is answered (non-streamed) or ends a stream."""
    return OpenAIError(STATUS_OF_CODE.get(code, 502), detail, code)


def from_problem(problem: dict[str, Any], headers: dict[str, str] | None = None) -> OpenAIError:
    """A problem+json body (the request-body guard's, a 404 or 405) in OpenAI's terms."""
    errors = problem.get("errors") or []
    param = _param(errors[0].get("loc", [])) if errors else None
    return OpenAIError(
        int(problem["status"]), str(problem["detail"]), str(problem["code"]), param=param, headers=headers
    )


def _param(loc: list[Any]) -> str | None:
    parts = [str(part) for part in loc if part != "body"]
    return ".".join(parts) or None


def _validation(exc: RequestValidationError) -> OpenAIError:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    param = _param(list(first.get("loc", ())))
    message = f"{param}: {first['msg']}" if param else str(first["msg"])
    return OpenAIError(400, message, "invalid_value" if param else None, param=param)


def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """A 404 (no such path) or 405 under /v1."""
    message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    if exc.status_code == 404:
        message = f"Unknown request URL: {request.method} {request.url.path}."
    code = {404: "unknown_url", 405: "method_not_allowed"}.get(exc.status_code)
    return OpenAIError(exc.status_code, message, code, headers=dict(exc.headers or {})).response()


class OpenAIRoute(APIRoute):
    """A route whose every error (authentication, validation, the pipeline's refusals, a bug) answers in
    OpenAI's envelope: FastAPI's exception handlers are the app's, so the route catches them itself."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except OpenAIError as exc:
                return exc.response()
            except AppError as exc:
                return from_app_error(exc).response()
            except RequestValidationError as exc:
                return _validation(exc).response()
            except StarletteHTTPException as exc:
                return http_error(request, exc)
            except Exception as exc:  # a bug: logged with the request id, never a trace to the client
                request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
                logger.error(
                    "unhandled error",
                    exc_info=(type(exc), exc, exc.__traceback__),
                    extra={"request_id": request_id, "path": request.url.path},
                )
                message = f"An unexpected error occurred (request id {request_id})."
                return OpenAIError(500, message, "internal_error", headers={"X-Request-ID": request_id}).response()

        return handle
