"""POST /users/me/import: the whole document is validated (and planned) before anything is written, then
each conversation is inserted once per origin: the same document imported twice adds nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.conversations.tables import ACTIVE_STATUSES, Conversation, Message, MessageStatus, Role
from codesmith.db import new_id
from codesmith.models.service import visible_to
from codesmith.models.tables import Model
from codesmith.snippets.service import preview_of
from codesmith.snippets.tables import Snippet
from codesmith.users.tables import User
from codesmith.yourdata import chatgpt
from codesmith.yourdata.plan import (
    DocumentInvalid,
    Loc,
    Plan,
    PlannedConversation,
    PlannedMessage,
    PlannedSnippet,
    broken_links,
    parents_first,
    raise_if_any,
)
from codesmith.yourdata.schemas import (
    EXPORT_FORMAT,
    ChatGPTConversation,
    CodesmithExport,
    ExportConversation,
    ExportMessage,
    ImportProblem,
    ImportResult,
)

_KINDS_OF_ROLE = {"user": {"request", "feedback"}, "assistant": {"generation"}}
_CHATGPT = TypeAdapter(list[ChatGPTConversation])
_CODESMITH = TypeAdapter(CodesmithExport)
# Conversations written per transaction: SQLite has one writer, and a large import must not hold it for
# long. Each conversation is whole in one transaction; importing again completes an interrupted import.
COMMIT_EVERY = 100
T = TypeVar("T")


# -- reading the document ---------------------------------------------------------------------------------
def parse(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise DocumentInvalid([{"loc": ["body"], "msg": "The body is not JSON."}]) from None


async def plan_import(body: bytes) -> Plan:
    """Validate the document and turn it into rows to write; DocumentInvalid (422) names every problem.

    Parsing and validating tens of megabytes takes seconds: a worker thread does it, never the event loop.
    """
    document = await asyncio.to_thread(_checked, body)
    if isinstance(document, CodesmithExport):
        return await asyncio.to_thread(plan_codesmith, document)
    return await chatgpt.plan(document)


def _checked(body: bytes) -> CodesmithExport | list[ChatGPTConversation]:
    document = parse(body)
    if isinstance(document, dict) and document.get("format") == EXPORT_FORMAT:
        return _validated(_CODESMITH, document)
    if isinstance(document, list):
        conversations = _validated(_CHATGPT, document)
        raise_if_any(chatgpt.tree_problems(conversations))
        return conversations
    raise DocumentInvalid(
        [
            {
                "loc": ["body", "format"] if isinstance(document, dict) else ["body"],
                "msg": f'Unknown format: expected a Codesmith export ("format": "{EXPORT_FORMAT}") '
                "or ChatGPT's conversations.json (a list of conversations).",
            }
        ]
    )


def _validated(adapter: TypeAdapter[T], document: Any) -> T:
    try:
        return adapter.validate_python(document)
    except ValidationError as exc:
        errors = [{"loc": ["body", *error["loc"]], "msg": error["msg"]} for error in exc.errors(include_input=False)]
        raise DocumentInvalid(errors) from None


# -- the Codesmith format ---------------------------------------------------------------------------------
def plan_codesmith(document: CodesmithExport) -> Plan:
    raise_if_any([problem for index, c in enumerate(document.conversations) for problem in _tree_problems(index, c)])
    plan = Plan()
    for index, conversation in enumerate(document.conversations):
        if not conversation.messages:
            plan.problems.append(
                ImportProblem(index=index, title=conversation.title, detail="It has no message to import.")
            )
            continue
        plan.conversations.append(_planned_conversation(conversation))
    return plan


def _tree_problems(index: int, conversation: ExportConversation) -> list[dict[str, Any]]:
    def loc(position: int, name: str) -> Loc:
        return ["body", "conversations", index, "messages", position, name]

    position_of: dict[str, int] = {}
    errors: list[dict[str, Any]] = []
    for position, message in enumerate(conversation.messages):
        if message.id in position_of:
            errors.append({"loc": loc(position, "id"), "msg": "Two messages of this conversation have this id."})
        position_of[message.id] = position
        if message.kind not in _KINDS_OF_ROLE[message.role]:
            wrong = f"A {message.role} message cannot be a {message.kind}."
            errors.append({"loc": loc(position, "kind"), "msg": wrong})
    parents = {message.id: message.parent_id for message in conversation.messages}
    missing, cycles = broken_links(parents)
    unknown, cycle = "No message of this conversation has this id.", "The messages' parents form a cycle."
    errors += [{"loc": loc(position_of[m], "parent_id"), "msg": unknown} for m in missing]
    errors += [{"loc": loc(position_of[m], "parent_id"), "msg": cycle} for m in cycles]
    return errors


def _planned_conversation(conversation: ExportConversation) -> PlannedConversation:
    parents = {message.id: message.parent_id for message in conversation.messages}
    by_id = {message.id: message for message in conversation.messages}
    # A conversation is never newer than what it holds, as in the app: searches read a conversation's requests
    # and code from its created_at on (conversations/search.py, codesmith/recent.py).
    held = [moment for message in conversation.messages for moment in _moments(message)]
    return PlannedConversation(
        import_key=f"codesmith:{conversation.id}",
        title=conversation.title,
        model_id=conversation.model_id,
        language=conversation.language,
        created_at=min([conversation.created_at, *held]),
        updated_at=conversation.updated_at,
        messages=[_planned_message(by_id[key]) for key in parents_first(by_id, parents)],
    )


def _moments(message: ExportMessage) -> list[datetime]:
    return [message.created_at, *(snippet.created_at for snippet in message.snippets)]


def _planned_message(message: ExportMessage) -> PlannedMessage:
    # A generation that was running when exported has nothing running it here.
    status = MessageStatus.INTERRUPTED if message.status in ACTIVE_STATUSES else message.status
    completed = message.completed_at or (message.created_at if status != message.status else None)
    return PlannedMessage(
        key=message.id,
        parent_key=message.parent_id,
        role=message.role,
        kind=message.kind,
        content=message.content,
        status=status,
        created_at=message.created_at,
        completed_at=completed,
        error_code=message.error.code[:64] if message.error else None,
        error_detail=message.error.detail if message.error else None,
        model_id=message.model_id,
        prompt_tokens=message.usage.prompt_tokens if message.usage else None,
        completion_tokens=message.usage.completion_tokens if message.usage else None,
        cost_usd=message.usage.cost_usd if message.usage else None,
        snippets=[PlannedSnippet(s.language, s.title, s.code, s.created_at) for s in message.snippets],
    )


# -- writing ----------------------------------------------------------------------------------------------
async def store(session: AsyncSession, user: User, plan: Plan) -> ImportResult:
    """Insert the planned conversations (committing every COMMIT_EVERY); one whose origin this user already
    imported is skipped."""
    visible = set((await session.execute(select(Model.id).where(visible_to(user)))).scalars())
    imported = 0
    for number, conversation in enumerate(plan.conversations, start=1):
        imported += await _insert(session, user.id, conversation, lambda model_id: model_id in visible)
        if number % COMMIT_EVERY == 0:
            await session.commit()
    skipped = len(plan.conversations) - imported
    return ImportResult(imported=imported, skipped=skipped, errors=plan.problems)


async def _insert(
    session: AsyncSession, user_id: str, planned: PlannedConversation, can_see: Callable[[str], bool]
) -> int:
    """1 when written, 0 when this origin is here already. ON CONFLICT DO NOTHING on the (user, import key)
    index decides, so two imports of one document at once cannot both write it (the later one waits for the
    earlier's transaction, then finds the row)."""

    def model(model_id: str | None) -> str | None:
        return model_id if model_id is not None and can_see(model_id) else None

    conversation_id = new_id()
    values = {
        "id": conversation_id,
        "user_id": user_id,
        "title": planned.title,
        "model_id": model(planned.model_id),
        "language": planned.language,
        "preview": _preview(planned),
        "source": "import",
        "import_key": planned.import_key,
        "created_at": planned.created_at,
        "updated_at": planned.updated_at,
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Conversation)
        .values(values)
        .on_conflict_do_nothing(index_elements=["user_id", "import_key"])
        .returning(Conversation.id)
    )
    if (await session.execute(statement)).first() is None:
        return 0
    ids = {message.key: new_id() for message in planned.messages}
    message_rows = [_message_row(m, ids, conversation_id, user_id, model) for m in planned.messages]
    await _insert_rows(session, Message, message_rows)
    snippet_rows = [
        _snippet_row(snippet, position, ids[message.key], conversation_id, user_id)
        for message in planned.messages
        for position, snippet in enumerate(message.snippets)
    ]
    await _insert_rows(session, Snippet, snippet_rows)
    return 1


