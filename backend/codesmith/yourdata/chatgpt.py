"""ChatGPT's `conversations.json`: each conversation's `mapping` tree becomes a message tree (user and
assistant text kept, the rest skipped with its children moved up), and code blocks become snippets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from codesmith.conversations.prompt import title_from
from codesmith.conversations.tables import MessageKind, MessageStatus, Role
from codesmith.db import utcnow
from codesmith.snippets.service import extract_off_the_loop
from codesmith.yourdata.plan import (
    Plan,
    PlannedConversation,
    PlannedMessage,
    broken_links,
    parents_first,
    snippets_of,
)
from codesmith.yourdata.schemas import ChatGPTConversation, ChatGPTNode, ImportProblem

_TEXT_CONTENT = {"text", "multimodal_text"}
TITLE_MAX = 200


def tree_problems(conversations: list[ChatGPTConversation]) -> list[dict[str, Any]]:
    """Parents that are not in the mapping, and cycles, located in the document."""
    errors: list[dict[str, Any]] = []
    for index, conversation in enumerate(conversations):
        missing, cycles = broken_links({key: node.parent for key, node in conversation.mapping.items()})
        errors += [
            {"loc": ["body", index, "mapping", key, "parent"], "msg": "No node of this mapping has this id."}
            for key in missing
        ]
        errors += [
            {"loc": ["body", index, "mapping", key, "parent"], "msg": "The nodes' parents form a cycle."}
            for key in cycles
        ]
    return errors


async def plan(conversations: list[ChatGPTConversation]) -> Plan:
    result = Plan()
    for index, conversation in enumerate(conversations):
        planned = await _planned(conversation)
        if planned is None:
            detail = "It has no message of a user or an assistant with text."
            result.problems.append(ImportProblem(index=index, title=conversation.title, detail=detail))
        else:
            result.conversations.append(planned)
    return result


def text_of(node: ChatGPTNode) -> str | None:
    """The text a person reads in a user or assistant message; None for everything else (system prompts,
    tool calls and their output, images, empty nodes)."""
    message = node.message
    if message is None or message.author.role not in (Role.USER, Role.ASSISTANT):
        return None
    if message.recipient not in (None, "all") or message.content is None:
        return None
    if message.content.content_type not in _TEXT_CONTENT:
        return None
    text = "\n".join(part for part in message.content.parts or [] if isinstance(part, str))
    return text if text.strip() else None


async def _planned(conversation: ChatGPTConversation) -> PlannedConversation | None:
    mapping = conversation.mapping
    texts = {key: text for key, node in mapping.items() if (text := text_of(node)) is not None}
    if not texts:
        return None
    started = _time(conversation.create_time) or utcnow()
    kept_parent = _kept_parents(mapping, texts)
    messages: list[PlannedMessage] = []
    created: dict[str, datetime] = {}
    for key in parents_first(texts, kept_parent):
        parent = kept_parent[key]
        at = _time(_node_time(mapping[key])) or started
        if parent is not None and at <= created[parent]:
            at = created[parent] + timedelta(microseconds=1)  # a child never sorts before its parent
        created[key] = at
        messages.append(await _message(key, parent, mapping[key], texts[key], at))
    request = next((m.content for m in messages if m.kind == MessageKind.REQUEST), messages[0].content)
    title = (conversation.title or "").strip() or title_from(request)
    return PlannedConversation(
        import_key=f"chatgpt:{conversation.origin_id}",
        title=" ".join(title.split())[:TITLE_MAX] or "Untitled",
        created_at=min(started, *created.values()),
        updated_at=_time(conversation.update_time) or max(created.values()),
        messages=messages,
    )


def _kept_parents(mapping: dict[str, ChatGPTNode], kept: dict[str, str]) -> dict[str, str | None]:
    """For each kept node, its nearest kept ancestor (skipped nodes hand their children up)."""
    nearest: dict[str, str | None] = {}
    for key in kept:
        node = mapping[key].parent
        while node is not None and node not in kept:
            node = mapping[node].parent
        nearest[key] = node
    return nearest


async def _message(key: str, parent: str | None, node: ChatGPTNode, text: str, at: datetime) -> PlannedMessage:
    assert node.message is not None  # text_of kept it
    if node.message.author.role == Role.USER:
        kind = MessageKind.REQUEST if parent is None else MessageKind.FEEDBACK
        return PlannedMessage(key, parent, Role.USER, kind, text, MessageStatus.COMPLETE, at, at)
    found = snippets_of(await extract_off_the_loop(text), at)
    return PlannedMessage(
        key, parent, Role.ASSISTANT, MessageKind.GENERATION, text, MessageStatus.COMPLETE, at, at, snippets=found
    )


def _node_time(node: ChatGPTNode) -> float | None:
    return node.message.create_time if node.message is not None else None


def _time(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None
