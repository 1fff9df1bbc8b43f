"""The export document (what GET /users/me/export writes and POST /users/me/import reads), ChatGPT's
`conversations.json`, and the small bodies of the your-data routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from codesmith.conversations.schemas import ConversationSource, Kind, MessageError, Role, Status
from codesmith.users.schemas import MAX_CHECKED_PASSWORD

EXPORT_FORMAT = "codesmith-export"
EXPORT_VERSION = 1

# Ids of an imported document only link its parts (everything gets new ids): any short string does.
DocumentId = Annotated[str, Field(min_length=1, max_length=100)]
# The message columns are 32-bit integers on PostgreSQL.
TokenCount = Annotated[int, Field(ge=0, le=2**31 - 1)]
RetentionDays = Annotated[int, Field(ge=1, le=3650)]


def _in_utc(value: datetime) -> datetime:
    # A zone-less time is UTC (as the app stores them); one that UTC cannot hold (year 1 east of Greenwich,
    # year 9999 west of it) is refused here rather than failing in the database driver.
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("The time is out of range in UTC.") from None


Timestamp = Annotated[datetime, AfterValidator(_in_utc)]


class ExportUsage(BaseModel):
    prompt_tokens: TokenCount
    completion_tokens: TokenCount
    cost_usd: float | None = Field(default=None, ge=0)


class ExportSnippet(BaseModel):
    id: DocumentId
    language: str | None = Field(default=None, max_length=40)
    title: str = Field(min_length=1, max_length=200)
    code: str
    created_at: Timestamp


class ExportMessage(BaseModel):
    id: DocumentId
    parent_id: DocumentId | None = None
    role: Role
    kind: Kind
    content: str
    status: Status
    error: MessageError | None = None
    model_id: str | None = Field(default=None, max_length=36)
    usage: ExportUsage | None = None
    created_at: Timestamp
    completed_at: Timestamp | None = None
    snippets: list[ExportSnippet] = Field(default_factory=list)


class ExportConversation(BaseModel):
    id: DocumentId
    title: str = Field(min_length=1, max_length=200)
    model_id: str | None = Field(default=None, max_length=36)
    language: str | None = Field(default=None, max_length=40)
    source: ConversationSource = "app"
    created_at: Timestamp
    updated_at: Timestamp
    messages: list[ExportMessage] = Field(description="The tree: every parent before its children.")


class ExportModel(BaseModel):
    """One of the user's own models (never its key)."""

    id: str
    name: str
    provider: str
    model: str
    base_url: str | None
    context_window: int
    input_cost_per_mtok: float | None
    output_cost_per_mtok: float | None
    lora_adapter: str | None
    created_at: Timestamp


class ExportUser(BaseModel):
    id: str
    email: str
    created_at: Timestamp


class ExportSettings(BaseModel):
    retention_days: int | None = None
    auto_repair: bool = True


class CodesmithExport(BaseModel):
    """A user's data: conversations newest first, each a message tree with its snippets."""

    format: Literal["codesmith-export"]
    version: Literal[1]
    exported_at: Timestamp
    user: ExportUser
    settings: ExportSettings = Field(default_factory=ExportSettings)
    models: list[ExportModel] = Field(default_factory=list)
    conversations: list[ExportConversation]


# -- ChatGPT's conversations.json -----------------------------------------------------------------------
# Seconds since 1970; bounded so that no timestamp overflows a datetime.
EpochSeconds = Annotated[float, Field(ge=0, le=32_503_680_000)]


class ChatGPTAuthor(BaseModel):
    role: str = Field(max_length=64)


class ChatGPTContent(BaseModel):
    content_type: str = Field(default="text", max_length=64)
    # Text parts are strings; images and files are objects (left out).
    parts: list[Any] | None = None


class ChatGPTMessage(BaseModel):
    author: ChatGPTAuthor
    content: ChatGPTContent | None = None
    create_time: EpochSeconds | None = None
    # Messages to a tool (the code interpreter, browsing) are not part of the conversation a person reads.
    recipient: str | None = Field(default=None, max_length=200)


class ChatGPTNode(BaseModel):
    id: str | None = Field(default=None, max_length=200)
    message: ChatGPTMessage | None = None
    parent: str | None = Field(default=None, max_length=200)
    children: list[str] = Field(default_factory=list)


class ChatGPTConversation(BaseModel):
    title: str | None = None
    create_time: EpochSeconds | None = None
    update_time: EpochSeconds | None = None
    mapping: dict[str, ChatGPTNode]
    current_node: str | None = None
    id: str | None = Field(default=None, min_length=1, max_length=150)
    conversation_id: str | None = Field(default=None, min_length=1, max_length=150)

    @model_validator(mode="after")
    def _has_an_id(self) -> ChatGPTConversation:
        if self.id is None and self.conversation_id is None:
            raise ValueError("A ChatGPT conversation needs an id (or conversation_id).")
        return self

    @property
    def origin_id(self) -> str:
        return self.conversation_id or self.id or ""


# -- route bodies -----------------------------------------------------------------------------------------
class ImportProblem(BaseModel):
    index: int = Field(description="The conversation's position in the document.")
    title: str | None
    detail: str


class ImportResult(BaseModel):
    imported: int = Field(description="Conversations added.")
    skipped: int = Field(description="Conversations imported before (the same origin id): nothing added.")
    errors: list[ImportProblem] = Field(description="Conversations left out, with why (the rest was imported).")


class AccountDeletion(BaseModel):
    password: str = Field(max_length=MAX_CHECKED_PASSWORD, description="The account's password, to confirm.")


class UserUpdate(BaseModel):
    retention_days: RetentionDays | None = Field(
        default=None,
        description="Delete my conversations not updated for this many days (null: keep them); "
        "the server's CODESMITH_RETENTION_DAYS still applies when it is shorter.",
    )
    auto_repair: bool | None = Field(
        default=None,
        description="Ask the model once more when an answer's code fails its check (off: keep the answer as it is). "
        "Null leaves it unchanged.",
    )
