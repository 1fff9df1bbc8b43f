"""Response bodies of the snippets domain."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class SnippetPublic(BaseModel):
    """One fenced code block of a complete assistant message."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    conversation_id: str
    message_id: str
    language: str | None
    code: str
    title: str
    filename: str = Field(
        description="The file name to save the code under: the one GET /snippets/{id}/raw sends (e.g. add_numbers.py)."
    )
    created_at: datetime
