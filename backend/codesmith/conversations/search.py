"""One search term over the user's conversations on SQLite, newest first, reading only as much of the
FTS5 indexes as the page needs (codesmith/fts.py; migrations 0013 and 0016).

Request words (conversation_search, keyed by the conversation's created_at) and code (snippet_search, keyed by
the snippet's own created_at) are read side by side in windows. A snippet is never older than its conversation,
so a row not yet read, by either reader, belongs to a conversation created no later than that reader's unread
millisecond: a loaded conversation created after the newest such millisecond is certain of its place. The page
is sorted exactly on (created_at, id) among the conversations loaded, so ties inside a millisecond keep the
list's order and its cursor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, String, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.conversations.tables import Conversation
from codesmith.fts import NEWEST, Reader, millisecond, top_before, unread_millisecond
from codesmith.pagination import decode_cursor
from codesmith.snippets.service import TRIGRAM, SearchTerm, owned_code_expression

FIRST_WINDOW = 64  # FTS rows a reader reads first; doubled each time it reads again
MAX_WINDOW = 4096

_WORDS = text(
    "SELECT rowid, conversation_id FROM conversation_search "
    "WHERE conversation_search MATCH :expression AND rowid <= :top ORDER BY rowid DESC LIMIT :window"
)
_CODE = text(
    "SELECT rowid, conversation_id FROM snippet_search "
    "WHERE snippet_search MATCH :expression AND rowid <= :top ORDER BY rowid DESC LIMIT :window"
)
_CODE_ABOVE = text(
    "SELECT conversation_id FROM snippet_search WHERE snippet_search MATCH :above_expression AND rowid > :above_top"
)


def word_owner_token(user_id: str) -> str:
    """conversation_search's owner token, as migration 0013 writes it."""
    return "u" + user_id.replace("-", "").lower()


def words_expression(term: SearchTerm, user_id: str) -> str:
    """conversation_search's MATCH for words starting like the term, inside the user's postings."""
    return f'owner : "{word_owner_token(user_id)}" AND body : {term.fts_prefix()}'


def pages_by_index(terms: list[SearchTerm]) -> bool:
    """Whether the index-ordered page applies: one term that both of its indexes can answer (a shorter term
    is matched in code with LIKE; several terms may match in different rows of one conversation)."""
    return len(terms) == 1 and len(terms[0].text) >= TRIGRAM


@dataclass
class _Found:
    """Conversations seen so far, and those of them loaded (the user's, after the cursor)."""

    seen: set[str] = field(default_factory=set)
    loaded: list[Row[Any]] = field(default_factory=list)

    def add(self, rows: list[tuple[int, str]]) -> list[str]:
        new = list(dict.fromkeys(conversation_id for _, conversation_id in rows if conversation_id not in self.seen))
        self.seen.update(new)
        return new

    def certain(self, unread: int) -> int:
        """How many loaded conversations no unread row can precede (their conversations are created at most in
        the unread millisecond)."""
        return sum(1 for row in self.loaded if millisecond(row.created_at) > unread)


async def search_page(
    session: AsyncSession, user_id: str, term: SearchTerm, *, limit: int, cursor: str | None
) -> list[Row[Any]]:
    """Up to limit + 1 of the user's conversations matching the term, newest first after the cursor."""
    after = decode_cursor(cursor) if cursor else None
    top = top_before(after)
    code = owned_code_expression(user_id, term)
    readers = [Reader(_CODE, code, top, FIRST_WINDOW, MAX_WINDOW)]
    if term.has_word:
        readers.append(Reader(_WORDS, words_expression(term, user_id), top, FIRST_WINDOW, MAX_WINDOW))
    found = _Found()
    if top != NEWEST:
        # Code rows are keyed by the snippet's time: a snippet newer than the cursor may be in a conversation
        # older than it. Those conversations come first, in one statement (the rows above the cursor are the
        # matches of the pages already shown).
        late = await _load(session, user_id, _conversations_with_code_above(code, top), after)
        found.seen.update(row.id for row in late)
        found.loaded += late
    while pending := [reader for reader in readers if not reader.done]:
        # Only the readers furthest behind (highest unread key) hold the page back: advance those.
        frontier = max(reader.top for reader in pending)
        new: list[str] = []
        for reader in pending:
            if reader.top == frontier:
                new += found.add(await reader.next_window(session))
        if new:
            found.loaded += await _load(session, user_id, Conversation.__table__.c.id.in_(new), after)
        unread = unread_millisecond(readers)
        if unread is not None and found.certain(unread) > limit:
            break
    found.loaded.sort(key=lambda row: (row.created_at, row.id), reverse=True)
    return found.loaded[: limit + 1]


def _conversations_with_code_above(expression: str, top: int) -> ColumnElement[bool]:
    matching = _CODE_ABOVE.bindparams(above_expression=expression, above_top=top).columns(conversation_id=String)
    return Conversation.__table__.c.id.in_(matching)


async def _load(
    session: AsyncSession, user_id: str, among: ColumnElement[bool], after: tuple[datetime, str] | None
) -> list[Row[Any]]:
    """The user's conversations `among` those named that come after the cursor (the owner is checked here as
    well: the trigram owner token is not unique)."""
    table = Conversation.__table__
    columns = table.c
    # Core rows, not ORM objects: the list item is built from their attributes all the same. The owner is
    # compared here, not in SQL: with `user_id = ?` SQLite walks the user's index instead of the ids.
    query = select(table).where(among)
    if after:
        query = query.where(tuple_(columns.created_at, columns.id) < tuple_(*after))
    return [row for row in await session.execute(query) if row.user_id == user_id]