async def _insert_rows(session: AsyncSession, table: type[Message] | type[Snippet], rows: list[dict[str, Any]]) -> None:
    batch = 1000  # bounded statements; parents come before children across batches too
    for start in range(0, len(rows), batch):
        await session.execute(insert(table), rows[start : start + batch])


def _preview(planned: PlannedConversation) -> str | None:
    """The first answer's first snippet, as the app fills the preview when an answer first has code."""
    answers = [m for m in planned.messages if m.role == Role.ASSISTANT and m.snippets]
    if not answers:
        return None
    first = min(answers, key=lambda m: m.completed_at or m.created_at)
    return preview_of(first.snippets[0].code)


def _message_row(
    message: PlannedMessage,
    ids: dict[str, str],
    conversation_id: str,
    user_id: str,
    model: Callable[[str | None], str | None],
) -> dict[str, Any]:
    return {
        "id": ids[message.key],
        "conversation_id": conversation_id,
        "user_id": user_id,
        "parent_id": ids[message.parent_key] if message.parent_key is not None else None,
        "role": message.role,
        "kind": message.kind,
        "content": message.content,
        "status": message.status,
        "error_code": message.error_code,
        "error_detail": message.error_detail,
        "model_id": model(message.model_id),
        "model_name": None,
        "prompt_tokens": message.prompt_tokens,
        "completion_tokens": message.completion_tokens,
        "cost_usd": message.cost_usd,
        "usage_estimated": False,
        "created_at": message.created_at,
        "completed_at": message.completed_at,
        "owner": None,
        "lease_until": None,
    }


def _snippet_row(
    snippet: PlannedSnippet, position: int, message_id: str, conversation_id: str, user_id: str
) -> dict[str, Any]:
    return {
        "id": new_id(),
        "user_id": user_id,
        "conversation_id": conversation_id,
        "message_id": message_id,
        "position": position,
        "language": snippet.language,
        "code": snippet.code,
        "title": snippet.title,
        "created_at": snippet.created_at,
    }
