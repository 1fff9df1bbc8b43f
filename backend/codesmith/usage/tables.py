"""The usage ledger: one record per generation that used tokens, kept when its conversation is deleted;
and its daily rollup, which the usage page reads."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from codesmith.db import Base, IdMixin


class UsageRecord(IdMixin, Base):
    __tablename__ = "usage_records"
    __table_args__ = (
        # Covers the usage page and the day's budget: they read the index, never the table.
        Index(
            "ix_usage_records_user_created",
            "user_id",
            "created_at",
            "model_id",
            "model_name",
            "prompt_tokens",
            "completion_tokens",
            "cost_usd",
            "usage_estimated",
        ),
        # The server keys' shared daily budget, summed over every user.
        Index("ix_usage_records_server_created", "paid_by_server", "created_at", "prompt_tokens", "completion_tokens"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # No foreign keys: the record outlives the message and the conversation it came from.
    message_id: Mapped[str | None] = mapped_column(String(36), default=None)
    conversation_id: Mapped[str | None] = mapped_column(String(36), default=None)
    model_id: Mapped[str | None] = mapped_column(String(36), default=None)
    # The upstream model name at the time, so usage by model survives a model's deletion.
    model_name: Mapped[str | None] = mapped_column(String(300), default=None)
    provider: Mapped[str | None] = mapped_column(String(32), default=None)
    # Called with a key of the server's (its shared daily budget), not the user's own.
    paid_by_server: Mapped[bool] = mapped_column(default=False)
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    cost_usd: Mapped[float | None] = mapped_column(default=None)  # None: unpriced
    usage_estimated: Mapped[bool] = mapped_column(default=False)
    # When the generation started: the day its tokens were reserved from.
    created_at: Mapped[datetime] = mapped_column()


class UsageDay(Base):
    """The ledger summed per user, UTC day and model: what the usage page reads (a few hundred rows for a
    year, whatever the number of generations). Kept in the transaction that adds a ledger record."""

    __tablename__ = "usage_daily"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    # '' stands for none (a primary key's columns are never null): the report reads it back as null.
    model_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    model_name: Mapped[str] = mapped_column(String(300), primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger)
    prompt_tokens: Mapped[int] = mapped_column(BigInteger)
    completion_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_usd: Mapped[float] = mapped_column()  # the priced requests' cost
    priced_requests: Mapped[int] = mapped_column(BigInteger)
    estimated_requests: Mapped[int] = mapped_column(BigInteger)
