"""Snippets: one per fenced code block of a complete assistant message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from codesmith.db import Base, IdMixin
from codesmith.snippets.filenames import filename_for


class Snippet(IdMixin, Base):
    __tablename__ = "snippets"
    __table_args__ = (
        Index("ix_snippets_user_created", "user_id", "created_at", "id"),
        Index("ix_snippets_user_language_created", "user_id", "language", "created_at", "id"),
    )

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(default=0)  # order within the message
    language: Mapped[str | None] = mapped_column(String(40), default=None)
    code: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    # The check's JSON ({"status", "checker", "diagnostics"}); None: stored before checks existed (0015).
    check: Mapped[dict[str, Any] | None] = mapped_column("check_result", JSON, default=None)

    @property
    def filename(self) -> str:
        """The file name to save the code under (the raw download's, computed: never stored)."""
        return filename_for(self.title, self.language)
