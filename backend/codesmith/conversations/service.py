"""Conversations, read side: ownership, the list (with search), the detail with its message tree,
renaming and deletion."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from pydantic_core import to_json
from sqlalchemy import ColumnElement, Row, column, literal_column, or_, select, table, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith import recent
from codesmith.conversations import search
from codesmith.conversations.schemas import ConversationListItem, ConversationPublic, message_fields
from codesmith.conversations.tables import Conversation, Message
from codesmith.errors import NotFound
from codesmith.pagination import Page, page_of, paginate
from codesmith.snippets import service as snippets
from codesmith.snippets.schemas import snippet_fields
from codesmith.snippets.service import SearchTerm, fts_match, search_terms, ts_matches, ts_prefix_query
from codesmith.snippets.tables import Snippet
from codesmith.users.tables import User

# The FTS5 virtual table of migration 0004: conversation titles and user requests, one row each.
conversation_search = table("conversation_search", column("conversation_id"), column("user_id"))

# Read paths select table columns (rows, no ORM objects): the detail of a long conversation and every
# list page build their response straight from them.
_conversations, _messages, _snippets = Conversation.__table__, Message.__table__, Snippet.__table__
_LIST_COLUMNS = [_conversations.c[name] for name in ConversationListItem.model_fields]
_DETAIL_MESSAGE_COLUMNS = [
    _messages.c[name]
    for name in (
        "id",
        "conversation_id",
        "parent_id",
        "role",
        "kind",
        "content",
        "status",
        "error_code",
        "error_detail",
        "model_id",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "created_at",
        "completed_at",
        "repair_of",
    )
]
_DETAIL_SNIPPET_COLUMNS = [
    *(_snippets.c[name] for name in ("id", "conversation_id", "message_id", "language", "code", "title", "created_at")),
    _snippets.c.check_result.label("check"),
]


def _row_type(name: str, columns: Iterable[ColumnElement[Any]]) -> Any:
    """A named tuple of the columns, for the detail's rows: an attribute of a SQLAlchemy Row costs ~0.45 us, of a
    named tuple ~0.05 us, and a 200-message detail reads ~5,000 of them."""
    return namedtuple(name, [column.key for column in columns])  # type: ignore[misc]  # names known at run time


_MessageRow = _row_type("_MessageRow", _DETAIL_MESSAGE_COLUMNS)
_SnippetRow = _row_type("_SnippetRow", _DETAIL_SNIPPET_COLUMNS)


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

    async def page(part: recent.Part) -> list[Row[Any]]:
        query = select(*_LIST_COLUMNS).where(Conversation.user_id == user.id, *part.bounds)
        for term in terms:
            query = query.where(_conversation_matches(term, user.id, dialect, part))
        paged = paginate(query, Conversation.created_at, Conversation.id, limit=limit, cursor=cursor)
        return list((await session.execute(paged)).all())

    if terms and dialect == "postgresql":
        await snippets.plan_for_these_terms(session)
        table = Conversation.__table__
        found = await recent.newest_first(session, table, user.id, page, limit=limit, cursor=cursor)
    else:
        found = await page(recent.Part())
    rows, next_cursor = page_of(found, limit)
    return Page(items=[ConversationListItem.model_validate(row) for row in rows], next_cursor=next_cursor)


# Migration 0018's stored title vector is the database's own column: the model does not declare it.
_TITLE_VECTOR: ColumnElement[Any] = literal_column("conversations.title_search")
_TITLES = table("conversations", column("id"), column("user_id"), column("title_search")).alias("titled")


def title_matches(term: SearchTerm, vector: ColumnElement[Any] = _TITLE_VECTOR) -> ColumnElement[bool]:
    """PostgreSQL: words of the title starting like the term, read from its stored vector."""
    return vector.bool_op("@@")(ts_prefix_query(term))


def _conversation_matches(term: SearchTerm, user_id: str, dialect: str, part: recent.Part) -> ColumnElement[bool]:
    """The term in the title, in one of the user's requests (words starting like it), or in the code of
    an answer (a substring); on PostgreSQL within the part of the list searched (codesmith/recent.py)."""
    code = snippets.conversations_with_code(term, user_id, dialect, part.since)
    in_code = Conversation.id.in_(code)
    if dialect == "postgresql":
        # Migration 0009's expression indexes; the partial one's predicate is spelled as a literal too.
        requests = select(Message.conversation_id).where(
            Message.user_id == user_id,
            Message.role == literal_column("'user'"),
            ts_matches(Message.content, term),
        )
        if part.since:
            requests = requests.where(Message.created_at >= part.since)
        if part.sparse:
            # Every match through the indexes, then ordered: one semi-join on the union of the three.
            in_title = title_matches(term, _TITLES.c.title_search)
            titles = select(_TITLES.c.id).where(_TITLES.c.user_id == user_id, in_title)
            return Conversation.id.in_(union_all(titles, requests, code))
        # Walked in order until the page is full: the title is tested on each row, requests and code hashed.
        return or_(title_matches(term), Conversation.id.in_(requests), in_code)
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


async def get_detail_json(session: AsyncSession, user: User, conversation_id: str) -> bytes:
    """The detail as the JSON that ConversationPublic serializes to, built straight from rows: the rows are
    the app's own, typed by their columns, so no model is validated per message (tests compare the bytes
    with the models')."""
    row = (await session.execute(select(_conversations).where(_conversations.c.id == conversation_id))).first()
    if row is None or row.user_id != user.id:
        raise NotFound("conversation")  # like get_owned
    return to_json(await _detail_fields(session, row))


