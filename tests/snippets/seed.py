"""Test data written straight through the tables and store_snippets (no generation endpoint needed)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from codesmith.conversations.tables import Conversation, Message
from codesmith.db import utcnow
from codesmith.snippets.service import store_snippets

PYTHON_ANSWER = (
    "Here you go:\n\n```python\ndef reverse_words(text: str) -> str:\n"
    '    return " ".join(reversed(text.split()))\n```\n\nAnd a test:\n\n'
    "```python\ndef test_reverse_words():\n    assert reverse_words('a b') == 'b a'\n```\n"
)


@dataclass
class Seeded:
    id: str
    request_id: str
    answer_id: str
    snippet_ids: list[str] = field(default_factory=list)


def sessionmaker_of(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return maker


async def seed_conversation(
    app: FastAPI,
    user_id: str,
    *,
    title: str = "Reverse words",
    request: str = "Write a Python function that reverses the words of a sentence",
    answer: str = PYTHON_ANSWER,
    created_at: datetime | None = None,
    with_usage: bool = True,
) -> Seeded:
    stamp = created_at or utcnow()
    async with sessionmaker_of(app)() as session:
        conversation = Conversation(user_id=user_id, title=title, language="python", created_at=stamp, updated_at=stamp)
        session.add(conversation)
        await session.flush()
        asked = Message(
            conversation_id=conversation.id,
            user_id=user_id,
            role="user",
            kind="request",
            content=request,
            status="complete",
            created_at=stamp,
            completed_at=stamp,
        )
        session.add(asked)
        await session.flush()
        answered = Message(
            conversation_id=conversation.id,
            user_id=user_id,
            parent_id=asked.id,
            role="assistant",
            kind="generation",
            content=answer,
            status="complete",
            model_id="model-1",
            prompt_tokens=120 if with_usage else None,
            completion_tokens=80 if with_usage else None,
            cost_usd=0.0004 if with_usage else None,
            created_at=stamp,
            completed_at=stamp + timedelta(seconds=2),
        )
        session.add(answered)
        await session.flush()
        snippets = await store_snippets(session, answered)
        await session.commit()
        return Seeded(conversation.id, asked.id, answered.id, [snippet.id for snippet in snippets])


async def add_message(app: FastAPI, seeded: Seeded, user_id: str, **values: object) -> str:
    async with sessionmaker_of(app)() as session:
        message = Message(conversation_id=seeded.id, user_id=user_id, **values)
        session.add(message)
        await session.commit()
        return message.id


async def add_answer_with_snippets(
    app: FastAPI, seeded: Seeded, user_id: str, answer: str, *, completed_at: datetime
) -> list[str]:
    """Another complete answer to the conversation's request, with its snippets (created when it completed)."""
    async with sessionmaker_of(app)() as session:
        message = Message(
            conversation_id=seeded.id,
            user_id=user_id,
            parent_id=seeded.request_id,
            role="assistant",
            kind="generation",
            content=answer,
            status="complete",
            model_id="model-1",
            created_at=completed_at - timedelta(seconds=1),
            completed_at=completed_at,
        )
        session.add(message)
        await session.flush()
        snippets = await store_snippets(session, message)
        await session.commit()
        return [snippet.id for snippet in snippets]
