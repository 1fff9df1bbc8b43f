"""Snippets: stored from complete answers, listed, searched, filtered by language and downloaded.

Search on SQLite uses the FTS5 tables of migration 0004 (kept current by triggers). On PostgreSQL, a snippet
matches a term by full text (migration 0009's tsvector index) or by substring of its code or title (ILIKE,
backed by 0004's pg_trgm indexes): code is searched as in an editor, which no word tokenizer can do alone.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    SQLColumnExpression,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    literal_column,
    null,
    or_,
    select,
    table,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from codesmith import recent
from codesmith.conversations.tables import Conversation, Message
from codesmith.db import insert_new, new_id, utcnow
from codesmith.errors import NotFound
from codesmith.fts import Reader, millisecond, top_before
from codesmith.pagination import Page, decode_cursor, page_of, paginate
from codesmith.snippets.checks import Check
from codesmith.snippets.extract import (
    ExtractedSnippet,
    extract_snippets,
    extract_untitled_snippets,
    normalize_language,
)
from codesmith.snippets.schemas import SnippetPublic, snippet_fields
from codesmith.snippets.tables import Snippet
from codesmith.users.tables import User

PREVIEW_LINES = 6
PREVIEW_CHARS = 500
MAX_SEARCH_TERMS = 8
MAX_TERM_CHARS = 100
TRIGRAM = 3  # FTS5's trigram tokenizer cannot match anything shorter
TS_CONFIG = "codesmith_search"  # PostgreSQL's text search configuration (migration 0009)
# Seconds an answer's snippets may take to extract and title (milliseconds, normally) before plain titles do.
EXTRACT_BUDGET_SECONDS = 2.0

logger = logging.getLogger("codesmith.snippets")

# The FTS5 virtual table of migration 0004 (not ORM metadata: Alembic must not manage it).
snippet_search = table("snippet_search", column("snippet_id"), column("conversation_id"), column("user_id"))
# Its rows newest snippet first (keyed by the snippet's created_at since migration 0016), a window at a time.
_NEWEST_CODE = text(
    "SELECT rowid, snippet_id FROM snippet_search "
    "WHERE snippet_search MATCH :expression AND rowid <= :top ORDER BY rowid DESC LIMIT :window"
)
FIRST_WINDOW = 64  # FTS rows read first; doubled each time the page needs more
MAX_WINDOW = 4096


# Storing ------------------------------------------------------------------------------------------------


async def store_snippets(
    session: AsyncSession,
    message: Message,
    extracted: list[ExtractedSnippet] | None = None,
    *,
    replace: bool = True,
    checks: Sequence[Check] | None = None,
) -> list[Snippet]:
    """Replace the message's snippets with one per fenced block of its content (`extracted` when the caller
    parsed it already: before opening a write transaction); fill the conversation's preview once (a
    conditional UPDATE: the conversation need not be loaded). `replace=False`: the message has none yet
    (a generation's final write, in the transaction that ends it). `checks`: each extracted snippet's
    check, computed before the transaction too (snippets/checks/); without them the snippets are stored
    unchecked (NULL: served as unchecked)."""
    if extracted is None:
        extracted = await extract_off_the_loop(message.content)
    if checks is not None and len(checks) != len(extracted):
        raise ValueError("one check per extracted snippet")
    if replace:
        await session.execute(delete(Snippet).where(Snippet.message_id == message.id))
    stamp = message.completed_at or utcnow()
    snippets = [
        Snippet(
            id=new_id(),
            user_id=message.user_id,
            conversation_id=message.conversation_id,
            message_id=message.id,
            position=position,
            language=found.language,
            code=found.code,
            title=found.title,
            check=checks[position] if checks is not None else None,
            # A microsecond apart, earlier blocks newest, so newest-first lists keep the answer's order.
            created_at=stamp + timedelta(microseconds=len(extracted) - 1 - position),
        )
        for position, found in enumerate(extracted)
    ]
    if snippets:
        # One Core INSERT (nothing in this session reads them back); the objects, never added to the
        # session, are what the caller answers with.
        await insert_new(session, snippets)
        preview = {"conversation_id_": message.conversation_id, "preview_": preview_of(snippets[0].code)}
        await session.execute(_FIRST_PREVIEW, preview)
    return snippets


# The conversation's preview from its first snippet, once (Core, built once: nothing in the session holds it).
_CONVERSATIONS: Table = Conversation.__table__  # type: ignore[assignment]  # a mapped class's Table
_FIRST_PREVIEW = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation_id_"), _CONVERSATIONS.c.preview.is_(None))
    .values(preview=bindparam("preview_"))
)


async def extract_off_the_loop(content: str) -> list[ExtractedSnippet]:
    """The answer's snippets, parsed in a worker thread: a model's answer is untrusted input, and the event
    loop serves every other stream meanwhile. Past the budget, the fence parser alone numbers them."""
    try:
        async with asyncio.timeout(EXTRACT_BUDGET_SECONDS):
            return await asyncio.to_thread(extract_snippets, content)
    except TimeoutError:
        # The thread cannot be stopped; it finishes in the background and its result is dropped.
        logger.warning("snippet titles ran out of time; numbered titles used", extra={"chars": len(content)})
        return await asyncio.to_thread(extract_untitled_snippets, content)


def preview_of(code: str) -> str:
    preview = "\n".join(code.split("\n")[:PREVIEW_LINES])
    return preview if len(preview) <= PREVIEW_CHARS else preview[: PREVIEW_CHARS - 1] + "…"


async def snippets_of_messages(session: AsyncSession, conversation_id: str) -> dict[str, list[Snippet]]:
    """Every snippet of a conversation in one query, grouped by message and in answer order."""
    result = await session.execute(
        select(Snippet).where(Snippet.conversation_id == conversation_id).order_by(Snippet.position)
    )
    grouped: dict[str, list[Snippet]] = {}
    for snippet in result.scalars():
        grouped.setdefault(snippet.message_id, []).append(snippet)
    return grouped


# Reading ------------------------------------------------------------------------------------------------


async def get_owned(session: AsyncSession, user: User, snippet_id: str) -> Snippet:
    snippet = await session.get(Snippet, snippet_id)
    if snippet is None or snippet.user_id != user.id:
        raise NotFound("snippet")
    return snippet


_LIST_COLUMNS = [
    *(Snippet.__table__.c[name] for name in ("id", "conversation_id", "message_id", "language", "code", "title")),
    Snippet.__table__.c.created_at,
    Snippet.__table__.c.check_result.label("check"),
]


async def list_snippets(
    session: AsyncSession,
    user: User,
    *,
    q: str | None = None,
    language: str | None = None,
    limit: int = 20,
    cursor: str | None = None,
) -> Page[SnippetPublic]:
    # Identical code in several versions of an answer (or twice in one) is listed once: the newest copy.
    # A per-row condition, so the keyset cursor stays exact whatever the page boundaries.
    newer = aliased(Snippet)
    duplicate = select(newer.id).where(
        newer.conversation_id == Snippet.conversation_id,
        # Not `=`: pg_trgm's GIN index serves equality too, and PostgreSQL may probe it once per candidate
        # (~140 ms each at 1 M messages) instead of comparing a conversation's few snippets.
        newer.code.is_not_distinct_from(Snippet.code),
        tuple_(newer.created_at, newer.id) > tuple_(Snippet.created_at, Snippet.id),
    )
    conditions: list[ColumnElement[bool]] = []
    if language and language.strip():
        normalized = normalize_language(language)
        conditions.append(Snippet.language == normalized)
        duplicate = duplicate.where(newer.language == normalized)
    conditions.append(~duplicate.exists())
    dialect = _dialect(session)
    terms = search_terms(q)
    indexed = [term for term in terms if len(term.text) >= TRIGRAM] if dialect == "sqlite" else []
    conditions += [_snippet_matches(term) for term in terms if term not in indexed]

    async def page(part: recent.Part) -> list[Row[Any]]:
        # Rows of the table's columns, not ORM objects: the page is built straight from them.
        query = select(*_LIST_COLUMNS).where(Snippet.user_id == user.id, *conditions, *part.bounds)
        return list(
            (await session.execute(paginate(query, Snippet.created_at, Snippet.id, limit=limit, cursor=cursor))).all()
        )

    if indexed:
        found = await _indexed_page(session, user.id, indexed, conditions, limit=limit, cursor=cursor)
    elif terms and dialect == "postgresql":
        await plan_for_these_terms(session)
        found = await recent.newest_first(session, Snippet.__table__, user.id, page, limit=limit, cursor=cursor)
    else:
        found = await page(recent.Part())
    rows, next_cursor = page_of(found, limit)
    return Page(items=[SnippetPublic.model_validate(snippet_fields(row)) for row in rows], next_cursor=next_cursor)


async def _indexed_page(
    session: AsyncSession,
    user_id: str,
    terms: list[SearchTerm],
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    cursor: str | None,
) -> list[Row[Any]]:
    """SQLite: up to limit + 1 of the user's snippets matching every term and the conditions, newest first
    after the cursor, read from snippet_search (keyed by the snippet's created_at, migration 0016) a window
    at a time: a page costs what the page needs, however many snippets match."""
    after = decode_cursor(cursor) if cursor else None
    reader = Reader(_NEWEST_CODE, owned_code_expression(user_id, *terms), top_before(after), FIRST_WINDOW, MAX_WINDOW)
    columns = Snippet.__table__.c
    query: Select[Any] = select(*_LIST_COLUMNS, columns.user_id).where(*conditions)
    if after:
        query = query.where(tuple_(columns.created_at, columns.id) < tuple_(*after))
    loaded: list[Row[Any]] = []
    while not reader.done:
        ids = [snippet_id for _, snippet_id in await reader.next_window(session)]
        if ids:
            # The owner is compared here, not in SQL: with `user_id = ?` SQLite would walk the user's index
            # instead of looking the ids up (and the trigram owner token is not unique).
            loaded += [row for row in await session.execute(query.where(columns.id.in_(ids))) if row.user_id == user_id]
        unread = reader.unread_millisecond
        if unread is not None and sum(1 for row in loaded if millisecond(row.created_at) > unread) > limit:
            break
    loaded.sort(key=lambda row: (row.created_at, row.id), reverse=True)
    return loaded[: limit + 1]


# Deleting -----------------------------------------------------------------------------------------------


async def delete_snippet(session: AsyncSession, user: User, snippet_id: str) -> None:
    """Delete one of the user's snippets; the search index follows (SQLite: migration 0004's triggers), and
    a conversation whose preview showed it gets its next snippet's (or none)."""
    snippet = await get_owned(session, user, snippet_id)
    conversation_id, shown = snippet.conversation_id, preview_of(snippet.code)
    await session.delete(snippet)
    await session.flush()
    first = (
        select(Snippet.code)
        .join(Message, Message.id == Snippet.message_id)
        .where(Snippet.conversation_id == conversation_id)
        .order_by(Message.created_at, Snippet.position)
        .limit(1)
    )
    code = (await session.execute(first)).scalar_one_or_none()
    await session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.preview == shown)
        .values(preview=preview_of(code) if code is not None else None)
        .execution_options(synchronize_session=False)
    )


