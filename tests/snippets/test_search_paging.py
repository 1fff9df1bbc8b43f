"""Snippet search over many snippets (issue 15): every page of `GET /snippets?q=` is the plain list's order
(created_at, then id, newest first; identical code of a conversation once) with the non-matching snippets left
out, however the snippets were written: out of order, many in one millisecond, a later answer in an old
conversation. On SQLite the search reads snippet_search newest first a window at a time (migration 0016), on
PostgreSQL it searches the user's newest snippets first (codesmith/recent.py): small windows here make one page
take many reads, and pages straddle a window's edge."""

from __future__ import annotations

import random
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from codesmith import recent
from codesmith.db import utcnow
from codesmith.snippets import service
from tests.conftest import UserHandle
from tests.snippets.seed import add_answer_with_snippets, seed_conversation

MATCHING = "```python\ndef retry_budget(calls: int) -> int:\n    return calls\n```"
OTHER = "```go\nfunc main() {}\n```"
BOTH = f"{MATCHING}\n\nAnd in Go:\n\n```go\n// retry budget\nfunc budget() int {{ return 3 }}\n```"


async def _all_pages(client: httpx.AsyncClient, user: UserHandle, limit: int, **params: str) -> list[dict]:
    items: list[dict] = []
    cursor: str | None = None
    while True:
        query: dict[str, str | int] = {**params, "limit": limit}
        if cursor:
            query["cursor"] = cursor
        response = await client.get("/snippets", params=query, headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def _matches(item: dict, q: str) -> bool:
    text = f"{item['title']} {item['code']}".lower()
    return all(term.lower() in text for term in q.split())


@pytest.fixture
async def many_snippets(app: FastAPI, user: UserHandle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recent, "WINDOW", 3)  # PostgreSQL: the user's 3 newest snippets first, then the rest
    monkeypatch.setattr(service, "FIRST_WINDOW", 2)
    monkeypatch.setattr(service, "MAX_WINDOW", 4)
    base = utcnow() - timedelta(days=30)
    offsets = [timedelta(minutes=n) for n in range(40)] + [timedelta(minutes=7)] * 12  # ties in one millisecond
    random.Random(16).shuffle(offsets)
    for number, offset in enumerate(offsets):
        answer = (MATCHING, OTHER, BOTH)[number % 3]
        seeded = await seed_conversation(app, user.id, title=f"Chat {number}", answer=answer, created_at=base + offset)
        if number % 5 == 0:  # a later version of the answer: the same code again (listed once), and newer code
            later = base + offset + timedelta(days=40)  # newer than every first answer
            await add_answer_with_snippets(
                app, seeded, user.id, f"{answer}\n\n```python\nretry_budget = 2\n```", completed_at=later
            )


class TestSnippetSearchPaging:
    @pytest.mark.usefixtures("many_snippets")
    @pytest.mark.parametrize("q", ["retry_budget", "retry budget", "budget() int", "RETRY", "re", "ry_bu calls"])
    async def test_pages_are_the_list_without_what_does_not_match(
        self, client: httpx.AsyncClient, user: UserHandle, q: str
    ) -> None:
        listed = await _all_pages(client, user, 100)
        expected = [item["id"] for item in listed if _matches(item, q)]
        assert expected  # the data has matches for every query
        for limit in (1, 3, 50):
            assert [item["id"] for item in await _all_pages(client, user, limit, q=q)] == expected

    @pytest.mark.usefixtures("many_snippets")
    async def test_with_a_language_too(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        listed = await _all_pages(client, user, 100, language="go")
        expected = [item["id"] for item in listed if _matches(item, "budget")]
        assert expected
        assert [item["id"] for item in await _all_pages(client, user, 2, q="budget", language="go")] == expected

    async def test_nothing_matching_is_an_empty_page(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        await seed_conversation(app, user.id, answer=OTHER)
        response = await client.get("/snippets", params={"q": "retry_budget"}, headers=user.headers)
        assert response.json() == {"items": [], "next_cursor": None}
