"""POST /users/me/import: a round trip between accounts, re-imports, bad documents (nothing written) and
the size limit."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from codesmith.conversations.tables import Conversation, Message
from codesmith.snippets.tables import Snippet
from codesmith.yourdata import gate, importing
from tests.conftest import RegisterUser, UserHandle
from tests.conversations.helpers import sessionmaker_of
from tests.yourdata.helpers import rich_conversation, tree_shape


async def import_document(client: httpx.AsyncClient, user: UserHandle, document: Any) -> httpx.Response:
    body = document if isinstance(document, bytes) else orjson.dumps(document)
    return await client.post(
        "/users/me/import", content=body, headers={**user.headers, "Content-Type": "application/json"}
    )


async def rows_of(app: FastAPI, user: UserHandle) -> tuple[int, int, int]:
    """The user's conversations, messages and snippets."""
    async with sessionmaker_of(app)() as session:
        counts = []
        for table in (Conversation, Message, Snippet):
            query = select(func.count()).select_from(table).where(table.user_id == user.id)
            counts.append(int((await session.execute(query)).scalar_one()))
    return counts[0], counts[1], counts[2]


def document_with(*conversations: dict[str, Any]) -> dict[str, Any]:
    return {
        "format": "codesmith-export",
        "version": 1,
        "exported_at": "2026-01-02T03:04:05Z",
        "user": {"id": "u1", "email": "someone@example.com", "created_at": "2026-01-01T00:00:00Z"},
        "settings": {"retention_days": None},
        "models": [],
        "conversations": list(conversations),
    }


def conversation(messages: list[dict[str, Any]], ident: str = "c1", title: str = "Reverse words") -> dict[str, Any]:
    return {
        "id": ident,
        "title": title,
        "model_id": None,
        "language": None,
        "source": "app",
        "created_at": "2026-01-01T10:00:00Z",
        "updated_at": "2026-01-01T10:05:00Z",
        "messages": messages,
    }


def message(ident: str, parent: str | None, role: str = "user", **extra: Any) -> dict[str, Any]:
    kind = "generation" if role == "assistant" else ("request" if parent is None else "feedback")
    return {
        "id": ident,
        "parent_id": parent,
        "role": role,
        "kind": kind,
        "content": f"Message {ident}: write a Python function",
        "status": "complete",
        "error": None,
        "model_id": None,
        "usage": None,
        "created_at": "2026-01-01T10:00:00Z",
        "completed_at": "2026-01-01T10:00:01Z",
        "snippets": [],
    } | extra


