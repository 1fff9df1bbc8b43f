"""One import and one export at a time per user, a few in all per process: the rest answer 429 with
Retry-After before any byte, and a slot comes back however its request ends."""

from __future__ import annotations

import httpx
import orjson
import pytest
from starlette.requests import ClientDisconnect
from starlette.types import Message

from codesmith.yourdata import gate
from tests.conftest import RegisterUser, UserHandle

EMPTY_EXPORT = {
    "format": "codesmith-export",
    "version": 1,
    "exported_at": "2026-12-01T00:00:00Z",
    "user": {"id": "someone", "email": "someone@example.com", "created_at": "2026-01-01T00:00:00Z"},
    "conversations": [],
}


async def import_empty(client: httpx.AsyncClient, user: UserHandle) -> httpx.Response:
    headers = {**user.headers, "Content-Type": "application/json"}
    return await client.post("/users/me/import", content=orjson.dumps(EMPTY_EXPORT), headers=headers)


class TestImports:
    async def test_a_second_import_of_the_same_user_waits_its_turn(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        release = gate.imports.acquire(user.id)  # as if an import of theirs were running
        try:
            refused = await import_empty(client, user)
        finally:
            release()
        assert refused.status_code == 429, refused.text
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["Retry-After"] == str(gate.RETRY_AFTER_SECONDS)
        assert (await import_empty(client, user)).status_code == 200
        assert (await import_empty(client, user)).status_code == 200, "a finished import gives its slot back"

    async def test_the_process_runs_only_a_few_at_once(
        self, client: httpx.AsyncClient, user: UserHandle, register_user: RegisterUser
    ) -> None:
        held = [gate.imports.acquire(f"someone-{n}") for n in range(gate.imports.total)]
        try:
            refused = await import_empty(client, user)
        finally:
            for release in held:
                release()
        assert refused.status_code == 429
        assert (await import_empty(client, user)).status_code == 200

    async def test_a_refused_document_gives_its_slot_back(self, client: httpx.AsyncClient, user: UserHandle) -> None:
        headers = {**user.headers, "Content-Type": "application/json"}
        bad = await client.post("/users/me/import", content=b'{"format": "nope"}', headers=headers)
        assert bad.status_code == 422
        assert (await import_empty(client, user)).status_code == 200


class TestExports:
    async def test_a_second_export_of_the_same_user_is_429_before_any_byte(
        self, client: httpx.AsyncClient, user: UserHandle
    ) -> None:
        release = gate.exports.acquire(user.id)
        try:
            refused = await client.get("/users/me/export", headers=user.headers)
        finally:
            release()
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        for _ in range(2):  # each finished export gives its slot back
            assert (await client.get("/users/me/export", headers=user.headers)).status_code == 200

    async def test_a_client_gone_before_the_first_byte_gives_the_slot_back(self) -> None:
        released: list[bool] = []

        async def body() -> object:
            yield b"{}"

        async def receive() -> Message:
            return {"type": "http.disconnect"}

        async def send(_: Message) -> None:
            raise OSError("the client went away")

        response = gate.ReleasingStream(body(), lambda: released.append(True), media_type="application/json")
        with pytest.raises(ClientDisconnect):  # Starlette's word for a failed send
            await response({"type": "http", "asgi": {"spec_version": "2.4"}}, receive, send)
        assert released == [True]
