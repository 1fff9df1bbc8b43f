"""Conversations, read side: list and search, the detail with its message tree, rename, delete."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from pydantic import TypeAdapter
from sqlalchemy import func, select, text

from codesmith.conversations.schemas import ConversationPublic, MessageError, MessagePublic, Usage
from codesmith.conversations.service import parents_first
from codesmith.conversations.tables import Conversation, Message
from codesmith.db import utcnow
from codesmith.snippets.schemas import UNCHECKED, SnippetPublic
from codesmith.snippets.tables import Snippet
from tests.conftest import RegisterUser, UserHandle
from tests.snippets.seed import add_message, seed_conversation, sessionmaker_of
from tests.snippets.test_router import HOSTILE_QUERIES

GO_ANSWER = "```go\npackage main\n\nfunc fetchWeather(city string) (Report, error) {\n\treturn Report{}, nil\n}\n```"


async def _ids(client: httpx.AsyncClient, user: UserHandle, **params: str | int) -> list[str]:
    response = await client.get("/conversations", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


class TestList:
    async def test_items_newest_first_with_preview(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        older = await seed_conversation(app, user.id, created_at=utcnow() - timedelta(days=1))
        newer = await seed_conversation(app, user.id, title="Weather", answer=GO_ANSWER)
        response = await client.get("/conversations", headers=user.headers)
        body = response.json()
        assert [item["id"] for item in body["items"]] == [newer.id, older.id]
        assert body["next_cursor"] is None
        item = body["items"][0]
        assert set(item) == {"id", "title", "model_id", "language", "source", "created_at", "updated_at", "preview"}
        assert item["source"] == "app"
        assert item["title"] == "Weather"
        assert item["preview"].startswith("package main\n\nfunc fetchWeather(")
        assert "messages" not in item

    async def test_preview_is_a_few_lines(self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle) -> None:
        long_code = "\n".join(f"line_{n} = {n}" for n in range(30))
        await seed_conversation(app, user.id, answer=f"```python\n{long_code}\n```")
        (item,) = (await client.get("/conversations", headers=user.headers)).json()["items"]
        assert item["preview"].split("\n") == [f"line_{n} = {n}" for n in range(6)]

    async def test_pagination_has_no_duplicates_or_gaps_when_timestamps_tie(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        base = utcnow() - timedelta(hours=2)
        async with sessionmaker_of(app)() as session:
            rows = [
                # Groups of four share one timestamp: only the id can order them.
                Conversation(user_id=user.id, title=f"c{n}", created_at=base + timedelta(seconds=n // 4))
                for n in range(45)
            ]
            session.add_all(rows)
            await session.commit()
        expected = [row.id for row in sorted(rows, key=lambda row: (row.created_at, row.id), reverse=True)]
        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            params: dict[str, str | int] = {"limit": 7} | ({"cursor": cursor} if cursor else {})
            body = (await client.get("/conversations", params=params, headers=user.headers)).json()
            seen += [item["id"] for item in body["items"]]
            pages += 1
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
        assert pages == 7

    @pytest.mark.parametrize("limit", [0, 101, -1])
    async def test_limit_out_of_range_is_422(self, client: httpx.AsyncClient, user: UserHandle, limit: int) -> None:
        response = await client.get("/conversations", params={"limit": limit}, headers=user.headers)
        assert response.status_code == 422

    async def test_only_the_callers_conversations(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, register_user: RegisterUser
    ) -> None:
        mine = await seed_conversation(app, user.id)
        other = await register_user()
        await seed_conversation(app, other.id)
        assert await _ids(client, user) == [mine.id]


class TestSearch:
    @pytest.fixture
    async def seeded(self, app: FastAPI, user: UserHandle) -> dict[str, str]:
        reverse = await seed_conversation(app, user.id, title="String helpers")
        weather = await seed_conversation(
            app,
            user.id,
            title="Weather client",
            request="Fetch the forecast for a city from an HTTP API in Go, with retries",
            answer=GO_ANSWER,
        )
        cafe = await seed_conversation(
            app, user.id, title="Café menu", request="Render the menu as HTML", answer="```html\n<ul></ul>\n```"
        )
        return {"reverse": reverse.id, "weather": weather.id, "cafe": cafe.id}

    @pytest.mark.parametrize(
        ("q", "expected"),
        [
            ("weather", ["weather"]),  # title
            ("helpers", ["reverse"]),  # title
            ("forecast", ["weather"]),  # request words
            ("retr", ["weather"]),  # word prefix
            ("sentence", ["reverse"]),  # request words
            ("fetchWeather", ["weather"]),  # an identifier in the code
            ("reverse_words", ["reverse"]),  # an identifier in the code
            ("everse_wor", ["reverse"]),  # a substring of code
            ("weather forecast", ["weather"]),  # every term, each anywhere
            ("helpers fetchWeather", []),  # terms from two different conversations
            ("cafe", ["cafe"]),  # diacritics ignored
            ("CAFÉ", ["cafe"]),
            ("python go", []),
            ("kubernetes", []),
        ],
    )
    async def test_finds_titles_requests_and_code(
        self,
        client: httpx.AsyncClient,
        user: UserHandle,
        seeded: dict[str, str],
        q: str,
        expected: list[str],
    ) -> None:
        assert sorted(await _ids(client, user, q=q)) == sorted(seeded[name] for name in expected)

    async def test_results_are_newest_first(
        self, client: httpx.AsyncClient, user: UserHandle, seeded: dict[str, str]
    ) -> None:
        found = await _ids(client, user, q="a")  # in all three
        assert found == [seeded["cafe"], seeded["weather"], seeded["reverse"]]

    async def test_search_results_paginate(self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle) -> None:
        ids = [(await seed_conversation(app, user.id, title=f"Parser {n}")).id for n in range(5)]
        await seed_conversation(app, user.id, title="Unrelated", request="sort a list", answer="```\nx\n```")
        first = (await client.get("/conversations", params={"q": "parser", "limit": 3}, headers=user.headers)).json()
        rest = await _ids(client, user, q="parser", limit=3, cursor=first["next_cursor"])
        assert [item["id"] for item in first["items"]] + rest == ids[::-1]

    async def test_other_users_content_is_not_searched(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, register_user: RegisterUser
    ) -> None:
        other = await register_user()
        await seed_conversation(app, other.id, title="Secret weather plan")
        await seed_conversation(app, user.id, title="Mine")
        assert await _ids(client, user, q="weather") == []

    async def test_renamed_titles_are_searched_by_the_new_title(
        self, client: httpx.AsyncClient, user: UserHandle, seeded: dict[str, str]
    ) -> None:
        renamed = await client.patch(
            f"/conversations/{seeded['reverse']}", json={"title": "Tokenizer"}, headers=user.headers
        )
        assert renamed.status_code == 200
        assert await _ids(client, user, q="tokenizer") == [seeded["reverse"]]
        assert await _ids(client, user, q="helpers") == []

    async def test_feedback_messages_are_searched(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, seeded: dict[str, str]
    ) -> None:
        async with sessionmaker_of(app)() as session:
            answer = (
                await session.scalars(
                    select(Message).where(Message.conversation_id == seeded["weather"], Message.role == "assistant")
                )
            ).one()
            session.add(
                Message(
                    conversation_id=seeded["weather"],
                    user_id=user.id,
                    parent_id=answer.id,
                    role="user",
                    kind="feedback",
                    content="Please add exponential backoff",
                    status="complete",
                    created_at=utcnow(),
                )
            )
            await session.commit()
        assert await _ids(client, user, q="backoff") == [seeded["weather"]]

    async def test_hostile_queries_answer_200(
        self, client: httpx.AsyncClient, user: UserHandle, seeded: dict[str, str]
    ) -> None:
        for q in HOSTILE_QUERIES:
            response = await client.get("/conversations", params={"q": q}, headers=user.headers)
            assert response.status_code == 200, (q, response.text)

    async def test_quotes_inside_a_term_are_searched_literally(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id, answer='```python\nprint("OR (")\n```')
        assert await _ids(client, user, q='"OR ("') == [seeded.id]


class TestDetail:
    async def test_the_whole_tree_with_snippets_and_usage(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        later = utcnow() + timedelta(seconds=5)
        failed_id = await add_message(
            app,
            seeded,
            user.id,
            parent_id=seeded.request_id,
            role="assistant",
            kind="generation",
            content="partial",
            status="failed",
            error_code="upstream_timeout",
            error_detail="The model provider timed out.",
            model_id="model-1",
            created_at=later,
        )
        response = await client.get(f"/conversations/{seeded.id}", headers=user.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["id"] == seeded.id and body["title"] == "Reverse words" and body["language"] == "python"
        assert [m["id"] for m in body["messages"]] == [seeded.request_id, seeded.answer_id, failed_id]
        request, answer, failed = body["messages"]
        assert set(answer) == {
            "id",
            "conversation_id",
            "parent_id",
            "role",
            "kind",
            "content",
            "status",
            "error",
            "model_id",
            "usage",
            "snippets",
            "created_at",
            "completed_at",
            "repair_of",
        }
        assert answer["repair_of"] is None  # not an automatic repair
        assert answer["snippets"][0]["check"] == {"status": "unchecked", "checker": None, "diagnostics": []}
        assert request["role"] == "user" and request["kind"] == "request" and request["parent_id"] is None
        assert request["usage"] is None and request["snippets"] == [] and request["error"] is None
        assert answer["parent_id"] == seeded.request_id
        assert answer["usage"] == {"prompt_tokens": 120, "completion_tokens": 80, "cost_usd": 0.0004}
        assert [s["id"] for s in answer["snippets"]] == seeded.snippet_ids
        assert answer["snippets"][0]["message_id"] == seeded.answer_id
        assert failed["parent_id"] == seeded.request_id  # a sibling of the first answer
        assert failed["error"] == {"code": "upstream_timeout", "detail": "The model provider timed out."}
        assert failed["usage"] is None and failed["completed_at"] is None

    async def test_the_json_is_what_the_stored_objects_map_to(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        """The detail is built from rows; its bytes are those of the contract's models built from the ORM
        objects (error, usage with and without a price, snippets in answer order, their file names)."""
        seeded = await seed_conversation(app, user.id)
        await add_message(
            app,
            seeded,
            user.id,
            parent_id=seeded.request_id,
            role="assistant",
            kind="generation",
            content="partial",
            status="failed",
            error_code="upstream_timeout",
            error_detail=None,
            model_id="model-1",
            prompt_tokens=10,
            cost_usd=None,
            created_at=utcnow() + timedelta(seconds=5),
        )
        response = await client.get(f"/conversations/{seeded.id}", headers=user.headers)
        assert response.status_code == 200
        assert response.content == TypeAdapter(ConversationPublic).dump_json(await _from_objects(app, seeded.id))

    async def test_unpriced_usage_has_null_cost(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        async with sessionmaker_of(app)() as session:
            answer = await session.get(Message, seeded.answer_id)
            assert answer is not None
            answer.cost_usd = None
            await session.commit()
        body = (await client.get(f"/conversations/{seeded.id}", headers=user.headers)).json()
        assert body["messages"][1]["usage"] == {"prompt_tokens": 120, "completion_tokens": 80, "cost_usd": None}

    async def test_a_parent_comes_before_its_child_even_with_equal_timestamps(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        stamp = utcnow()
        async with sessionmaker_of(app)() as session:
            conversation = Conversation(user_id=user.id, title="tie", created_at=stamp)
            session.add(conversation)
            await session.flush()
            # Ids chosen so that ordering by (created_at, id) alone would put the child first.
            parent = Message(
                id="ffffffff-0000-0000-0000-000000000000",
                conversation_id=conversation.id,
                user_id=user.id,
                role="user",
                kind="request",
                content="make it",
                status="complete",
                created_at=stamp,
            )
            child = Message(
                id="00000000-0000-0000-0000-000000000000",
                conversation_id=conversation.id,
                user_id=user.id,
                parent_id=parent.id,
                role="assistant",
                kind="generation",
                content="",
                status="streaming",
                created_at=stamp,
            )
            session.add(parent)
            await session.flush()
            session.add(child)
            await session.commit()
        body = (await client.get(f"/conversations/{conversation.id}", headers=user.headers)).json()
        assert [m["id"] for m in body["messages"]] == [parent.id, child.id]

    async def test_snippets_load_in_one_query(self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle) -> None:
        seeded = await seed_conversation(app, user.id)
        for n in range(5):
            await add_message(
                app,
                seeded,
                user.id,
                parent_id=seeded.request_id,
                role="assistant",
                kind="generation",
                content=f"v{n}",
                status="complete",
                created_at=utcnow(),
            )
        statements: list[str] = []

        def record(conn: object, cursor: object, statement: str, *args: object) -> None:
            statements.append(statement)

        from sqlalchemy import event

        engine = app.state.engine.sync_engine
        event.listen(engine, "before_cursor_execute", record)
        try:
            response = await client.get(f"/conversations/{seeded.id}", headers=user.headers)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert len(response.json()["messages"]) == 7
        assert sum("FROM snippets" in statement for statement in statements) == 1


class TestRename:
    async def test_trimmed_title_and_the_detail_back(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id, created_at=utcnow() - timedelta(minutes=5))
        response = await client.patch(
            f"/conversations/{seeded.id}", json={"title": "  New name \n"}, headers=user.headers
        )
        assert response.status_code == 200
        body = response.json()
        assert body["title"] == "New name"
        assert len(body["messages"]) == 2
        assert body["updated_at"] > body["created_at"]
        again = (await client.get(f"/conversations/{seeded.id}", headers=user.headers)).json()
        assert again["title"] == "New name"

    @pytest.mark.parametrize("title", ["", "   ", "x" * 201, None])
    async def test_invalid_titles_are_422(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, title: str | None
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        response = await client.patch(f"/conversations/{seeded.id}", json={"title": title}, headers=user.headers)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"

    async def test_two_hundred_characters_are_fine(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        response = await client.patch(f"/conversations/{seeded.id}", json={"title": "é" * 200}, headers=user.headers)
        assert response.status_code == 200 and response.json()["title"] == "é" * 200


class TestOwnership:
    async def test_another_users_conversation_is_404_for_every_verb(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, register_user: RegisterUser
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        other = await register_user()
        path = f"/conversations/{seeded.id}"
        answers = [
            await client.get(path, headers=other.headers),
            await client.patch(path, json={"title": "mine now"}, headers=other.headers),
            await client.delete(path, headers=other.headers),
        ]
        missing = await client.get("/conversations/does-not-exist", headers=other.headers)
        for response in answers:
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json() == missing.json()
        still = (await client.get(path, headers=user.headers)).json()
        assert still["title"] == "Reverse words"


class TestDelete:
    async def test_messages_snippets_and_search_entries_go_too(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle
    ) -> None:
        seeded = await seed_conversation(app, user.id)
        kept = await seed_conversation(app, user.id, title="Kept reverse_words")
        response = await client.delete(f"/conversations/{seeded.id}", headers=user.headers)
        assert response.status_code == 204 and response.content == b""
        assert (await client.get(f"/conversations/{seeded.id}", headers=user.headers)).status_code == 404
        snippet = await client.get(f"/snippets/{seeded.snippet_ids[0]}", headers=user.headers)
        assert snippet.status_code == 404
        async with sessionmaker_of(app)() as session:
            for model in (Message, Snippet):
                count = await session.scalar(
                    select(func.count()).select_from(model).where(model.conversation_id == seeded.id)
                )
                assert count == 0
            if session.get_bind().dialect.name == "sqlite":  # the FTS5 index kept nothing of it
                for table in ("conversation_search", "snippet_search"):
                    left = await session.scalar(
                        text(f"SELECT count(*) FROM {table} WHERE conversation_id = :id"), {"id": seeded.id}
                    )
                    assert left == 0
        assert await _ids(client, user, q="reverse_words") == [kept.id]
        assert await _ids(client, user, q="sentence") == [kept.id]
        assert {item["id"] for item in (await client.get("/snippets", headers=user.headers)).json()["items"]} == set(
            kept.snippet_ids
        )

    async def test_a_running_generation_is_cancelled_first(
        self, client: httpx.AsyncClient, app: FastAPI, user: UserHandle, register_user: RegisterUser
    ) -> None:
        cancelled: list[str] = []

        class Generations:
            async def cancel_conversation(self, conversation_id: str) -> None:
                cancelled.append(conversation_id)

        previous = getattr(app.state, "generations", None)
        app.state.generations = Generations()
        try:
            seeded = await seed_conversation(app, user.id)
            other = await register_user()
            assert (await client.delete(f"/conversations/{seeded.id}", headers=other.headers)).status_code == 404
            assert cancelled == []  # nobody else can stop your generations
            assert (await client.delete(f"/conversations/{seeded.id}", headers=user.headers)).status_code == 204
            assert cancelled == [seeded.id]
        finally:
            app.state.generations = previous


async def _from_objects(app: FastAPI, conversation_id: str) -> ConversationPublic:
    """The detail as it was built before it read rows: an ORM object and a model per message and snippet."""
    async with sessionmaker_of(app)() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        messages = (
            await session.execute(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.created_at, Message.id)
            )
        ).scalars()
        snippets = (await session.execute(select(Snippet).where(Snippet.conversation_id == conversation_id))).scalars()
        by_message: dict[str, list[Snippet]] = {}
        for snippet in sorted(snippets, key=lambda snippet: snippet.position):
            by_message.setdefault(snippet.message_id, []).append(snippet)
        return ConversationPublic(
            id=conversation.id,
            title=conversation.title,
            model_id=conversation.model_id,
            language=conversation.language,
            source=conversation.source,
            created_at=conversation.created_at,
            updated_at=conversation.updated_at,
            messages=[
                MessagePublic(
                    id=m.id,
                    conversation_id=m.conversation_id,
                    parent_id=m.parent_id,
                    role=m.role,
                    kind=m.kind,
                    content=m.content,
                    status=m.status,
                    error=None
                    if m.error_code is None
                    else MessageError(code=m.error_code, detail=m.error_detail or ""),
                    model_id=m.model_id,
                    usage=None
                    if m.prompt_tokens is None
                    else Usage(
                        prompt_tokens=m.prompt_tokens, completion_tokens=m.completion_tokens or 0, cost_usd=m.cost_usd
                    ),
                    snippets=[_snippet_from_object(s) for s in by_message.get(m.id, [])],
                    created_at=m.created_at,
                    completed_at=m.completed_at,
                    repair_of=m.repair_of,
                )
                for m in parents_first(messages)  # a request and its answer share a timestamp here
            ],
        )


def _snippet_from_object(snippet: Snippet) -> SnippetPublic:
    fields = ("id", "conversation_id", "message_id", "language", "code", "title", "filename", "created_at")
    return SnippetPublic.model_validate(
        {**{name: getattr(snippet, name) for name in fields}, "check": snippet.check or UNCHECKED}
    )
