"""Migration 0007 fills the usage ledger from the assistant messages that carry a usage."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from codesmith.conversations.tables import Conversation, Message
from codesmith.migrations import alembic_config, upgrade
from codesmith.models.tables import Model
from codesmith.usage.tables import UsageRecord
from codesmith.users.tables import User
from tests.databases import run_sync_on

WHEN = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _answer(conversation: Conversation, parent: Message, model_id: str | None, **usage: object) -> Message:
    return Message(
        conversation_id=conversation.id,
        user_id=conversation.user_id,
        parent_id=parent.id,
        role="assistant",
        kind="generation",
        content="```py\nx\n```",
        status="complete",
        model_id=model_id,
        model_name="upstream-name",
        created_at=WHEN,
        **usage,
    )


def test_the_backfill_copies_every_recorded_usage(empty_database_url: str) -> None:
    url = empty_database_url
    upgrade(url)
    ids, expected = run_sync_on(url, _seed, commit=True)

    # The ledger's migration again, over these messages.
    command.downgrade(alembic_config(url), "0006")
    upgrade(url)

    run_sync_on(url, lambda connection: _check(connection, ids, expected))


def _seed(connection: Connection) -> tuple[dict[str, str], set[str]]:
    with Session(bind=connection) as session:
        user = User(email="old@example.com", password_hash="-")
        server_model = Model(
            owner_id=None, source="settings", name="4o", provider="openai", model="gpt-4o", context_window=8192
        )
        vllm_model = Model(owner_id=None, source="vllm", name="q", provider="vllm", model="qwen", context_window=8192)
        session.add_all([user, server_model, vllm_model])
        session.flush()
        conversation = Conversation(user_id=user.id, title="t", created_at=WHEN, updated_at=WHEN)
        session.add(conversation)
        session.flush()
        request = Message(conversation_id=conversation.id, user_id=user.id, role="user", kind="request", content="p")
        request.status, request.created_at = "complete", WHEN
        session.add(request)
        session.flush()
        paid = _answer(conversation, request, server_model.id, prompt_tokens=10, completion_tokens=20, cost_usd=0.5)
        hosted = _answer(conversation, request, vllm_model.id, prompt_tokens=7, completion_tokens=None)
        gone = _answer(
            conversation, request, "deleted-model", prompt_tokens=3, completion_tokens=4, usage_estimated=True
        )
        nothing = _answer(conversation, request, server_model.id)  # failed before any text: no usage
        session.add_all([paid, hosted, gone, nothing])
        session.commit()
        expected = {paid.id, hosted.id, gone.id}
        ids = {"paid": paid.id, "hosted": hosted.id, "gone": gone.id, "conversation": conversation.id, "user": user.id}
    return ids, expected


def _check(connection: Connection, ids: dict[str, str], expected: set[str]) -> None:
    with Session(bind=connection) as session:
        records = {record.id: record for record in session.scalars(select(UsageRecord))}
        assert set(records) == expected
        first = records[ids["paid"]]
        assert (first.message_id, first.conversation_id, first.user_id) == (
            ids["paid"],
            ids["conversation"],
            ids["user"],
        )
        assert (first.prompt_tokens, first.completion_tokens, first.cost_usd) == (10, 20, 0.5)
        assert (first.model_name, first.provider, first.paid_by_server) == ("upstream-name", "openai", True)
        assert first.created_at == WHEN
        second = records[ids["hosted"]]
        assert (second.completion_tokens, second.cost_usd, second.provider, second.paid_by_server) == (
            0,
            None,
            "vllm",
            False,
        )
        third = records[ids["gone"]]
        assert third.provider is None and third.paid_by_server is False and third.usage_estimated is True
