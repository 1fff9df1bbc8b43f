"""The message tree of a conversation: loading it, finding where a new message goes, the path the model sees."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.conversations.prompt import Turn
from codesmith.conversations.tables import Message, Role
from codesmith.db import utcnow
from codesmith.errors import ValidationFailed


async def load(session: AsyncSession, conversation_id: str) -> dict[str, Message]:
    result = await session.execute(select(Message).where(Message.conversation_id == conversation_id))
    return {message.id: message for message in result.scalars()}


def after(previous: datetime) -> datetime:
    """Now, but strictly after `previous`: a child never sorts before its parent."""
    return max(utcnow(), previous + timedelta(microseconds=1))


def turn(message: Message) -> Turn:
    return Turn(role=message.role, kind=message.kind, content=message.content)


def feedback_parent(messages: dict[str, Message], parent_id: str | None) -> Message:
    """The answer that feedback is about: the one named, else the newest."""
    if parent_id is None:
        answers = [m for m in messages.values() if m.role == Role.ASSISTANT]
        if not answers:
            raise ValidationFailed("This conversation has no answer to give feedback on.", loc=["body", "parent_id"])
        return max(answers, key=lambda m: (m.created_at, m.id))
    parent = messages.get(parent_id)
    if parent is None or parent.role != Role.ASSISTANT:
        raise ValidationFailed(
            "parent_id must be an assistant message of this conversation.", loc=["body", "parent_id"]
        )
    return parent


def edited_message(messages: dict[str, Message], message_id: str) -> Message:
    """The user message that `edit_of` names: a request or feedback of this conversation (else 422)."""
    original = messages.get(message_id)
    if original is None or original.role != Role.USER:
        raise ValidationFailed("edit_of must be a user message of this conversation.", loc=["body", "edit_of"])
    return original


def path_to(messages: dict[str, Message], node: Message) -> list[Turn]:
    """The messages from the root down to `node`: what the model sees (siblings never are)."""
    path: list[Message] = []
    current: Message | None = node
    while current is not None and len(path) <= len(messages):
        path.append(current)
        current = messages.get(current.parent_id) if current.parent_id else None
    return [turn(message) for message in reversed(path)]
