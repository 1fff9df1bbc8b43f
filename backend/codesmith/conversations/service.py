"""Conversations, read side: ownership, the list (with search), the detail with its message tree,
renaming and deletion."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy import ColumnElement, column, literal_column, or_, select, table
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.conversations import search
from codesmith.conversations.schemas import (
    ConversationListItem,
    ConversationPublic,
    MessagePublic,
    message_public,
)
from codesmith.conversations.tables import Conversation, Message
from codesmith.errors import NotFound
from codesmith.pagination import Page, page_of, paginate
from codesmith.snippets import service as snippets
from codesmith.snippets.service import SearchTerm, fts_match, search_terms, ts_matches
from codesmith.users.tables import User

# The FTS5 virtual table of migration 0004: conversation titles and user requests, one row each.
conversation_search = table("conversation_search", column("conversation_id"), column("user_id"))


class GenerationCanceller(Protocol):
    """What deletion needs of the generation manager (app.state.generations)."""

    async def cancel_conversation(self, conversation_id: str) -> None: ...


async def get_owned(session: AsyncSession, user: User, conversation_id: str) -> Conversation:
    """The user's conversation; another user's answers exactly like a missing one."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None or conversation.user_id != user.id:
        raise NotFound("conversation")
    return conversation


async def list_conversations(
    session: AsyncSession, user: User, *, q: str | None = None, limit: int = 20, cursor: str | None = None
) -> Page[ConversationListItem]:
    dialect = session.get_bind().dialect.name
    terms = search_terms(q)
    if dialect == "sqlite" and search.pages_by_index(terms):
        found = await search.search_page(session, user.id, terms[0], limit=limit, cursor=cursor)
        rows, next_cursor = page_of(found, limit)
        return Page(items=[ConversationListItem.model_validate(row) for row in rows], next_cursor=next_cursor)
    query = select(Conversation).where(Conversation.user_id == user.id)
    for term in terms:
        query = query.where(_conversation_matches(term, user.id, dialect))
    paged = paginate(query, Conversation.created_at, Conversation.id, limit=limit, cursor=cursor)
    rows, next_cursor = page_of(list((await session.execute(paged)).scalars()), limit)
    return Page(items=[ConversationListItem.model_validate(row) for row in rows], next_cursor=next_cursor)


def _conversation_matches(term: SearchTerm, user_id: str, dialect: str) -> ColumnElement[bool]:
    """The term in the title, in one of the user's requests (words starting like it), or in the code of
    an answer (a substring)."""
    in_code = Conversation.id.in_(snippets.conversations_with_code(term, user_id, dialect))
    if dialect == "postgresql":
        # Migration 0009's expression indexes; the partial one's predicate is spelled as a literal too.
        requests = select(Message.conversation_id).where(
            Message.user_id == user_id,
            Message.role == literal_column("'user'"),
            ts_matches(Message.content, term),
        )
        return or_(ts_matches(Conversation.title, term), Conversation.id.in_(requests), in_code)
    if dialect != "sqlite":
        pattern = term.like_pattern()
        requests = select(Message.conversation_id).where(
            Message.user_id == user_id, Message.role == "user", Message.content.ilike(pattern, escape="\\")
        )
        return or_(Conversation.title.ilike(pattern, escape="\\"), Conversation.id.in_(requests), in_code)
    if not term.has_word:
        return in_code  # punctuation only: nothing for the word index, but code may hold it
    words = select(conversation_search.c.conversation_id).where(
        fts_match("conversation_search", search.words_expression(term, user_id)),
        conversation_search.c.user_id == user_id,
    )
    return or_(Conversation.id.in_(words), in_code)


async def get_detail(session: AsyncSession, user: User, conversation_id: str) -> ConversationPublic:
    return await conversation_public(session, await get_owned(session, user, conversation_id))


async def conversation_public(session: AsyncSession, conversation: Conversation) -> ConversationPublic:
    """The detail view: every message of the tree, oldest first, with its snippets (two queries)."""
    result = await session.execute(
        select(Message).where(Message.conversation_id == conversation.id).order_by(Message.created_at, Message.id)
    )
    snippets_by_message = await snippets.snippets_of_messages(session, conversation.id)
    messages = [
        message_public(message, snippets_by_message.get(message.id, ())) for message in parents_first(result.scalars())
    ]
    return _detail(conversation, messages)


def _detail(conversation: Conversation, messages: list[MessagePublic]) -> ConversationPublic:
    return ConversationPublic(
        id=conversation.id,
        title=conversation.title,
        model_id=conversation.model_id,
        language=conversation.language,
        source=conversation.source,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        messages=messages,
    )


def parents_first(messages: Iterable[Message]) -> list[Message]:
    """Keep the given (time) order, except that a message never comes before its parent.

    A request and its generation can share a timestamp; readers of the flat list rebuild the tree and
    should always have met the parent already.
    """
    ordered = list(messages)
    present = {message.id for message in ordered}
    placed: set[str] = set()
    waiting: dict[str, list[Message]] = {}
    result: list[Message] = []

    def place(message: Message) -> None:
        stack = [message]
        while stack:
            current = stack.pop()
            result.append(current)
            placed.add(current.id)
            stack.extend(reversed(waiting.pop(current.id, [])))

    for message in ordered:
        parent = message.parent_id
        if parent is None or parent in placed or parent not in present:
            place(message)
        else:
            waiting.setdefault(parent, []).append(message)
    for orphans in waiting.values():  # a cycle cannot be stored, but never drop a message
        result.extend(orphans)
    return result


async def rename(session: AsyncSession, user: User, conversation_id: str, title: str) -> ConversationPublic:
    conversation = await get_owned(session, user, conversation_id)
    conversation.title = title
    await session.flush()
    return await conversation_public(session, conversation)


async def delete_conversation(
    session: AsyncSession,
    user: User,
    conversation_id: str,
    *,
    generations: GenerationCanceller | None = None,
) -> None:
    """Delete a conversation; its messages, snippets and search entries go with it (FK cascades, triggers).

    A running generation is cancelled first, so its task does not write into a deleted conversation.
    """
    conversation = await get_owned(session, user, conversation_id)
    if generations is not None:
        # SQLite has one writer: release anything this request holds (an API token's last_used_at)
        # before waiting on a task that stores the cancelled message.
        await session.commit()
        await generations.cancel_conversation(conversation.id)
    await session.delete(conversation)
    await session.flush()
