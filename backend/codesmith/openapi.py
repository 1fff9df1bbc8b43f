"""The OpenAPI schema says what every operation answers: its errors as problem+json (the Problem schema),
not FastAPI's default 422 body, so clients and schema-based testers can rely on it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from codesmith import openai_compat
from codesmith.errors import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is the stable machine-readable error code.",
    "type": "object",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Validation errors: where (`loc`) and what (`msg`).",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                },
            },
        },
        "request_id": {"type": "string", "description": "With internal errors: quote it when reporting."},
    },
}

EVENT_STREAM = "text/event-stream"
# The data of each event of a generation's stream (`start`, `delta`, `done`: the Message, `error`).
STREAM_EVENT_SCHEMAS: dict[str, Any] = {
    "StreamStart": {
        "title": "StreamStart",
        "description": "`event: start`: the generation that this stream follows.",
        "type": "object",
        "required": ["conversation_id", "message_id", "parent_id", "model_id"],
        "properties": {
            "conversation_id": {"type": "string"},
            "message_id": {"type": "string"},
            "parent_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "model_id": {"type": "string"},
        },
    },
    "StreamDelta": {
        "title": "StreamDelta",
        "description": "`event: delta`: the next piece of the answer.",
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string"}},
    },
    "StreamError": {
        "title": "StreamError",
        "description": "`event: error`: how the generation failed or was refused (instead of `done`).",
        "type": "object",
        "required": ["code", "detail", "message_id"],
        "properties": {"code": {"type": "string"}, "detail": {"type": "string"}, "message_id": {"type": "string"}},
    },
}
_EVENT_DATA = {"start": "StreamStart", "delta": "StreamDelta", "done": "MessagePublic", "error": "StreamError"}
# One server-sent event: its name, its `id:` (the answer's offset) and its data, JSON of the event's schema.
_STREAM_EVENT = {
    "oneOf": [
        {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"const": name},
                "id": {"type": "string", "description": "Characters of the answer delivered so far."},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": f"#/components/schemas/{schema}"},
                },
            },
        }
        for name, schema in _EVENT_DATA.items()
    ]
}

_TITLES = {
    400: "Bad request: a body that cannot be parsed, or a model that needs a key the user lacks.",
    401: "Not signed in, or the token is invalid, expired or revoked.",
    403: "Not allowed (administrators only), or the account is disabled (`account_disabled`).",
    404: "Not found (also another user's resource).",
    409: "Conflict: the email is taken, a generation already runs in this conversation, or the last administrator.",
    413: "The request body is larger than the server accepts (`request_too_large`).",
    422: "Validation failed; `errors` says where.",
    429: "Too many requests, streams or tokens: see `Retry-After`.",
    500: "Internal error; carries a `request_id`.",
    502: "The model provider failed or rejected the key.",
    503: "The model is unavailable.",
    504: "The model provider timed out.",
}
_UPSTREAM = {400, 409, 429, 502, 503, 504}
# Answers that only some operations give, by (method, path suffix after /api/v1).
_EXTRA: dict[tuple[str, str], set[int]] = {
    ("POST", "/auth/register"): {403, 409, 429},  # 403: registration closed, or no valid invitation
    ("POST", "/auth/token"): {401, 403, 429},  # 403: the account is disabled
    ("PATCH", "/admin/users/{user_id}"): {409},  # the last administrator
    ("POST", "/users/me/password"): {429},
    ("DELETE", "/users/me"): {409, 429},  # 409: the last administrator; 429: password guesses
    ("GET", "/users/me/export"): {429},  # one export per user at a time (yourdata/gate.py)
    ("POST", "/users/me/import"): {429},  # one import per user at a time
    ("POST", "/conversations"): _UPSTREAM | {404},  # an unknown model_id
    ("POST", "/conversations/{conversation_id}/messages"): _UPSTREAM,
    ("POST", "/conversations/{conversation_id}/messages/{message_id}/regenerate"): _UPSTREAM,
    ("GET", "/conversations/{conversation_id}/messages/{message_id}/stream"): {429},
    ("POST", "/models"): {403, 502, 503, 504},  # 403: a system model, by a user who is no administrator
    ("PATCH", "/models/{model_id}"): {403, 502, 503, 504},
    ("DELETE", "/models/{model_id}"): {403, 502, 503, 504},
}
_BODY_METHODS = {"post", "put", "patch", "delete"}


def install(app: FastAPI, api_prefix: str) -> None:
    """Make app.openapi() document every operation's errors (built once, like FastAPI's own)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(build(), api_prefix)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(schema: dict[str, Any], api_prefix: str) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components.update(STREAM_EVENT_SCHEMAS)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        if openai_compat.handles(path):  # OpenAI's error envelope, as its router declares it
            for operation in operations.values():
                operation.get("responses", {}).pop("422", None)  # validation errors answer 400 there
            continue
        for method, operation in operations.items():
            codes = _error_codes(method, path, operation, api_prefix)
            _set_error_responses(operation, codes)
            _describe_event_streams(operation)
    return schema


def _describe_event_streams(operation: dict[str, Any]) -> None:
    """An event stream's schema is that of one event (as OpenAPI 3.1 tools read a stream's schema)."""
    for response in operation.get("responses", {}).values():
        stream = response.get("content", {}).get(EVENT_STREAM)
        if stream is not None:
            stream["schema"] = _STREAM_EVENT


def _error_codes(method: str, path: str, operation: dict[str, Any], api_prefix: str) -> set[int]:
    rules: list[tuple[Callable[[], bool], set[int]]] = [
        (lambda: True, {500}),
        (lambda: bool(operation.get("parameters")) or "requestBody" in operation, {422}),
        (lambda: method in _BODY_METHODS, {400, 413, 422}),
        (lambda: bool(operation.get("security")), {401, 403}),  # 403: a disabled account's token
        (lambda: "{" in path, {404}),
        (lambda: path.startswith(f"{api_prefix}/admin"), {403}),
    ]
    codes = set().union(*(found for applies, found in rules if applies()))
    return codes | _EXTRA.get((method.upper(), path.removeprefix(api_prefix)), set())


def _set_error_responses(operation: dict[str, Any], codes: set[int]) -> None:
    responses = operation.setdefault("responses", {})
    for code in sorted(codes):
        existing = responses.get(str(code), {})
        responses[str(code)] = {
            "description": existing.get("description") if code not in (422,) and existing else _TITLES[code],
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
