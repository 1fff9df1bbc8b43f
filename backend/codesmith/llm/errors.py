"""Upstream failures (SDK errors, timeouts, broken streams) mapped to the contract's AppErrors.

Upstream messages can echo the caller's key (OpenAI's 401 shows part of it), so a detail never
carries an upstream message verbatim: only a scrubbed excerpt, and never for auth failures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx2 as httpx
import openai

from codesmith.errors import (
    AppError,
    ContextWindowExceeded,
    ModelUnavailable,
    UpstreamError,
    UpstreamRateLimited,
    UpstreamTimeout,
    UpstreamUnauthorized,
)

_KEYLIKE = re.compile(r"\b(sk|csk|key|hf)[-_][A-Za-z0-9*_\-]{6,}", re.IGNORECASE)
_CONTEXT_PATTERNS = (
    "context_length_exceeded",
    "maximum context length",
    "context length",
    "too many tokens",
    "prompt is too long",
)


class UpstreamStatusError(Exception):
    """An error answer (HTTP >= 400) to a request sent without the SDK (ChatClient's direct path): what the
    SDK's APIStatusError carries, mapped the same way."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str]) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = headers


def status_headers(exc: BaseException) -> Mapping[str, str] | None:
    """The headers of an upstream's error answer, from either path; None for any other failure."""
    if isinstance(exc, UpstreamStatusError):
        return exc.headers
    if isinstance(exc, openai.APIStatusError):
        return exc.response.headers
    return None


def scrub(text: str, secret: str | None = None) -> str:
    if secret:
        text = text.replace(secret, "[redacted]")
    return _KEYLIKE.sub("[redacted]", text)[:300]


def _message_of(body: Any, fallback: str) -> str:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            return str(error.get("message") or error.get("code") or fallback)
        return str(body.get("message") or error)
    return fallback


def is_context_error(status: int, body: Any, message: str) -> bool:
    if status not in (400, 413, 422):
        return False
    code = body.get("error", {}).get("code") if isinstance(body, dict) and isinstance(body.get("error"), dict) else None
    text = f"{code or ''} {message}".lower()
    return any(pattern in text for pattern in _CONTEXT_PATTERNS)


def retry_after_seconds(headers: Mapping[str, str] | None) -> int | None:
    value = headers.get("retry-after") if headers is not None else None
    if value is None:
        return None
    try:
        return max(1, int(float(value)))
    except ValueError:
        return None


def from_status(status: int, body: Any, headers: Mapping[str, str] | None, secret: str | None) -> AppError:
    message = scrub(_message_of(body, f"HTTP {status}"), secret)
    if status in (401, 403):
        return UpstreamUnauthorized(
            "The model provider rejected the API key. Check the key in Settings (or the model's key)."
        )
    if status == 429:
        retry = retry_after_seconds(headers)
        extra = {"Retry-After": str(retry)} if retry else None
        return UpstreamRateLimited(f"The model provider is rate limiting: {message}", headers=extra)
    if is_context_error(status, body, message):
        return ContextWindowExceeded(f"The conversation is too long for this model's context window: {message}")
    if status == 404:
        return ModelUnavailable(f"The model was not found on its server: {message}")
    if status >= 500:
        return UpstreamError(f"The model provider failed (HTTP {status}): {message}")
    return UpstreamError(f"The model provider refused the request (HTTP {status}): {message}")


def map_exception(exc: BaseException, secret: str | None = None) -> AppError:
    """The AppError for any failure of an upstream call."""
    if isinstance(exc, AppError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        return from_status(exc.status_code, exc.body, exc.response.headers, secret)
    if isinstance(exc, UpstreamStatusError):
        return from_status(exc.status, exc.body, exc.headers, secret)
    if _could_not_connect(exc):
        return ModelUnavailable("The model's server cannot be reached.")
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return UpstreamTimeout("The model provider did not answer in time.")
    if isinstance(exc, openai.APIConnectionError | httpx.ConnectError):
        return ModelUnavailable("The model's server cannot be reached.")
    if isinstance(exc, httpx.HTTPError | aiohttp.ClientError):  # aiohttp's: the stream is read from it directly
        return UpstreamError("The connection to the model provider broke off.")
    return UpstreamError(f"The model provider failed: {scrub(type(exc).__name__, secret)}")


def _could_not_connect(exc: BaseException) -> bool:
    """A refused or unresolvable connection, wherever it sits in the cause chain.

    The SDK's aiohttp transport reports a refused connection as a connect *timeout*; the OS error
    underneath tells the two apart.
    """
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError | httpx.ConnectError | aiohttp.ClientConnectorError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_retryable(exc: BaseException) -> bool:
    """Failures worth another try before the first token: refused connections, 429 and 5xx."""
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    if isinstance(exc, UpstreamStatusError):
        return exc.status == 429 or exc.status >= 500
    return _could_not_connect(exc)
