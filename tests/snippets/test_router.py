"""The snippets API: list newest first, search, language filter, one snippet, download, ownership."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from codesmith.db import utcnow
from codesmith.snippets.tables import Snippet
from tests.conftest import RegisterUser, UserHandle
from tests.snippets.seed import PYTHON_ANSWER, seed_conversation, sessionmaker_of

TS_ANSWER = "```ts\nexport function parseArgs(argv: string[]): Options {\n  return {};\n}\n```"
SQL_ANSWER = "```sql\nSELECT id FROM users;\n```"
# Things FTS5's query syntax would choke on, SQL, LIKE wildcards, unicode, an over-long term.
HOSTILE_QUERIES = [
    'foo"bar OR (',
    '"',
    '""',
    "*",
    "NEAR(a b)",
    "a AND",
    "^x",
    "col:val",
    "-",
    "'; DROP TABLE snippets;--",
    "naïve café",
    "日本語",
    "🦀 rust",
    "%_\\",
    "x" * 500,
    "\x00null",
    "OR",
    "{code}: x",
    '"""',
    "(((",
    'a"b"c',
    "NOT x",
    "x*y",
]


async def _list(client: httpx.AsyncClient, user: UserHandle, **params: str | int) -> list[dict[str, str]]:
    response = await client.get("/snippets", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, str]] = response.json()["items"]
    return items


