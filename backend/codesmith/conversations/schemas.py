"""Request and response bodies of conversations and their messages, and the Message -> schema mapping."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from codesmith.conversations.tables import Message
from codesmith.snippets.schemas import SnippetPublic, snippet_fields
from codesmith.snippets.tables import Snippet

# Literals of the enums' values: the OpenAPI schema (and the SPA's generated types) list them as strings.
Role = Literal["user", "assistant"]
Kind = Literal["request", "feedback", "generation"]
Status = Literal["pending", "streaming", "complete", "failed", "cancelled", "interrupted", "rejected"]


class MessageError(BaseModel):
    code: str
    detail: str


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None = Field(description="null when the model has no price.")


class MessagePublic(BaseModel):
    id: str
    conversation_id: str
    parent_id: str | None
    role: Role
    kind: Kind
    content: str
    status: Status
    error: MessageError | None
    model_id: str | None
    usage: Usage | None
    snippets: list[SnippetPublic]
    created_at: datetime
    completed_at: datetime | None
    repair_of: str | None = Field(
        description="An automatic repair: the answer (a sibling) whose code failed its check; null otherwise."
    )


ConversationSource = Literal["app", "api", "import"]
_SOURCE = (
    "Where it was started: `app`, `api` (the OpenAI-compatible `/v1/chat/completions`), "
    "or `import` (POST /users/me/import)."
)


class ConversationListItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    title: str
    model_id: str | None
    language: str | None
    source: ConversationSource = Field(description=_SOURCE)
    created_at: datetime
    updated_at: datetime
    preview: str | None = Field(description="The first snippet's first lines.")


class ConversationPublic(BaseModel):
    """The detail view: the whole message tree as a flat list, oldest first."""

    id: str
    title: str
    model_id: str | None
    language: str | None
    source: ConversationSource = Field(description=_SOURCE)
    created_at: datetime
    updated_at: datetime
    messages: list[MessagePublic]


class ConversationUpdate(BaseModel):
    title: str = Field(min_length=1, max_length=200)

    @field_validator("title", mode="before")
    @classmethod
    def _trim(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value


# -- generation requests ------------------------------------------------------------------------------
_LANGUAGE_PATTERN = r"^[\w+#. -]{1,40}$"
ModelChoice = Annotated[
    str | None,
    Field(description="A model from GET /models; default: the conversation's model, else the default model."),
]
StreamChoice = Annotated[
    bool,
    Field(
        description="true: answer with text/event-stream (start, delta..., done | error); "
        "false: answer 201 with the conversation once the generation has ended."
    ),
]


class ConversationCreate(BaseModel):
    prompt: str = Field(description="What to write, in plain language.")
    model_id: ModelChoice = None
    language: str | None = Field(
        default=None, pattern=_LANGUAGE_PATTERN, description='The programming language wanted, e.g. "Rust".'
    )
    stream: StreamChoice = False

    @field_validator("language", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip() or None
        return value


class MessageCreate(BaseModel):
    content: str = Field(description="Feedback on an answer (what to change), or the edited text of `edit_of`.")
    parent_id: str | None = Field(
        default=None, description="The assistant message the feedback is about; default: the newest one."
    )
    edit_of: str | None = Field(
        default=None,
        description="A user message (request or feedback) of the conversation to edit: `content` becomes a new "
        "version of it (a sibling: same parent, same kind) with a new generation under it. Not with parent_id.",
    )
    model_id: ModelChoice = None
    stream: StreamChoice = False

    @model_validator(mode="after")
    def _one_anchor(self) -> MessageCreate:
        if self.parent_id is not None and self.edit_of is not None:
            raise ValueError("Give parent_id (feedback on an answer) or edit_of (a new version of a prompt), not both.")
        return self


class RegenerateRequest(BaseModel):
    model_id: ModelChoice = None
    stream: StreamChoice = False


# -- the Message mapping ------------------------------------------------------------------------------
def message_fields(message: Any, snippets: list[dict[str, Any]]) -> dict[str, Any]:
    """The contract's Message as plain fields, from a Message or a row of the messages table (the detail
    reads rows: no ORM object per message); `snippets` as snippet_fields() gives them, in answer order."""
    error_code, prompt_tokens = message.error_code, message.prompt_tokens
    return {
        "id": message.id,
        "conversation_id": message.conversation_id,
        "parent_id": message.parent_id,
        "role": message.role,
        "kind": message.kind,
        "content": message.content,
        "status": message.status,
        "error": None if error_code is None else {"code": error_code, "detail": message.error_detail or ""},
        "model_id": message.model_id,
        "usage": None
        if prompt_tokens is None
        else {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": message.completion_tokens or 0,
            "cost_usd": message.cost_usd,
        },
        "snippets": snippets,
        "created_at": message.created_at,
        "completed_at": message.completed_at,
        "repair_of": message.repair_of,
    }


def message_public(message: Message, snippets: Iterable[Snippet] = ()) -> MessagePublic:
    """The contract's Message; `snippets` are this message's, in any order (sorted by position here)."""
    ordered = sorted(snippets, key=lambda snippet: snippet.position)
    return MessagePublic.model_validate(message_fields(message, [snippet_fields(snippet) for snippet in ordered]))
