"""Deleting a snippet (gone from lists and search), identical code listed once, and one file name rule."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from codesmith.conversations.tables import Conversation, Message
from tests.conftest import RegisterUser, UserHandle
from tests.snippets.seed import PYTHON_ANSWER, Seeded, add_answer_with_snippets, seed_conversation, sessionmaker_of

ONLY_IN_THE_FIRST = "reversed(text"  # a substring of the first snippet's code, and of nothing else


async def _items(client: httpx.AsyncClient, user: UserHandle, **params: str | int) -> list[dict[str, str]]:
    response = await client.get("/snippets", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, str]] = response.json()["items"]
    return items


async def another_version(app: FastAPI, seeded: Seeded, user_id: str, answer: str, *, later: int = 1) -> list[str]:
    """A regenerated answer: a sibling of the seeded one, `later` minutes after it, with its snippets stored."""
    async with sessionmaker_of(app)() as session:
        first = await session.get(Message, seeded.answer_id)
        assert first is not None
        stamp = first.created_at + timedelta(minutes=later)
    return await add_answer_with_snippets(app, seeded, user_id, answer, completed_at=stamp + timedelta(seconds=1))


class TestDelete:
    async def test_204_and_gone_from_the_list_the_snippet_and_search(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        first, second = seeded.snippet_ids
        assert [item["id"] for item in await _items(client, user, q=ONLY_IN_THE_FIRST)] == [first]
        conversations = await client.get("/conversations", params={"q": ONLY_IN_THE_FIRST}, headers=user.headers)
        assert [c["id"] for c in conversations.json()["items"]] == [seeded.id]

        response = await client.delete(f"/snippets/{first}", headers=user.headers)
        assert response.status_code == 204 and response.content == b""

        assert [item["id"] for item in await _items(client, user)] == [second]
        assert await _items(client, user, q=ONLY_IN_THE_FIRST) == []  # the search index followed
        assert await _items(client, user, q="rev") == [await _one(client, user, second)]  # short terms too
        conversations = await client.get("/conversations", params={"q": ONLY_IN_THE_FIRST}, headers=user.headers)
        assert conversations.json()["items"] == []  # nor does its conversation match by that code
        for path in (f"/snippets/{first}", f"/snippets/{first}/raw"):
            assert (await client.get(path, headers=user.headers)).status_code == 404
        again = await client.delete(f"/snippets/{first}", headers=user.headers)
        assert again.status_code == 404 and again.json()["code"] == "not_found"
        # The answer itself is untouched: only the snippet is gone.
        detail = (await client.get(f"/conversations/{seeded.id}", headers=user.headers)).json()
        assert ONLY_IN_THE_FIRST in detail["messages"][1]["content"]
        assert [s["id"] for s in detail["messages"][1]["snippets"]] == [second]

    async def test_another_users_snippet_is_404_and_stays(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, register_user: RegisterUser
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        other = await register_user()
        response = await client.delete(f"/snippets/{seeded.snippet_ids[0]}", headers=other.headers)
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        missing = await client.delete("/snippets/nope", headers=other.headers)
        assert missing.json() == response.json()  # existence is not leaked
        assert len(await _items(client, user)) == 2

    async def test_needs_authentication(self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle) -> None:
        seeded = await seed_conversation(app, user.id)
        assert (await client.delete(f"/snippets/{seeded.snippet_ids[0]}")).status_code == 401

    async def test_the_conversations_preview_moves_to_the_next_snippet(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        await client.delete(f"/snippets/{seeded.snippet_ids[0]}", headers=user.headers)
        preview = await _preview(app, seeded.id)
        assert preview is not None and preview.startswith("def test_reverse_words():")
        await client.delete(f"/snippets/{seeded.snippet_ids[1]}", headers=user.headers)
        assert await _preview(app, seeded.id) is None


async def _one(client: httpx.AsyncClient, user: UserHandle, snippet_id: str) -> dict[str, str]:
    response = await client.get(f"/snippets/{snippet_id}", headers=user.headers)
    assert response.status_code == 200
    item: dict[str, str] = response.json()
    return item


async def _preview(app: FastAPI, conversation_id: str) -> str | None:
    async with sessionmaker_of(app)() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation.preview


class TestIdenticalCodeIsListedOnce:
    async def test_versions_of_an_answer_with_the_same_code_show_the_newest_copy(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        newer = await another_version(app, seeded, user.id, PYTHON_ANSWER)
        newest = await another_version(app, seeded, user.id, PYTHON_ANSWER, later=2)
        assert [item["id"] for item in await _items(client, user)] == newest
        assert [item["id"] for item in await _items(client, user, language="py")] == newest
        assert [item["id"] for item in await _items(client, user, q="reverse_words")] == newest
        assert len(set(newer) | set(newest) | set(seeded.snippet_ids)) == 6  # all stored, listed once

    async def test_changed_code_and_other_conversations_are_listed(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        changed = PYTHON_ANSWER.replace("assert reverse_words('a b')", "assert reverse_words('x y z')")
        newer = await another_version(app, seeded, user.id, changed.replace("'b a'", "'z y x'"))
        elsewhere = await seed_conversation(app, user.id)  # the same code in another conversation
        ids = [item["id"] for item in await _items(client, user)]
        # The first block is identical (only the newest copy stays), the two tests differ (both stay), and
        # the other conversation lists its own.
        assert ids == newer + elsewhere.snippet_ids + [seeded.snippet_ids[1]]

    async def test_pages_cover_each_distinct_snippet_once(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        expected: list[str] = []
        for _ in range(3):
            seeded = await seed_conversation(app, user.id)
            await another_version(app, seeded, user.id, PYTHON_ANSWER)
            expected += await another_version(app, seeded, user.id, PYTHON_ANSWER, later=2)
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 1} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/snippets", params=params, headers=user.headers)).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(seen) == sorted(expected) and len(seen) == 6


class TestFilename:
    async def test_the_list_and_the_raw_download_name_the_file_alike(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        answer = PYTHON_ANSWER + "\n```python title=tools/cli.py\nprint(1)\n```\n```sh\necho hi\n```\n"
        seeded = await seed_conversation(app, user.id, answer=answer)
        items = await _items(client, user)
        assert sorted(item["filename"] for item in items) == sorted(
            ["reverse_words.py", "test_reverse_words.py", "cli.py", "echo_hi.sh"]
        )
        for item in items:
            raw = await client.get(f"/snippets/{item['id']}/raw", headers=user.headers)
            assert raw.headers["content-disposition"] == f'attachment; filename="{item["filename"]}"'
            assert (await _one(client, user, item["id"]))["filename"] == item["filename"]
        detail = (await client.get(f"/conversations/{seeded.id}", headers=user.headers)).json()
        assert [s["filename"] for s in detail["messages"][1]["snippets"]][:2] == [
            "reverse_words.py",
            "test_reverse_words.py",
        ]
