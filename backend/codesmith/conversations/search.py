"""One search term over the user's conversations on SQLite, newest first, reading only as much of the
FTS5 indexes as the page needs (migration 0013).

Both FTS5 tables key their rows by the millisecond of the row's *conversation* created_at (times KEY_SPAN,
plus a sequence number), and hold an owner token. So `owner AND term ORDER BY rowid DESC LIMIT n` walks the
user's matches newest conversation first and stops early, whether the term is in every conversation or in
one of a hundred. Request words (conversation_search) and code (snippet_search) are read side by side in
windows; a conversation is certain once both readers have passed below its millisecond, and the page is
sorted exactly on (created_at, id) among the conversations loaded, so ties inside a millisecond keep the
list's order and its cursor.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, TextClause, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from codesmith.conversations.tables import Conversation
from codesmith.pagination import decode_cursor
from codesmith.snippets.service import TRIGRAM, SearchTerm, owned_code_expression

KEY_SPAN = 2**21  # migration 0013: FTS rows per millisecond of conversation created_at
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


def millisecond(stamp: datetime) -> int:
    """The millisecond of a stored DATETIME, as migration 0013's triggers compute it (its naive fields)."""
    return calendar.timegm(stamp.timetuple()) * 1000 + stamp.microsecond // 1000


@dataclass
class _Reader:
    """One FTS5 table read newest first in windows."""

    statement: TextClause
    expression: str
    top: int  # every row above it has been read
    window: int
    done: bool = False

    async def next_window(self, session: AsyncSession) -> list[tuple[int, str]]:
        params = {"expression": self.expression, "top": self.top, "window": self.window}
        rows = [(int(key), str(conversation)) for key, conversation in await session.execute(self.statement, params)]
        if len(rows) < self.window:
            self.done = True
        else:
            self.top = rows[-1][0] - 1
            self.window = min(self.window * 2, MAX_WINDOW)
        return rows


@dataclass
class _Found:
    """Conversations seen so far: each one's millisecond (from its newest key), and those loaded."""

    buckets: dict[str, int] = field(default_factory=dict)
    loaded: list[Row[Any]] = field(default_factory=list)

    def add(self, rows: list[tuple[int, str]]) -> list[str]:
        new = []
        for key, conversation_id in rows:
            if conversation_id not in self.buckets:
                self.buckets[conversation_id] = key // KEY_SPAN
                new.append(conversation_id)
        return new

    def certain(self, unread_bucket: int) -> int:
        """How many loaded conversations no unread row can precede (unread rows are at most in unread_bucket)."""
        return sum(1 for row in self.loaded if self.buckets[row.id] > unread_bucket)


async def search_page(
    session: AsyncSession, user_id: str, term: SearchTerm, *, limit: int, cursor: str | None
) -> list[Row[Any]]:
    """Up to limit + 1 of the user's conversations matching the term, newest first after the cursor."""
    after = decode_cursor(cursor) if cursor else None
    top = (millisecond(after[0]) + 1) * KEY_SPAN - 1 if after else 2**63 - 1
    readers = [_Reader(_CODE, owned_code_expression(term, user_id), top, FIRST_WINDOW)]
    if term.has_word:
        readers.append(_Reader(_WORDS, words_expression(term, user_id), top, FIRST_WINDOW))
    found = _Found()
    while pending := [reader for reader in readers if not reader.done]:
        # Only the readers furthest behind (highest unread key) hold the page back: advance those.
        frontier = max(reader.top for reader in pending)
        new: list[str] = []
        for reader in pending:
            if reader.top == frontier:
                new += found.add(await reader.next_window(session))
        found.loaded += await _load(session, user_id, new, after)
        unread = [reader.top for reader in readers if not reader.done]
        if unread and found.certain(max(unread) // KEY_SPAN) > limit:
            break
    found.loaded.sort(key=lambda row: (row.created_at, row.id), reverse=True)
    return found.loaded[: limit + 1]


async def _load(
    session: AsyncSession, user_id: str, ids: list[str], after: tuple[datetime, str] | None
) -> list[Row[Any]]:
    """The user's conversations among `ids` that come after the cursor (the owner is checked here as well:
    the trigram owner token is not unique)."""
    if not ids:
        return []
    table = Conversation.__table__
    columns = table.c
    # Core rows, not ORM objects: the list item is built from their attributes all the same. The owner is
    # compared here, not in SQL: with `user_id = ?` SQLite walks the user's index instead of the ids.
    query = select(table).where(columns.id.in_(ids))
    if after:
        query = query.where(tuple_(columns.created_at, columns.id) < tuple_(*after))
    return [row for row in await session.execute(query) if row.user_id == user_id]