class TestList:
    async def test_newest_first_with_the_contract_fields(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        older = await seed_conversation(app, user.id, answer=SQL_ANSWER, created_at=utcnow() - timedelta(hours=1))
        newer = await seed_conversation(app, user.id, answer=TS_ANSWER)
        items = await _list(client, user)
        assert [item["id"] for item in items] == newer.snippet_ids + older.snippet_ids
        fields = {"id", "conversation_id", "message_id", "language", "code", "title", "filename", "created_at"}
        assert fields <= set(items[0])
        assert items[0]["filename"] == "parseArgs.ts"
        assert items[0]["conversation_id"] == newer.id
        assert items[0]["message_id"] == newer.answer_id
        assert items[0]["language"] == "typescript"
        assert items[0]["title"] == "export function parseArgs(...)"

    async def test_blocks_of_one_answer_keep_the_answer_order(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id, answer=PYTHON_ANSWER)
        items = await _list(client, user)
        assert [item["id"] for item in items] == seeded.snippet_ids
        assert items[0]["title"] == "def reverse_words(...)"
        assert items[1]["title"] == "def test_reverse_words()"

    async def test_only_the_callers_snippets(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, register_user: RegisterUser
    ) -> None:
        other = await register_user()
        await seed_conversation(app, other.id)
        assert await _list(client, user) == []
        assert len(await _list(client, other)) == 2

    async def test_pages_cover_everything_once(self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle) -> None:
        seeded = [await seed_conversation(app, user.id) for _ in range(6)]
        expected = {snippet for one in seeded for snippet in one.snippet_ids}
        seen: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 5} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/snippets", params=params, headers=user.headers)).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(expected) == 12 and set(seen) == expected

    async def test_a_bad_cursor_is_422(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await client.get("/snippets", params={"cursor": "not-a-cursor"}, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    async def test_needs_authentication(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/snippets")).status_code == 401


class TestFilterAndSearch:
    @pytest.fixture
    async def seeded(self, app: FastAPI, user: UserHandle) -> dict[str, list[str]]:
        return {
            "python": (await seed_conversation(app, user.id, answer=PYTHON_ANSWER)).snippet_ids,
            "typescript": (await seed_conversation(app, user.id, answer=TS_ANSWER)).snippet_ids,
            "sql": (await seed_conversation(app, user.id, answer=SQL_ANSWER)).snippet_ids,
        }

    @pytest.mark.parametrize(("language", "expected"), [("python", "python"), ("py", "python"), ("TS", "typescript")])
    async def test_language_filter_uses_normalised_names(
        self,
        client: httpx.AsyncClient,
        user: UserHandle,
        seeded: dict[str, list[str]],
        language: str,
        expected: str,
    ) -> None:
        items = await _list(client, user, language=language)
        assert {item["id"] for item in items} == set(seeded[expected])

    async def test_unknown_language_finds_nothing(
        self, client: httpx.AsyncClient, user: UserHandle, seeded: dict[str, list[str]]
    ) -> None:
        assert await _list(client, user, language="cobol") == []

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("reverse_words", ["python"]),  # an identifier in the code
            ("everse_wor", ["python"]),  # any substring of it
            ("PARSEARGS", ["typescript"]),  # case does not matter
            ("users", ["sql"]),
            ("def test_reverse", ["python"]),  # every term must match
            ('"SELECT id"', ["sql"]),  # a quoted phrase stays whole
        ],
    )
    async def test_search_code_and_titles(
        self,
        client: httpx.AsyncClient,
        user: UserHandle,
        seeded: dict[str, list[str]],
        q: str,
        expected: list[str],
    ) -> None:
        items = await _list(client, user, q=q)
        assert {item["id"] for item in items} <= {s for lang in expected for s in seeded[lang]}
        assert {item["language"] for item in items} == set(expected)

    async def test_search_and_language_combine(
        self, client: httpx.AsyncClient, user: UserHandle, seeded: dict[str, list[str]]
    ) -> None:
        assert await _list(client, user, q="reverse_words", language="sql") == []
        assert len(await _list(client, user, q="reverse_words", language="python")) == 2

    async def test_short_terms_still_search(
        self, client: httpx.AsyncClient, user: UserHandle, seeded: dict[str, list[str]]
    ) -> None:
        items = await _list(client, user, q="[]")  # below the trigram length: LIKE fallback
        assert {item["language"] for item in items} == {"typescript"}

    async def test_no_match(self, client: httpx.AsyncClient, user: UserHandle, seeded: dict[str, list[str]]) -> None:
        assert await _list(client, user, q="kubernetes") == []

    async def test_search_stays_within_the_callers_snippets(
        self,
        client: httpx.AsyncClient,
        app: FastAPI,
        user: UserHandle,
        register_user: RegisterUser,
        seeded: dict[str, list[str]],
    ) -> None:
        other = await register_user()
        assert await _list(client, other, q="reverse_words") == []

    async def test_hostile_queries_answer_200(
        self, client: httpx.AsyncClient, user: UserHandle, seeded: dict[str, list[str]]
    ) -> None:
        for q in HOSTILE_QUERIES:
            response = await client.get("/snippets", params={"q": q}, headers=user.headers)
            assert response.status_code == 200, (q, response.text)

    async def test_like_wildcards_are_literal(
        self, client: httpx.AsyncClient, user: UserHandle, seeded: dict[str, list[str]]
    ) -> None:
        assert await _list(client, user, q="%") == []
        assert await _list(client, user, q="_") != []  # reverse_words has one


class TestOneSnippet:
    async def test_get(self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle) -> None:
        seeded = await seed_conversation(app, user.id)
        response = await client.get(f"/snippets/{seeded.snippet_ids[0]}", headers=user.headers)
        assert response.status_code == 200
        assert response.json()["code"].startswith("def reverse_words(text: str) -> str:")

    async def test_another_users_snippet_is_404(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, register_user: RegisterUser
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        other = await register_user()
        for path in (f"/snippets/{seeded.snippet_ids[0]}", f"/snippets/{seeded.snippet_ids[0]}/raw"):
            response = await client.get(path, headers=other.headers)
            assert response.status_code == 404
            assert response.json()["code"] == "not_found"
            missing = await client.get(path.replace(seeded.snippet_ids[0], "nope"), headers=user.headers)
            assert missing.json() == response.json()


class TestRaw:
    async def _raw(self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, answer: str) -> httpx.Response:
        seeded = await seed_conversation(app, user.id, answer=answer)
        response = await client.get(f"/snippets/{seeded.snippet_ids[0]}/raw", headers=user.headers)
        assert response.status_code == 200
        return response

    async def test_code_as_a_file_named_after_the_function(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        response = await self._raw(client, app, user, PYTHON_ANSWER)
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["content-disposition"] == 'attachment; filename="reverse_words.py"'
        assert response.text == 'def reverse_words(text: str) -> str:\n    return " ".join(reversed(text.split()))\n'

    @pytest.mark.parametrize(
        ("answer", "filename"),
        [
            ("```ts\nconst x: number = 1\n```", "const_x_number_1.ts"),
            ("```sh\necho hi\n```", "echo_hi.sh"),
            ("```\nplain words\n```", "plain_words.txt"),
            ("```python title=tools/cli.py\nprint(1)\n```", "cli.py"),
            ("```yaml title=config.yml\na: 1\n```", "config.yml"),
            ("```python\n# nothing but a comment\n```", "snippet.py"),
            ('```python title="../../etc/passwd"\nx\n```', "etc_passwd.py"),
            ('```python title="a\\"b;c.py"\nx\n```', "a_b_c.py"),
        ],
    )
    async def test_safe_filenames_with_the_languages_extension(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, answer: str, filename: str
    ) -> None:
        response = await self._raw(client, app, user, answer)
        assert response.headers["content-disposition"] == f'attachment; filename="{filename}"'

    async def test_non_ascii_names_use_rfc_6266_filename_star(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        response = await self._raw(client, app, user, "```python title=número_de_línea.py\nx = 1\n```")
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="numero_de_linea.py"; ')
        assert disposition.endswith("filename*=UTF-8''" + quote("número_de_línea.py"))
        assert disposition.isascii()


class TestStoreSnippets:
    async def test_storing_twice_replaces_and_the_preview_is_kept(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        from codesmith.conversations.tables import Conversation, Message
        from codesmith.snippets.service import store_snippets

        seeded = await seed_conversation(app, user.id)
        async with sessionmaker_of(app)() as session:
            conversation = await session.get(Conversation, seeded.id)
            message = await session.get(Message, seeded.answer_id)
            assert conversation is not None and message is not None
            first_preview = conversation.preview
            assert first_preview == 'def reverse_words(text: str) -> str:\n    return " ".join(reversed(text.split()))'
            message.content = "```go\nfunc main() {}\n```"
            await store_snippets(session, message)
            await session.commit()
            await session.refresh(conversation)
            count = await session.scalar(
                select(func.count()).select_from(Snippet).where(Snippet.message_id == message.id)
            )
            assert count == 1
            assert conversation.preview == first_preview
        assert [item["language"] for item in await _list(client, user)] == ["go"]
        assert await _list(client, user, q="reverse_words") == []  # the search index followed
