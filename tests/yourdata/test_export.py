"""GET /users/me/export and GET /conversations/{id}/export: everything of the caller, nothing of anyone else,
never a secret."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from codesmith.users.tables import User
from codesmith.yourdata import export
from codesmith.yourdata.schemas import CodesmithExport
from tests.conftest import RegisterUser, UserHandle
from tests.conversations.helpers import sessionmaker_of
from tests.fakes.upstream import FakeUpstream
from tests.yourdata.helpers import PROMPT, rich_conversation

MODEL_KEY = "sk-model-key-that-must-never-leave-0123"


async def own_model(client: httpx.AsyncClient, user: UserHandle, upstream: FakeUpstream) -> dict[str, object]:
    body = {"name": "My coder", "provider": "openai_compatible", "model": "fake-coder", "base_url": upstream.base_url}
    response = await client.post("/models", json={**body, "api_key": MODEL_KEY}, headers=user.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def export_of(client: httpx.AsyncClient, user: UserHandle) -> httpx.Response:
    response = await client.get("/users/me/export", headers=user.headers)
    assert response.status_code == 200, response.text
    return response


class TestExport:
    async def test_the_document_holds_the_callers_tree_snippets_and_models(
        self,
        client: httpx.AsyncClient,
        user: UserHandle,
        register_user: RegisterUser,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        detail = await rich_conversation(client, user)
        model = await own_model(client, user, fake_upstream)
        response = await export_of(client, user)
        assert response.headers["content-type"].startswith("application/json")
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        assert response.headers["content-disposition"] == f'attachment; filename="codesmith-export-{today}.json"'
        document = CodesmithExport.model_validate_json(response.content)
        assert (document.format, document.version, document.user.email) == ("codesmith-export", 1, user.email)
        [conversation] = document.conversations
        assert conversation.id == detail["id"] and conversation.title == detail["title"]
        exported = {m.id: m for m in conversation.messages}
        assert set(exported) == {m["id"] for m in detail["messages"]}
        seen: set[str] = set()
        for message in conversation.messages:  # every parent before its children
            assert message.parent_id is None or message.parent_id in seen
            seen.add(message.id)
        for message in detail["messages"]:
            mine = exported[message["id"]]
            assert (mine.parent_id, mine.role, mine.kind, mine.content) == (
                message["parent_id"],
                message["role"],
                message["kind"],
                message["content"],
            )
            assert [s.code for s in mine.snippets] == [s["code"] for s in message["snippets"]]
        assert any(m.snippets for m in conversation.messages)
        assert [m.id for m in document.models] == [model["id"]]

    async def test_never_a_secret_a_hash_or_another_users_data(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: UserHandle,
        register_user: RegisterUser,
        fake_model: str,
        fake_upstream: FakeUpstream,
    ) -> None:
        await client.put(
            "/users/me/openai-key", json={"api_key": "sk-user-openai-key-0123456789"}, headers=user.headers
        )
        await rich_conversation(client, user)
        await own_model(client, user, fake_upstream)
        other = await register_user("bob@example.com")
        theirs = await client.post("/conversations", json={"prompt": PROMPT + " in Rust"}, headers=other.headers)
        async with sessionmaker_of(app)() as session:
            me = (await session.execute(select(User).where(User.id == user.id))).scalar_one()
        text = (await export_of(client, user)).text
        for secret in (MODEL_KEY, "sk-user-openai-key-0123456789", me.password_hash, user.password, "$argon2"):
            assert secret not in text
        for field in ("api_key", "has_api_key", "password", "openai_key", "token"):
            assert f'"{field}' not in text
        assert other.email not in text and theirs.json()["id"] not in text and "in Rust" not in text

    async def test_conversations_come_newest_first_across_pages(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(export, "PAGE_SIZE", 2)
        made = []
        for number in range(5):
            response = await client.post(
                "/conversations", json={"prompt": f"{PROMPT} number {number}"}, headers=user.headers
            )
            made.append(response.json()["id"])
        document = orjson.loads((await export_of(client, user)).content)
        assert [c["id"] for c in document["conversations"]] == list(reversed(made))

    async def test_an_empty_account_exports_an_empty_list(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        document = CodesmithExport.model_validate_json((await export_of(client, user)).content)
        assert document.conversations == [] and document.models == []
        assert document.settings.retention_days is None

    async def test_needs_a_sign_in(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/users/me/export")
        assert response.status_code == 401


class TestConversationExport:
    async def test_markdown_has_the_prompt_each_answer_with_code_and_versions(
        self, client: httpx.AsyncClient, user: UserHandle, fake_model: str
    ) -> None:
        detail = await rich_conversation(client, user)
        response = await client.get(f"/conversations/{detail['id']}/export", headers=user.headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/markdown; charset=utf-8"
        slug = "write-a-python-function-that-reverses-the-words-of-a-sentence"
        assert response.headers["content-disposition"] == f'attachment; filename="{slug}.md"'
        text = response.text
        assert text.startswith(f"# {detail['title']}\n")
        assert f"> {PROMPT}" in text and "> Add a docstring and handle tabs" in text
        assert "```python\ndef reverse_words" in text
        assert "## Answer (Version 1 of 2)" in text and "## Answer (Version 2 of 2)" in text
        assert "## Request (Version 2 of 2)" in text  # the edited prompt
        answers = [m for m in detail["messages"] if m["role"] == "assistant"]
        assert text.count("## Answer") == len(answers)

    async def test_json_is_an_importable_document_of_that_conversation(
        self, client: httpx.AsyncClient, user: UserHandle, register_user: RegisterUser, fake_model: str
    ) -> None:
        detail = await rich_conversation(client, user)
        await client.post("/conversations", json={"prompt": PROMPT + " twice"}, headers=user.headers)
        response = await client.get(f"/conversations/{detail['id']}/export?format=json", headers=user.headers)
        assert response.status_code == 200 and response.headers["content-type"] == "application/json"
        assert response.headers["content-disposition"].endswith('.json"')
        document = CodesmithExport.model_validate_json(response.content)
        assert [c.id for c in document.conversations] == [detail["id"]] and document.models == []
        other = await register_user("bob@example.com")
        imported = await client.post(
            "/users/me/import",
            content=response.content,
            headers={**other.headers, "Content-Type": "application/json"},
        )
        assert imported.json() == {"imported": 1, "skipped": 0, "errors": []}

    async def test_another_users_conversation_is_404(
        self, client: httpx.AsyncClient, user: UserHandle, register_user: RegisterUser, fake_model: str
    ) -> None:
        other = await register_user("bob@example.com")
        theirs = (await client.post("/conversations", json={"prompt": PROMPT}, headers=other.headers)).json()
        for query in ("", "?format=json"):
            response = await client.get(f"/conversations/{theirs['id']}/export{query}", headers=user.headers)
            assert response.status_code == 404 and response.json()["code"] == "not_found"
            assert PROMPT not in response.text

    async def test_an_unknown_format_is_422(self, client: httpx.AsyncClient, user: UserHandle, fake_model: str) -> None:
        mine = (await client.post("/conversations", json={"prompt": PROMPT}, headers=user.headers)).json()
        response = await client.get(f"/conversations/{mine['id']}/export?format=pdf", headers=user.headers)
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["loc"] == ["query", "format"]
