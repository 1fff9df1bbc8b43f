"""Response bodies of the snippets domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class SnippetPublic(BaseModel):
    """One fenced code block of a complete assistant message."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    conversation_id: str
    message_id: str
    language: str | None
    code: str
    title: str
    created_at: datetime