# Search -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchTerm:
    text: str

    @property
    def has_word(self) -> bool:
        """Whether a word tokenizer finds anything in it (`(` or `*` alone: no)."""
        return any(char.isalnum() for char in self.text)

    def fts_prefix(self) -> str:
        """An FTS5 phrase matching words that start like the term; user input stays inside quotes."""
        return '"' + self.text.replace('"', '""') + '"*'

    def fts_substring(self) -> str:
        return '"' + self.text.replace('"', '""') + '"'

    def like_pattern(self) -> str:
        escaped = self.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"%{escaped}%"


_QUERY_TOKEN = re.compile(r'"([^"]+)"|(\S+)')


def search_terms(q: str | None) -> list[SearchTerm]:
    """Whitespace-separated terms ("quoted phrases" kept whole); every term must match somewhere."""
    if not q:
        return []
    cleaned = "".join(char for char in q if char.isprintable() or char.isspace())
    terms: list[SearchTerm] = []
    for phrase, word in _QUERY_TOKEN.findall(cleaned):
        text = " ".join((phrase or word).split())[:MAX_TERM_CHARS]
        if text and SearchTerm(text) not in terms:
            terms.append(SearchTerm(text))
    return terms[:MAX_SEARCH_TERMS]


async def plan_for_these_terms(session: AsyncSession) -> None:
    """PostgreSQL: plan the transaction's next searches for their actual terms. asyncpg prepares statements,
    and after five runs PostgreSQL may switch a statement to one generic plan, made without the pattern: for a
    search that plan is ~25 ms slower at 1 M messages (83 against 57 ms for `?q=tokenizer`). Planning each
    search costs about a millisecond."""
    if _dialect(session) == "postgresql":
        await session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def fts_match(table_name: str, expression: str) -> ColumnElement[Any]:
    """`<table> MATCH :expression`: FTS5 searches every indexed column of the table."""
    return literal_column(table_name).op("MATCH")(expression)