class TestRoundTrip:
    async def test_another_account_gets_the_same_trees_snippets_and_search(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, register_user: RegisterUser, fake_model: str
    ) -> None:
        original = await rich_conversation(client, user)
        second = (
            await client.post("/conversations", json={"prompt": "Write a Go HTTP server"}, headers=user.headers)
        ).json()
        exported = (await client.get("/users/me/export", headers=user.headers)).content
        bob = await register_user("bob@example.com")

        response = await import_document(client, bob, exported)
        assert response.status_code == 200, response.text
        assert response.json() == {"imported": 2, "skipped": 0, "errors": []}

        listed = (await client.get("/conversations", headers=bob.headers)).json()["items"]
        mine = {c["title"]: c for c in (await client.get("/conversations", headers=user.headers)).json()["items"]}
        assert sorted(c["title"] for c in listed) == sorted(mine)
        for item in listed:
            assert item["source"] == "import" and item["id"] not in (original["id"], second["id"])
            assert item["preview"] == mine[item["title"]]["preview"]
            assert (item["created_at"], item["updated_at"]) == (
                mine[item["title"]]["created_at"],
                mine[item["title"]]["updated_at"],
            )
            theirs = (await client.get(f"/conversations/{item['id']}", headers=bob.headers)).json()
            source = (await client.get(f"/conversations/{mine[item['title']]['id']}", headers=user.headers)).json()
            assert tree_shape(theirs["messages"]) == tree_shape(source["messages"])
            assert not {m["id"] for m in theirs["messages"]} & {m["id"] for m in source["messages"]}
            assert theirs["model_id"] == source["model_id"] == fake_model  # a model bob can see is kept

        found = (await client.get("/conversations", params={"q": "reverses words"}, headers=bob.headers)).json()
        assert [c["title"] for c in found["items"]] == [original["title"]]
        code = (await client.get("/snippets", params={"q": "everse_wor"}, headers=bob.headers)).json()["items"]
        assert code and {s["conversation_id"] for s in code} <= {c["id"] for c in listed}

        before = await rows_of(app, bob)
        again = await import_document(client, bob, exported)
        assert again.json() == {"imported": 0, "skipped": 2, "errors": []}
        assert await rows_of(app, bob) == before

    async def test_the_same_document_imported_twice_at_once_is_imported_once(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        user: UserHandle,
        fake_model: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        # Two replicas, each with its own gate (yourdata/gate.py): the database alone keeps it to one.
        monkeypatch.setattr(gate.Gate, "acquire", lambda self, user_id: lambda: None)
        await rich_conversation(client, user)
        exported = (await client.get("/users/me/export", headers=user.headers)).content
        await client.delete(f"/conversations/{orjson.loads(exported)['conversations'][0]['id']}", headers=user.headers)
        first, second = await asyncio.gather(
            import_document(client, user, exported), import_document(client, user, exported)
        )
        results = sorted([first.json()["imported"], second.json()["imported"]])
        assert results == [0, 1]
        assert (await rows_of(app, user))[0] == 1

    async def test_running_generations_come_in_interrupted_and_unknown_models_as_null(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        running = message("a1", "m1", "assistant", status="streaming", completed_at=None, model_id="gone-model")
        document = document_with(conversation([message("m1", None), running]))
        assert (await import_document(client, user, document)).json()["imported"] == 1
        [item] = (await client.get("/conversations", headers=user.headers)).json()["items"]
        detail = (await client.get(f"/conversations/{item['id']}", headers=user.headers)).json()
        answer = detail["messages"][1]
        assert answer["status"] == "interrupted" and answer["model_id"] is None
        assert answer["completed_at"] is not None

    async def test_a_conversation_starts_no_later_than_what_it_holds_and_its_code_is_found(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        # A document written by hand or by another tool may date the conversation after its contents.
        snippet = {
            "id": "s1",
            "language": "python",
            "title": "t.py",
            "code": "def zebra_sum(): ...",
            "created_at": "2026-01-01T09:58:00Z",
        }
        answer = message("a1", "m1", "assistant", created_at="2026-01-01T09:59:00Z", snippets=[snippet])
        document = document_with(conversation([message("m1", None, created_at="2026-01-01T09:59:00Z"), answer]))
        assert (await import_document(client, user, document)).json()["imported"] == 1

        [item] = (await client.get("/conversations", headers=user.headers)).json()["items"]
        assert item["created_at"].startswith("2026-01-01T09:58:00")
        found = (await client.get("/conversations", params={"q": "zebra_sum"}, headers=user.headers)).json()
        assert [c["id"] for c in found["items"]] == [item["id"]]

    async def test_a_conversation_without_messages_is_reported_and_the_rest_imported(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        document = document_with(conversation([], "empty", "Nothing here"), conversation([message("m1", None)], "full"))
        response = await import_document(client, user, document)
        assert response.json() == {
            "imported": 1,
            "skipped": 0,
            "errors": [{"index": 0, "title": "Nothing here", "detail": "It has no message to import."}],
        }


def _codesmith_valid() -> dict[str, Any]:
    return document_with(
        conversation([message("m1", None), message("a1", "m1", "assistant"), message("f1", "a1")]),
        conversation([message("m1", None)], "c2", "Second"),
    )


def _broken(change: Any) -> Any:
    document = copy.deepcopy(_codesmith_valid())
    change(document)
    return document


BAD_DOCUMENTS: dict[str, tuple[Any, list[str | int]]] = {
    "a parent that does not exist": (
        _broken(lambda d: d["conversations"][0]["messages"][2].update(parent_id="nowhere")),
        ["body", "conversations", 0, "messages", 2, "parent_id"],
    ),
    "a cycle": (
        _broken(lambda d: d["conversations"][0]["messages"][0].update(parent_id="f1")),
        ["body", "conversations", 0, "messages"],
    ),
    "a wrong type deep inside": (
        _broken(lambda d: d["conversations"][1]["messages"][0].update(content=5)),
        ["body", "conversations", 1, "messages", 0, "content"],
    ),
    "an unknown status": (
        _broken(lambda d: d["conversations"][0]["messages"][1].update(status="done")),
        ["body", "conversations", 0, "messages", 1, "status"],
    ),
    "a role and kind that do not go together": (
        _broken(lambda d: d["conversations"][0]["messages"][1].update(kind="feedback")),
        ["body", "conversations", 0, "messages", 1, "kind"],
    ),
    "an unknown format": ({"format": "someone-elses", "conversations": []}, ["body", "format"]),
    "a version from the future": (_broken(lambda d: d.update(version=2)), ["body", "version"]),
    "no document at all": ("just a string", ["body"]),
    "a ChatGPT node whose parent is missing": (
        [{"id": "x", "title": "t", "mapping": {"n1": {"id": "n1", "parent": "ghost", "children": []}}}],
        ["body", 0, "mapping", "n1", "parent"],
    ),
    "a ChatGPT conversation without an id": ([{"title": "t", "mapping": {}}], ["body", 0]),
}


class TestBadDocuments:
    @pytest.mark.parametrize("name", list(BAD_DOCUMENTS))
    async def test_is_422_with_where_and_nothing_written(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, name: str
    ) -> None:
        document, loc = BAD_DOCUMENTS[name]
        response = await import_document(client, user, document)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert any(error["loc"][: len(loc)] == loc for error in problem["errors"]), problem["errors"]
        assert await rows_of(app, user) == (0, 0, 0)

    async def test_the_valid_document_itself_imports(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        response = await import_document(client, user, _codesmith_valid())
        assert response.json()["imported"] == 2
        assert await rows_of(app, user) == (2, 4, 0)

    async def test_a_long_import_commits_as_it_goes_and_imports_everything(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(importing, "COMMIT_EVERY", 1)
        response = await import_document(client, user, _codesmith_valid())
        assert response.json() == {"imported": 2, "skipped": 0, "errors": []}
        assert await rows_of(app, user) == (2, 4, 0)

    async def test_a_body_that_is_not_json_is_422(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await import_document(client, user, b"{not json")
        assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body"]

    async def test_a_body_that_is_not_sent_as_json_is_422(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        response = await client.post(
            "/users/me/import",
            content=orjson.dumps(_codesmith_valid()),
            headers={**user.headers, "Content-Type": "text/plain"},
        )
        assert response.status_code == 422

    async def test_needs_a_sign_in(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/users/me/import", json=_codesmith_valid())
        assert response.status_code == 401


class TestSize:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"max_request_bytes": 4096, "max_import_bytes": 64 * 1024}

    @staticmethod
    def padded(size: int) -> bytes:
        """A valid document of about `size` bytes (one long request)."""
        first = message("m1", None, content="x" * size)
        return orjson.dumps(document_with(conversation([first])))

    async def test_the_import_takes_more_than_other_routes(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        body = self.padded(20_000)
        elsewhere = await client.patch(
            "/users/me", content=body, headers={**user.headers, "Content-Type": "application/json"}
        )
        assert elsewhere.status_code == 413
        response = await import_document(client, user, body)
        assert response.status_code == 200, response.text
        assert response.json()["imported"] == 1

    async def test_over_its_own_limit_is_413_and_nothing_written(
        self, app: FastAPI, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        response = await import_document(client, user, self.padded(70_000))
        assert response.status_code == 413 and response.json()["code"] == "request_too_large"

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
            body = self.padded(70_000)
            for start in range(0, len(body), 8192):
                yield body[start : start + 8192]

        chunked = await client.post(
            "/users/me/import", content=chunks(), headers={**user.headers, "Content-Type": "application/json"}
        )
        assert chunked.status_code == 413
        assert await rows_of(app, user) == (0, 0, 0)
