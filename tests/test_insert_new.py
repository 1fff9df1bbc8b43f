"""db.insert_new: new ORM objects written by Core INSERTs, one statement per table and row shape."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from codesmith.conversations.tables import Conversation, Message, MessageStatus, Role
from codesmith.db import insert_new, new_id, utcnow
from tests.conftest import UserHandle
from tests.conversations.helpers import message_rows, sessionmaker_of


def _message(conversation: Conversation, role: str, **extra: Any) -> Message:
    return Message(
        id=new_id(),
        conversation_id=conversation.id,
        user_id=conversation.user_id,
        role=role,
        kind="generation" if role == Role.ASSISTANT else "request",
        status=MessageStatus.COMPLETE,
        created_at=utcnow(),
        **extra,
    )


async def test_a_conversation_and_messages_set_differently_take_two_statements(app: FastAPI, user: UserHandle) -> None:
    now = utcnow()
    conversation = Conversation(id=new_id(), user_id=user.id, title="t", created_at=now, updated_at=now)
    question = _message(conversation, Role.USER, content="Write a sort in Go.")
    # The answer sets columns the question leaves unset (and leaves `content` and `usage_estimated` to their
    # defaults): the two rows still share one INSERT.
    answer = _message(conversation, Role.ASSISTANT, parent_id=question.id, model_name="m", owner="replica-a")
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        async with sessionmaker_of(app)() as session:
            await insert_new(session, [conversation, question, answer])
            await session.commit()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(inserts) == 2
    stored = {message.id: message for message in await message_rows(app, conversation.id)}
    assert stored[question.id].content == "Write a sort in Go."
    assert (stored[question.id].parent_id, stored[question.id].owner) == (None, None)
    assert (stored[answer.id].content, stored[answer.id].usage_estimated) == ("", False)
    assert (stored[answer.id].parent_id, stored[answer.id].owner) == (question.id, "replica-a")
