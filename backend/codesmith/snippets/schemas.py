"""Response bodies of the snippets domain."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from codesmith.snippets.filenames import filename_for


class Diagnostic(BaseModel):
    """One problem a checker found, at its place in the snippet (1-based line and column)."""

    line: int
    column: int
    code: str | None = Field(description="The checker's rule or error code (e.g. F821), when it has one.")
    message: str


class SnippetCheck(BaseModel):
    """What checking the snippet's code found: `passed`, `failed` (with diagnostics) or `unchecked` (a language
    without a checker, a check that ran out of time, or a snippet stored before checks existed)."""

    status: Literal["passed", "failed", "unchecked"]
    checker: str | None = Field(description="What checked it (e.g. ruff, tree-sitter-go, sqlglot); null: nothing.")
    diagnostics: list[Diagnostic] = Field(description="The problems found, in line order (failed only).")


UNCHECKED: dict[str, Any] = {"status": "unchecked", "checker": None, "diagnostics": []}


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
    check: SnippetCheck


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
        "check": snippet.check or UNCHECKED,
    }
