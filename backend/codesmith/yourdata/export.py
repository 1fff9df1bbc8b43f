"""The export document, written as JSON text a conversation at a time: the server never holds it whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.conversations.service import parents_first
from codesmith.conversations.tables import Conversation, Message
from codesmith.db import utcnow
from codesmith.models.tables import Model
from codesmith.snippets.tables import Snippet
from codesmith.users.tables import User
from codesmith.yourdata.schemas import EXPORT_FORMAT, EXPORT_VERSION

# Conversations read per query; each is then loaded, written and dropped on its own.
PAGE_SIZE = 100
_JSON_OPTIONS = orjson.OPT_UTC_Z


@dataclass(frozen=True, slots=True)
class Owner:
    """What the document says about its user, read before the response starts (the request's session is
    gone by the time the body streams)."""

    id: str
    email: str
    created_at: datetime
    retention_days: int | None
    auto_repair: bool

    @classmethod
    def of(cls, user: User) -> Owner:
        return cls(
            id=user.id,
            email=user.email,
            created_at=user.created_at,
            retention_days=user.retention_days,
            auto_repair=user.auto_repair,
        )


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=_JSON_OPTIONS)


def header(owner: Owner, models: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": utcnow(),
        "user": {"id": owner.id, "email": owner.email, "created_at": owner.created_at},
        "settings": {"retention_days": owner.retention_days, "auto_repair": owner.auto_repair},
        "models": models,
    }


async def stream_export(sessionmaker: async_sessionmaker[AsyncSession], owner: Owner) -> AsyncIterator[bytes]:
    """The whole document as JSON text: the header, then one conversation per chunk, newest first."""
    async with sessionmaker() as session:
        models = await own_models(session, owner.id)
    opening = _dumps(header(owner, models))
    yield opening[:-1] + b',"conversations":['  # the header's closing brace comes after the list
    first = True
    async for entry in _conversations(sessionmaker, owner.id):
        yield (b"" if first else b",") + _dumps(entry)
        first = False
    yield b"]}"


async def _conversations(sessionmaker: async_sessionmaker[AsyncSession], user_id: str) -> AsyncIterator[dict[str, Any]]:
    after: tuple[datetime, str] | None = None
    while True:
        async with sessionmaker() as session:
            page = await _page(session, user_id, after)
            entries = await page_entries(session, page)
        # The session and its rows are gone: no more than one page is ever held.
        for entry in entries:
            yield entry
        if len(page) < PAGE_SIZE:
            return
        after = (page[-1].created_at, page[-1].id)


async def _page(session: AsyncSession, user_id: str, after: tuple[datetime, str] | None) -> list[Conversation]:
    """The next conversations, newest first, after the last one written (keyset paging: no offset scans)."""
    query = select(Conversation).where(Conversation.user_id == user_id)
    if after is not None:
        created, ident = after
        query = query.where(
            or_(Conversation.created_at < created, and_(Conversation.created_at == created, Conversation.id < ident))
        )
    query = query.order_by(Conversation.created_at.desc(), Conversation.id.desc()).limit(PAGE_SIZE)
    return list((await session.execute(query)).scalars())


async def page_entries(session: AsyncSession, page: list[Conversation]) -> list[dict[str, Any]]:
    """The document's entries for these conversations, their messages and snippets read in two queries
    (not two per conversation)."""
    ids = [conversation.id for conversation in page]
    if not ids:
        return []
    messages: dict[str, list[Message]] = {}
    found = await session.execute(
        select(Message).where(Message.conversation_id.in_(ids)).order_by(Message.created_at, Message.id)
    )
    for message in found.scalars():
        messages.setdefault(message.conversation_id, []).append(message)
    by_message: dict[str, list[Snippet]] = {}
    found_snippets = await session.execute(
        select(Snippet).where(Snippet.conversation_id.in_(ids)).order_by(Snippet.position)
    )
    for snippet in found_snippets.scalars():
        by_message.setdefault(snippet.message_id, []).append(snippet)
    return [_conversation_entry(c, messages.get(c.id, []), by_message) for c in page]


def _conversation_entry(
    conversation: Conversation, messages: list[Message], by_message: dict[str, list[Snippet]]
) -> dict[str, Any]:
    """One conversation of the document: its fields and its message tree, every parent first."""
    return {
        "id": conversation.id,
        "title": conversation.title,
        "model_id": conversation.model_id,
        "language": conversation.language,
        "source": conversation.source,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "messages": [_message_entry(m, by_message.get(m.id, [])) for m in parents_first(messages)],
    }


def _message_entry(message: Message, found: list[Snippet]) -> dict[str, Any]:
    error = {"code": message.error_code, "detail": message.error_detail or ""} if message.error_code else None
    usage = None
    if message.prompt_tokens is not None:
        usage = {
            "prompt_tokens": message.prompt_tokens,
            "completion_tokens": message.completion_tokens or 0,
            "cost_usd": message.cost_usd,
        }
    return {
        "id": message.id,
        "parent_id": message.parent_id,
        "role": message.role,
        "kind": message.kind,
        "content": message.content,
        "status": message.status,
        "error": error,
        "model_id": message.model_id,
        "usage": usage,
        "created_at": message.created_at,
        "completed_at": message.completed_at,
        "snippets": [
            {"id": s.id, "language": s.language, "title": s.title, "code": s.code, "created_at": s.created_at}
            for s in found
        ],
    }


async def own_models(session: AsyncSession, user_id: str) -> list[dict[str, Any]]:
    """The user's own models: what they are and where they live, never their key (nor whether one is set)."""
    result = await session.execute(select(Model).where(Model.owner_id == user_id).order_by(Model.created_at))
    return [
        {
            "id": model.id,
            "name": model.name,
            "provider": model.provider,
            "model": model.model,
            "base_url": model.base_url,
            "context_window": model.context_window,
            "input_cost_per_mtok": model.input_cost_per_mtok,
            "output_cost_per_mtok": model.output_cost_per_mtok,
            "lora_adapter": model.lora_adapter,
            "created_at": model.created_at,
        }
        for model in result.scalars()
    ]


async def single_conversation_document(session: AsyncSession, owner: Owner, conversation: Conversation) -> bytes:
    """The export document holding one conversation (and no models): importable as it is."""
    document = {**header(owner, []), "conversations": await page_entries(session, [conversation])}
    return _dumps(document)
