"""PostgreSQL's search indexes (migration 0009's full-text GIN indexes, 0004's trigram ones): they exist,
and the app's search queries are written so that the planner can use them (the SQLite counterpart, its
FTS5 tables and triggers: test_search_index.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import ColumnElement, Select, and_, literal, literal_column, select, text

from codesmith.conversations.service import title_matches
from codesmith.conversations.tables import Conversation, Message
from codesmith.snippets.service import SearchTerm, _snippet_matches, ts_matches
from codesmith.snippets.tables import Snippet
from tests.conftest import UserHandle
from tests.snippets.seed import seed_conversation, sessionmaker_of

pytestmark = pytest.mark.postgresql_only

FULLTEXT = {"conversations_title_search_vector", "messages_content_search_fts"}
TRIGRAM = {
    "conversations_title_search_trgm",
    "messages_content_search_trgm",
    "snippets_code_search_trgm",
    "snippets_title_search_trgm",
}


async def _plan(app: FastAPI, query: Select[tuple[str]], table: str) -> str:
    async with sessionmaker_of(app)() as session:
        # Tiny tables: the planner would pick anything. Leave it the search indexes or a sequential scan
        # (dropped in this transaction only, which rolls back).
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        others = await session.scalars(
            text(
                "SELECT indexname FROM pg_indexes WHERE tablename = :table AND indexname NOT LIKE '%\\_search\\_%' "
                "AND indexname::regclass NOT IN (SELECT conindid FROM pg_constraint WHERE conindid <> 0)"
            ),
            {"table": table},
        )
        for name in list(others):
            await session.execute(text(f'DROP INDEX "{name}"'))
        compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        rows = await session.execute(text(f"EXPLAIN {compiled}"))
        return "\n".join(row[0] for row in rows)


async def test_the_search_indexes_exist(app: FastAPI) -> None:
    async with sessionmaker_of(app)() as session:
        names = set((await session.execute(text("SELECT indexname FROM pg_indexes"))).scalars())
        config = await session.scalar(text("SELECT count(*) FROM pg_ts_config WHERE cfgname = 'codesmith_search'"))
    assert names >= FULLTEXT | TRIGRAM
    assert "snippets_search_fts" not in names  # code is searched by substring only (migration 0017)
    assert "conversations_title_search_fts" not in names  # the stored vector's index instead (migration 0018)
    assert config == 1


@pytest.mark.parametrize(
    ("where", "index"),
    [
        (title_matches, "conversations_title_search_vector"),
        (
            lambda term: and_(Message.role == literal_column("'user'"), ts_matches(Message.content, term)),
            "messages_content_search_fts",
        ),
        (lambda term: _snippet_matches(term), "snippets_code_search_trgm"),
    ],
)
async def test_the_search_expressions_are_the_indexed_ones(
    app: FastAPI, user: UserHandle, where: Callable[[SearchTerm], ColumnElement[bool]], index: str
) -> None:
    """The app's expressions must be spelled exactly as the migrations' indexes, or nothing uses them."""
    await seed_conversation(app, user.id)
    table = {"conv": Conversation, "mess": Message, "snip": Snippet}[index[:4]]
    plan = await _plan(app, select(table.id).where(where(SearchTerm("useState"))), table.__tablename__)
    assert index in plan, plan


async def test_diacritics_and_prefixes_match_by_words(app: FastAPI) -> None:
    async with sessionmaker_of(app)() as session:
        matches = await session.scalar(select(ts_matches(literal("Café menu, with retries"), SearchTerm("CAFE men"))))
        prefix = await session.scalar(select(ts_matches(literal("with retries"), SearchTerm("retr"))))
        empty = await session.scalar(select(ts_matches(literal("anything"), SearchTerm("(*)"))))
    assert (matches, prefix, empty) == (True, True, None)
