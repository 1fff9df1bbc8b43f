"""Conversations and their message trees (requests, feedback and generations)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from codesmith.db import Base, IdMixin, TimestampMixin


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class MessageKind(StrEnum):
    REQUEST = "request"  # the conversation's first prompt (or a new version of it)
    FEEDBACK = "feedback"  # what to change in an answer
    GENERATION = "generation"  # an answer


class MessageStatus(StrEnum):
    PENDING = "pending"  # stored, no token yet
    STREAMING = "streaming"
    COMPLETE = "complete"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"  # its replica stopped (or died) before it ended
    REJECTED = "rejected"  # the guard or the model declined: not a request for code


# A generation in these states has a task (and an owner holding a lease) somewhere.
ACTIVE_STATUSES = (MessageStatus.PENDING, MessageStatus.STREAMING)
ACTIVE_SQL = "status IN ('pending', 'streaming')"


class Conversation(IdMixin, TimestampMixin, Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_user_created", "user_id", "created_at", "id"),
        # An imported conversation's origin, so importing the same document twice imports it once (0012).
        Index("ux_conversations_user_import_key", "user_id", "import_key", unique=True),
        # The retention job: conversations not updated for N days.
        Index("ix_conversations_updated", "updated_at"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    model_id: Mapped[str | None] = mapped_column(String(36), default=None)
    language: Mapped[str | None] = mapped_column(String(40), default=None)
    # The first snippet's first lines, kept here so the list needs no join.
    preview: Mapped[str | None] = mapped_column(Text, default=None)
    # Where it was started: "app" (the SPA, the /api/v1 routes) or "api" (the OpenAI-compatible /v1).
    source: Mapped[str] = mapped_column(String(16), default="app", server_default="app")
    # Set on imported conversations: "codesmith:<its id in the export>" or "chatgpt:<its id>".
    import_key: Mapped[str | None] = mapped_column(String(200), default=None)


class Message(IdMixin, Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        Index("ix_messages_user_created", "user_id", "created_at"),
        Index("ix_messages_status", "status"),
        # At most one running generation per conversation, across every replica (0008).
        Index(
            "ux_messages_one_active",
            "conversation_id",
            unique=True,
            sqlite_where=text(ACTIVE_SQL),
            postgresql_where=text(ACTIVE_SQL),
        ),
        # Covers the usage page's aggregations: they read the index, never the messages' text.
        Index(
            "ix_messages_usage",
            "user_id",
            "role",
            "created_at",
            "model_id",
            "model_name",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            "usage_estimated",
        ),
    )

    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    # Denormalised owner: usage and limits aggregate per user without a join.
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[str | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), default=None, index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # a Role
    kind: Mapped[str] = mapped_column(String(16))  # a MessageKind
    content: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))  # a MessageStatus
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_detail: Mapped[str | None] = mapped_column(Text, default=None)
    model_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # The upstream model name at the time, so usage by model survives a model's deletion.
    model_name: Mapped[str | None] = mapped_column(String(300), default=None)
    prompt_tokens: Mapped[int | None] = mapped_column(default=None)
    completion_tokens: Mapped[int | None] = mapped_column(default=None)
    cost_usd: Mapped[float | None] = mapped_column(default=None)  # None: unpriced (or no usage)
    usage_estimated: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    # While it runs: the replica whose task owns the generation, and until when its lease holds.
    owner: Mapped[str | None] = mapped_column(String(120), default=None)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    # An automatic repair: the answer (a sibling) whose failed checks it repairs (0015).
    repair_of: Mapped[str | None] = mapped_column(String(36), default=None)
