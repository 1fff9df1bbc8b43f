"""The AppError hierarchy and the one handler that turns every error under /api into problem+json."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("codesmith.errors")

PROBLEM_JSON = "application/problem+json"


class AppError(Exception):
    """An error with a stable machine code; raised by services, rendered by one handler."""

    status: int = 500
    code: str = "internal_error"
    title: str = "Internal server error"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = detail or self.title
        self.headers = headers or {}
        super().__init__(self.detail)

    def problem(self) -> dict[str, Any]:
        return {
            "type": f"https://codesmith.dev/problems/{self.code.replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }


class ValidationFailed(AppError):
    status, code, title = 422, "validation_error", "Validation error"

    def __init__(self, detail: str, *, loc: list[str | int] | None = None) -> None:
        super().__init__(detail)
        self.errors = [{"loc": loc or ["body"], "msg": detail}]

    def problem(self) -> dict[str, Any]:
        return {**super().problem(), "errors": self.errors}


class InvalidCredentials(AppError):
    status, code, title = 401, "invalid_credentials", "Invalid credentials"


class NotAuthenticated(AppError):
    status, code, title = 401, "not_authenticated", "Not authenticated"

    def __init__(self, detail: str = "Not authenticated") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Forbidden"


class NotFound(AppError):
    status, code, title = 404, "not_found", "Not found"

    def __init__(self, what: str = "resource") -> None:
        super().__init__(f"The {what} was not found.")


class EmailTaken(AppError):
    status, code, title = 409, "email_taken", "Email already registered"


class LastAdmin(AppError):
    status, code, title = 409, "last_admin", "The last administrator"


class AccountDisabled(AppError):
    status, code, title = 403, "account_disabled", "Account disabled"

    def __init__(self, detail: str = "This account has been disabled by an administrator.") -> None:
        super().__init__(detail)


class RegistrationClosed(AppError):
    status, code, title = 403, "registration_closed", "Registration is closed"


class InvitationInvalid(AppError):
    status, code, title = 403, "invitation_invalid", "Invitation required"


class GenerationInProgress(AppError):
    status, code, title = 409, "generation_in_progress", "A generation is already running"


class RateLimited(AppError):
    status, code, title = 429, "rate_limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


class MissingProviderKey(AppError):
    status, code, title = 400, "missing_provider_key", "No API key for this provider"


class ForbiddenModelHost(AppError):
    status, code, title = 422, "forbidden_model_host", "Model host not allowed"


class PromptTooLong(AppError):
    status, code, title = 422, "prompt_too_long", "Prompt too long"


class NotACodeRequest(AppError):
    status, code, title = 422, "not_a_code_request", "Not a code request"


class NoCodeInAnswer(AppError):
    status, code, title = 422, "no_code_in_answer", "The answer contained no code"


class ContextWindowExceeded(AppError):
    status, code, title = 422, "context_window_exceeded", "Context window exceeded"


class RequestTooLarge(AppError):
    status, code, title = 413, "request_too_large", "Request too large"


class TooManyStreams(AppError):
    status, code, title = 429, "too_many_streams", "Too many open streams"

    def __init__(self, detail: str, *, retry_after: int = 5) -> None:
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})


class ModelUnavailable(AppError):
    status, code, title = 503, "model_unavailable", "Model unavailable"


class UpstreamUnauthorized(AppError):
    status, code, title = 502, "upstream_unauthorized", "The model provider rejected the API key"


class UpstreamRateLimited(AppError):
    status, code, title = 429, "upstream_rate_limited", "The model provider is rate limiting"


class UpstreamTimeout(AppError):
    status, code, title = 504, "upstream_timeout", "The model provider timed out"


class UpstreamError(AppError):
    status, code, title = 502, "upstream_error", "The model provider failed"


class AnswerTooLong(AppError):
    status, code, title = 502, "answer_too_long", "The answer was too long"


_STATUS_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("not_authenticated", "Not authenticated"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("rate_limited", "Too many requests"),
}


# The OpenAPI description of an error answer: RFC 9457 problem details (see the Problem schema).
PROBLEM_RESPONSE: dict[str, Any] = {
    "description": "An error, as RFC 9457 problem details.",
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def problem_response(problem: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(problem, status_code=problem["status"], headers=headers, media_type=PROBLEM_JSON)


def _clean_loc(loc: tuple[Any, ...]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in loc]


async def _app_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return problem_response(exc.problem(), exc.headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": _clean_loc(err["loc"]), "msg": err["msg"]} for err in exc.errors()]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    location = ".".join(str(part) for part in first["loc"])
    problem = ValidationFailed(f"{location}: {first['msg']}").problem()
    problem["errors"] = errors
    return problem_response(problem)


async def http_error_handler(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _STATUS_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail.lower() != title.lower() else title
    problem = {
        "type": f"https://codesmith.dev/problems/{code.replace('_', '-')}",
        "title": title,
        "status": exc.status_code,
        "detail": detail,
        "code": code,
    }
    return problem_response(problem, dict(exc.headers or {}))


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None) or uuid.uuid4().hex
    logger.error(
        "unhandled error",
        exc_info=(type(exc), exc, exc.__traceback__),
        extra={"request_id": request_id, "path": request.url.path},
    )
    problem = AppError(f"An unexpected error occurred (request id {request_id}).").problem()
    problem["request_id"] = request_id
    return problem_response(problem, {"X-Request-ID": request_id})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(Exception, _unhandled)