async def get_detail(session: AsyncSession, user: User, conversation_id: str) -> ConversationPublic:
    return await conversation_public(session, await get_owned(session, user, conversation_id))


async def conversation_public(session: AsyncSession, conversation: Conversation) -> ConversationPublic:
    """The detail view as the model (after a rename or a generation)."""
    return ConversationPublic.model_validate(await _detail_fields(session, conversation))


async def _detail_fields(session: AsyncSession, conversation: Any) -> dict[str, Any]:
    """ConversationPublic's fields, in its order: every message of the tree, oldest first, with its snippets
    (two queries of rows, no ORM object per message or snippet). `conversation`: an object or a row."""
    messages = await session.execute(
        select(*_DETAIL_MESSAGE_COLUMNS)
        .where(_messages.c.conversation_id == conversation.id)
        .order_by(_messages.c.created_at, _messages.c.id)
    )
    snippet_rows = await session.execute(
        select(*_DETAIL_SNIPPET_COLUMNS)
        .where(_snippets.c.conversation_id == conversation.id)
        .order_by(_snippets.c.position)
    )
    snippets_by_message: dict[str, list[dict[str, Any]]] = {}
    for snippet in map(_SnippetRow._make, snippet_rows):
        snippets_by_message.setdefault(snippet.message_id, []).append(snippet_fields(snippet))
    return {
        "id": conversation.id,
        "title": conversation.title,
        "model_id": conversation.model_id,
        "language": conversation.language,
        "source": conversation.source,
        "created_at": conversation.created_at,
        "updated_at": conversation.updated_at,
        "messages": [
            message_fields(message, snippets_by_message.get(message.id, []))
            for message in parents_first(map(_MessageRow._make, messages))
        ],
    }


class _Node(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def parent_id(self) -> str | None: ...


NodeT = TypeVar("NodeT", bound=_Node)


def parents_first(messages: Iterable[NodeT]) -> list[NodeT]:
    """Keep the given (time) order, except that a message never comes before its parent.

    A request and its generation can share a timestamp; readers of the flat list rebuild the tree and
    should always have met the parent already.
    """
    ordered = list(messages)
    present = {message.id for message in ordered}
    placed: set[str] = set()
    waiting: dict[str, list[NodeT]] = {}
    result: list[NodeT] = []

    def place(message: NodeT) -> None:
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
