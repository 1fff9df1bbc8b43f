"""Search over many conversations (issue 15): every page in the list's order (created_at, then id, newest
first) however the rows were written, the cursor through all of them, and never another user's rows, even
one whose owner token in the index is the same (SQLite's trigram owner token is not unique)."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from codesmith import recent
from codesmith.conversations import search
from codesmith.db import utcnow
from codesmith.users.tables import User
from tests.conftest import UserHandle
from tests.snippets.seed import add_answer_with_snippets, add_message, seed_conversation, sessionmaker_of

ANSWER = "```python\ndef retry_budget(calls: int) -> int:\n    return calls\n```"


async def _all_pages(client: httpx.AsyncClient, user: UserHandle, q: str, limit: int) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"q": q, "limit": limit}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/conversations", params=params, headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


async def _twin_of(app: FastAPI, user: UserHandle) -> str:
    """Another user whose id starts with the same ten characters (the same SQLite trigram owner token)."""
    twin_id = user.id[:10] + ("0" if user.id[10] != "0" else "1") + user.id[11:]
    async with sessionmaker_of(app)() as session:
        stamp = utcnow()
        session.add(User(id=twin_id, email="twin@example.com", password_hash="x", created_at=stamp, updated_at=stamp))
        await session.commit()
    return twin_id


class TestSearchPaging:
    @pytest.mark.parametrize("window", [search.FIRST_WINDOW, 2])
    async def test_pages_follow_the_list_order_whatever_the_writing_order(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        user: UserHandle,
        monkeypatch: pytest.MonkeyPatch,
        window: int,
    ) -> None:
        """Conversations written out of order (an import), many in one millisecond, matching by title, by a
        request added later, by code only, or by code in an answer added later (its snippet is indexed at its
        own, newer time): the pages are the matches sorted newest first, each once
        (SQLite reads its indexes in windows, PostgreSQL the user's newest conversations first, then the rest:
        small windows here make a page take many reads, and a page straddle a window's edge)."""
        monkeypatch.setattr(recent, "WINDOW", window)
        monkeypatch.setattr(search, "FIRST_WINDOW", window)
        monkeypatch.setattr(search, "MAX_WINDOW", max(window, 4))
        base = utcnow() - timedelta(days=30)
        offsets = [timedelta(minutes=n) for n in range(60)] + [timedelta(minutes=7)] * 20  # ties
        random.Random(15).shuffle(offsets)
        expected: list[tuple[object, str]] = []
        for number, offset in enumerate(offsets):
            kind = number % 4
            seeded = await seed_conversation(
                app,
                user.id,
                title="Retry budget helper" if kind == 0 else f"Chat {number}",
                request="Write the helper" if kind != 3 else "Nothing relevant here",
                answer=ANSWER if kind in (1, 2) else "```python\nprint('x')\n```",
                created_at=base + offset,
            )
            if kind == 3 and number % 8 == 3:  # a later request brings the word to an old conversation
                await add_message(
                    app, seeded, user.id, role="user", kind="request", content="add a retry budget",
                    status="complete", created_at=utcnow(),
                )  # fmt: skip
                expected.append((base + offset, seeded.id))
            elif kind == 3 and number % 8 == 7:  # a later answer brings the code to an old conversation
                await add_answer_with_snippets(app, seeded, user.id, ANSWER, completed_at=utcnow())
                expected.append((base + offset, seeded.id))
            elif kind != 3:
                expected.append((base + offset, seeded.id))
        newest_first = [conversation_id for _, conversation_id in sorted(expected, reverse=True)]
        for limit in (1, 7, 100):
            assert await _all_pages(client, user, "retry", limit) == newest_first

    async def test_a_word_in_every_conversation_pages_through_all_of_them(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        base = utcnow() - timedelta(days=3)
        ids = [
            (await seed_conversation(app, user.id, title=f"Function {n}", created_at=base + timedelta(seconds=n))).id
            for n in range(45)
        ]
        assert await _all_pages(client, user, "function", 10) == ids[::-1]

    async def test_another_users_rows_are_never_returned_even_with_the_same_owner_token(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        twin = await _twin_of(app, user)
        for n in range(30):
            await seed_conversation(app, twin, title=f"Retry budget {n}", answer=ANSWER)
        mine = await seed_conversation(app, user.id, title="Mine", answer="```python\nretry_budget = 3\n```")
        assert await _all_pages(client, user, "retry_budget", 5) == [mine.id]
        assert await _all_pages(client, user, "budget", 5) == [mine.id]
        snippets = await client.get("/snippets", params={"q": "retry_budget"}, headers=user.headers)
        assert [item["conversation_id"] for item in snippets.json()["items"]] == [mine.id]

    async def test_index_syntax_in_a_term_is_searched_literally(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        other = await seed_conversation(app, user.id, title="Plain", answer="```python\nx = 1\n```")
        syntax = await seed_conversation(
            app, user.id, title="Owner notes", answer='```python\nq = "owner : u AND {title code} : *"\n```'
        )
        owner_token = "u" + user.id.replace("-", "")
        assert await _all_pages(client, user, owner_token, 5) == []  # the owner column is not searched
        assert await _all_pages(client, user, "{title code}", 5) == [syntax.id]
        assert await _all_pages(client, user, "owner : u", 5) == [syntax.id]
        assert await _all_pages(client, user, "NEAR(x", 5) == []
        assert other.id not in await _all_pages(client, user, '"AND {"', 5)