def ts_vector(text: SQLColumnExpression[str]) -> ColumnElement[Any]:
    """PostgreSQL: `to_tsvector('codesmith_search', text)`, exactly as migration 0009's GIN indexes spell it
    (the configuration is a literal, not a bind parameter, so the planner can match the index)."""
    return func.to_tsvector(literal_column(f"'{TS_CONFIG}'"), text)


def ts_prefix_query(term: SearchTerm) -> ColumnElement[Any]:
    """PostgreSQL: the term as one phrase (websearch_to_tsquery of the quoted term: input is never an
    operator) whose last word is a prefix, like SQLite's `"term"*`; NULL (matching nothing) when the
    parser finds no word in it."""
    phrase = '"' + term.text.replace('"', " ") + '"'
    query = func.websearch_to_tsquery(literal_column(f"'{TS_CONFIG}'"), phrase)
    return case((func.numnode(query) == 0, null()), else_=cast(cast(query, Text) + ":*", TSQUERY))


def ts_matches(text: SQLColumnExpression[str], term: SearchTerm) -> ColumnElement[bool]:
    return ts_vector(text).bool_op("@@")(ts_prefix_query(term))


def _snippet_matches(term: SearchTerm) -> ColumnElement[bool]:
    """The term in the snippet's code or title: a substring, case-insensitive, as in an editor (PostgreSQL: served
    by 0004's pg_trgm indexes; SQLite's terms of 3+ characters are matched in snippet_search instead)."""
    pattern = term.like_pattern()
    # The title first: it is short, and where it matches, the code is never lowercased whole (ILIKE on UTF-8).
    return or_(Snippet.title.ilike(pattern, escape="\\"), Snippet.code.ilike(pattern, escape="\\"))


