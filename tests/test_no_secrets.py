"""No response body of any endpoint ever carries a stored secret: keys, hashes, encrypted blobs.

The test drives the whole API as a user would (register with a key, tokens, a model with its own
key, a generation), then calls every GET operation of the OpenAPI schema with real ids, recording
every body the app sent, and scans them all.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from starlette.types import Message, Receive, Scope, Send

from codesmith.models.tables import Model
from codesmith.users.tables import ApiToken, User
from tests.conftest import PASSWORD
from tests.fakes.upstream import FakeUpstream

OPENAI_KEY = "sk-proj-NEVERSHOWN-openai-0123456789abcdef"
MODEL_KEY = "sk-model-NEVERSHOWN-custom-fedcba9876543210"

settings_overrides = pytest.fixture(lambda: {"allow_private_model_hosts": True})


class BodyRecorder:
    """ASGI wrapper that keeps a copy of every response body."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.bodies: list[tuple[str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []

        async def record(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, record)
        if scope["type"] == "http":
            self.bodies.append((f"{scope['method']} {scope['path']}", b"".join(chunks)))


async def test_no_body_ever_contains_a_stored_secret(app: FastAPI, fake_upstream: FakeUpstream) -> None:
    fake_upstream.behaviour.require_key = MODEL_KEY
    recorder = BodyRecorder(app)
    transport = httpx.ASGITransport(app=recorder)
    async with httpx.AsyncClient(transport=transport, base_url="http://test/api/v1", timeout=30) as http:
        ids = await _use_everything(http, fake_upstream)
        await _get_every_operation(http, app, ids)

    async with app.state.sessionmaker() as session:
        user = (await session.execute(select(User))).scalar_one()
        token_hashes = [t.token_hash for t in (await session.execute(select(ApiToken))).scalars()]
        model_blobs = [m.api_key_encrypted for m in (await session.execute(select(Model))).scalars()]
    forbidden = [
        OPENAI_KEY,
        MODEL_KEY,
        OPENAI_KEY[-12:],
        MODEL_KEY[-12:],
        user.password_hash,
        user.openai_key_encrypted or "unset",
        *token_hashes,
        *[blob for blob in model_blobs if blob],
    ]
    assert len(recorder.bodies) > 20
    for where, body in recorder.bodies:
        text = body.decode("utf-8", "replace")
        for secret in forbidden:
            assert secret not in text, f"{where} leaked a secret"
        assert "$argon2" not in text, f"{where} leaked a password hash"


async def _use_everything(http: httpx.AsyncClient, fake: FakeUpstream) -> dict[str, str]:
    created = await http.post(
        "/auth/register", json={"email": "scan@example.com", "password": PASSWORD, "openai_api_key": OPENAI_KEY}
    )
    assert created.status_code == 201
    login = await http.post("/auth/token", data={"username": "scan@example.com", "password": PASSWORD})
    http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    await http.put("/users/me/openai-key", json={"api_key": OPENAI_KEY})
    token = (await http.post("/users/me/api-tokens", json={"name": "scan"})).json()
    await http.post("/auth/token", data={"username": "scan@example.com", "password": "wrong password"})

    model = await http.post(
        "/models",
        json={
            "name": "Scan model",
            "provider": "openai_compatible",
            "model": "fake-coder",
            "base_url": fake.base_url,
            "api_key": MODEL_KEY,
        },
    )
    assert model.status_code == 201, model.text
    model_id = model.json()["id"]
    await http.post(f"/models/{model_id}/check")
    conversation = await http.post(
        "/conversations", json={"prompt": "Write a Python function that reverses words", "model_id": model_id}
    )
    assert conversation.status_code == 201, conversation.text
    detail = conversation.json()
    assistant = next(m for m in detail["messages"] if m["role"] == "assistant")
    # A failing upstream call with the model's key: its error must not echo the key either.
    fake.behaviour.require_key = "another-key"
    await http.post(f"/conversations/{detail['id']}/messages", json={"content": "Now add type hints"})
    return {
        "token_id": token["id"],
        "model_id": model_id,
        "conversation_id": detail["id"],
        "message_id": assistant["id"],
        "snippet_id": assistant["snippets"][0]["id"] if assistant["snippets"] else "none",
        "user_id": created.json()["id"],
    }


async def _get_every_operation(http: httpx.AsyncClient, app: FastAPI, ids: dict[str, str]) -> None:
    spec = app.openapi()
    for path, operations in spec["paths"].items():
        if "get" not in operations or path in {"/metrics"}:
            continue
        url = re.sub(r"\{(\w+)\}", lambda match: ids.get(match.group(1), "00000000-0000-0000-0000-0000000000"), path)
        params: dict[str, Any] = {}
        response = await http.get(f"http://test{url}", params=params)
        assert response.status_code < 500, f"GET {path}: {response.status_code}"
