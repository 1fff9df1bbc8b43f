"""Your data: export everything, import a Codesmith or ChatGPT export, delete the account, set retention,
and export one conversation."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from redis.asyncio import Redis
from sqlalchemy import select

from codesmith.auth.deps import CurrentUser
from codesmith.auth.throttle import ThrottleDep
from codesmith.conversations import service as conversations
from codesmith.conversations import tree
from codesmith.conversations.generations import GenerationsDep
from codesmith.conversations.tables import Message, Role
from codesmith.db import SessionDep, utcnow
from codesmith.deps import KeyringDep, LlmDep, SettingsDep
from codesmith.errors import NotFound, ValidationFailed
from codesmith.snippets import archive
from codesmith.snippets.filenames import content_disposition
from codesmith.snippets.tables import Snippet
from codesmith.users import service as users
from codesmith.users.schemas import UserPublic
from codesmith.yourdata import deletion, export, gate, importing, markdown, retention
from codesmith.yourdata.schemas import AccountDeletion, CodesmithExport, ImportResult, UserUpdate

router = APIRouter(prefix="/users/me", tags=["users"])
conversation_router = APIRouter(prefix="/conversations", tags=["conversations"])

_EXPORT_SCHEMA = {"$ref": "#/components/schemas/CodesmithExport"}
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A Codesmith export (GET /users/me/export) or ChatGPT's conversations.json.",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        _EXPORT_SCHEMA,
                        {"type": "array", "items": {"type": "object"}, "description": "ChatGPT's conversations"},
                    ]
                }
            }
        },
    }
}
_JSON_TYPES = ("application/json", "text/json")


async def get_redis(request: Request) -> Redis | None:
    redis: Redis | None = request.app.state.usage_limiter.redis
    return redis


RedisDep = Annotated[Redis | None, Depends(get_redis)]


@router.get(
    "/export",
    response_class=StreamingResponse,
    responses={200: {"model": CodesmithExport, "description": "The document, as an attachment."}},
)
async def export_my_data(request: Request, user: CurrentUser) -> StreamingResponse:
    """Everything of the caller as one JSON document, streamed (constant memory on the server)."""
    release = gate.exports.acquire(user.id)  # a refusal is a 429 before any byte
    body = export.stream_export(request.app.state.sessionmaker, export.Owner.of(user))
    filename = f"codesmith-export-{utcnow():%Y-%m-%d}.json"
    return gate.ReleasingStream(body, release, media_type="application/json", headers=_attachment(filename))


@router.post("/import", response_model=ImportResult, openapi_extra=_IMPORT_BODY)
async def import_data(request: Request, user: CurrentUser, session: SessionDep) -> ImportResult:
    """Import a Codesmith export or ChatGPT's conversations.json; the whole document is checked before
    anything is written, and a conversation imported before is skipped."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type not in _JSON_TYPES:
        raise ValidationFailed("Send the document as application/json.", loc=["body"])
    release = gate.imports.acquire(user.id)  # before the body is read: it may be 50 MiB
    try:
        plan = await importing.plan_import(await request.body())
        return await importing.store(session, user, plan)
    finally:
        release()


@router.patch("", response_model=UserPublic)
async def update_me(data: UserUpdate, user: CurrentUser, session: SessionDep, settings: SettingsDep) -> UserPublic:
    if "retention_days" in data.model_fields_set:
        await retention.set_retention(session, user, data.retention_days)
    if data.auto_repair is not None:
        await users.set_auto_repair(session, user, data.auto_repair)
    return users.to_public(user, settings)


@router.delete("", status_code=204)
async def delete_me(
    data: AccountDeletion,
    user: CurrentUser,
    session: SessionDep,
    throttle: ThrottleDep,
    generations: GenerationsDep,
    llm: LlmDep,
    keyring: KeyringDep,
    settings: SettingsDep,
    redis: RedisDep,
) -> Response:
    """Delete the account and everything of it at once; the password confirms it."""
    await deletion.delete_account(
        session,
        user,
        data.password,
        throttle=throttle,
        generations=generations,
        llm=llm,
        keyring=keyring,
        settings=settings,
        redis=redis,
    )
    return Response(status_code=204)


@conversation_router.get(
    "/{conversation_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The conversation as a file: Markdown, or an importable export document.",
            "content": {
                "text/markdown": {"schema": {"type": "string"}},
                "application/json": {"schema": _EXPORT_SCHEMA},
            },
        }
    },
)
async def export_conversation(
    conversation_id: str,
    user: CurrentUser,
    session: SessionDep,
    format: Annotated[Literal["markdown", "json"], Query(description="markdown (default) or json")] = "markdown",
) -> Response:
    conversation = await conversations.get_owned(session, user, conversation_id)
    stem = markdown.slug(conversation.title)
    if format == "json":
        document = await export.single_conversation_document(session, export.Owner.of(user), conversation)
        return Response(document, media_type="application/json", headers=_attachment(f"{stem}.json"))
    messages = await tree.load(session, conversation.id)
    text = markdown.render(conversation.title, messages.values())
    return Response(text, media_type="text/markdown; charset=utf-8", headers=_attachment(f"{stem}.md"))


@conversation_router.get(
    "/{conversation_id}/snippets.zip",
    response_class=Response,
    responses={200: {"description": "The snippets as files in a zip.", "content": {"application/zip": {}}}},
)
async def download_snippets(
    conversation_id: str,
    user: CurrentUser,
    session: SessionDep,
    message_id: Annotated[
        str | None, Query(description="One version (an assistant message) only; default: the whole conversation.")
    ] = None,
) -> Response:
    """Every snippet of the conversation (identical code once, the newest copy), or of one answer, as files named
    like their `filename`; a name used twice is numbered (`sort-2.py`)."""
    conversation = await conversations.get_owned(session, user, conversation_id)
    query = select(Snippet).where(Snippet.conversation_id == conversation.id)
    stem = markdown.slug(conversation.title)
    if message_id is not None:
        message = await session.get(Message, message_id)
        if message is None or message.conversation_id != conversation.id or message.role != Role.ASSISTANT:
            raise NotFound("message")
        query = query.where(Snippet.message_id == message.id)
        stem = f"{stem}-{message.id[:8]}"
    found = list((await session.scalars(query)).all())
    await session.commit()  # nothing more to read: the archive is built without a transaction open
    chosen = archive.newest_first(found) if message_id is None else archive.answer_order(found)
    body = await asyncio.to_thread(archive.zip_of, chosen)
    return Response(body, media_type="application/zip", headers=_attachment(f"{stem}-snippets.zip"))


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": content_disposition(filename)}