def code_owner_token(user_id: str) -> str:
    """snippet_search's owner token, as migration 0013's triggers write it: three CJK ideographs from hex
    digits 1-3, 4-6 and 7, 8, 10 of the id (one trigram; not unique, so user_id is checked as well)."""

    def digit(position: int) -> int:
        return "0123456789abcdef".find(user_id[position - 1 : position].lower())

    groups = ((1, 2, 3), (4, 5, 6), (7, 8, 10))
    return "".join(chr(0x4E00 + digit(a) * 256 + digit(b) * 16 + digit(c)) for a, b, c in groups)


def owned_code_expression(user_id: str, *terms: SearchTerm) -> str:
    """SQLite: snippet_search's MATCH for every term in the code or title, inside the user's postings."""
    matches = " AND ".join(f"{{title code}} : {term.fts_substring()}" for term in terms)
    return f'owner : "{code_owner_token(user_id)}" AND {matches}'


def _owned_code_match(term: SearchTerm, user_id: str) -> ColumnElement[bool]:
    match = fts_match("snippet_search", owned_code_expression(user_id, term))
    return and_(match, snippet_search.c.user_id == user_id)


def conversations_with_code(term: SearchTerm, user_id: str, dialect: str, since: datetime | None = None) -> Select[Any]:
    """Ids of the user's conversations with a snippet matching the term (among the snippets made since then)."""
    if dialect == "sqlite" and len(term.text) >= TRIGRAM:
        return select(snippet_search.c.conversation_id).where(_owned_code_match(term, user_id))
    query = select(Snippet.conversation_id).where(Snippet.user_id == user_id, _snippet_matches(term))
    return query.where(Snippet.created_at >= since) if since else query


# Download (the file's name: snippets/filenames.py) ---------------------------------------------------------


def raw_text(snippet: Snippet) -> str:
    return snippet.code if snippet.code.endswith("\n") else snippet.code + "\n"
