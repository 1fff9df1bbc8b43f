"""Response bodies of the snippets domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from codesmith.snippets.filenames import filename_for


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


def snippet_fields(snippet: Any) -> dict[str, Any]:
    """SnippetPublic as plain fields, from a Snippet or a row of the snippets table (lists and the detail
    read rows: no ORM object per snippet)."""
    return {
        "id": snippet.id,
        "conversation_id": snippet.conversation_id,
        "message_id": snippet.message_id,
        "language": snippet.language,
        "code": snippet.code,
        "title": snippet.title,
        "filename": filename_for(snippet.title, snippet.language),
        "created_at": snippet.created_at,
    }
